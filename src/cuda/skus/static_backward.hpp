// The static-H backward SKUs (B1', B2', B3'): a persistent row kernel, a tile kernel for the
// coefficient partials when n > 4, and a finalize (src/cuda/kernels/sm80_f32acc_static_bwd*.cu*).
#pragma once

#include "../../plan/sku.hpp"

namespace mhc::cuda {

// Kernel modes (the kernels' static_hc::Mode): which part of the layer the backward covers.
constexpr int kStaticPreBackwardMode = 0, kStaticPostBackwardMode = 1, kStaticLayerBackwardMode = 2;

// `streamed`: one row buffer per slot refilled during the row's phase 2 where a copy granule fits,
// the finalize's Sinkhorn reverse on one warp for n <= 5 (the same bits as without).
Sku static_backward_sku(const OpCard& card, mhc_sku_t id, const char* name, int mode, bool streamed = false);

}  // namespace mhc::cuda
