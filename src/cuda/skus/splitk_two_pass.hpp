// The split-K two-pass SKUs (pre, head): the GEMM pass writes S x U partials to workspace, the
// fuse pass sums them in slot order and applies; chunks of at most kChunkTokens tokens.
#pragma once

#include "../../plan/sku.hpp"

namespace mhc::cuda {

struct TwoPassSettings {
  bool head;             // A5: pre gate only, splits from K alone
  bool decode_subsplit;  // A3: sub-split the K axis at decode (decode_sub_splits)
  bool pdl;              // sm_90: chain the passes with programmatic dependent launch
  bool bf16;             // the bf16 GEMM for the runs it serves (gemm_kernel_of_run)
};

// A two-pass SKU of `card` with `settings` bound.
Sku two_pass_sku(const OpCard& card, mhc_sku_t id, const char* name, int min_cc, TwoPassSettings settings);

}  // namespace mhc::cuda
