// The CUDA SKU of A3' (pre backward) and A5' (head backward): three launches, no atomics
// (src/cuda/kernels/sm80_f32_pre_backward.cuh).
#pragma once

#include "../../plan/sku.hpp"

namespace mhc::cuda {

// `head`: A5' (the pre gate only, N = n, one scale). `chunked` (sm_90): the token and column
// kernels per block of 256 tokens, chained (launch_pre_backward); the same bits.
Sku pre_backward_sku(const OpCard& card, mhc_sku_t id, const char* name, bool head, bool chunked = false);

}  // namespace mhc::cuda
