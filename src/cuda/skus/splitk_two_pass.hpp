// The split-K two-pass SKUs (pre, head): the GEMM pass writes S x U partials to workspace, the
// fuse pass sums them in slot order and applies; chunks of at most kChunkTokens tokens.
#pragma once

#include <string>

#include "../../plan/sku.hpp"

namespace mhc::cuda {

struct TwoPassSettings {
  bool head;             // A5: pre gate only, splits from K alone
  bool decode_subsplit;  // A3: sub-split the K axis at decode (decode_sub_splits)
  bool pdl;              // sm_90: chain the passes with programmatic dependent launch
  bool bf16;             // the bf16 GEMM kernel for runs from kWideMinTokens tokens, in plans
                         // whose rows already depend on T (S from T): its bits are its own
};

// A two-pass SKU of `card` with `settings` bound.
Sku two_pass_sku(const OpCard& card, mhc_sku_t id, const char* name, int min_cc, TwoPassSettings settings);

// Whether a run of `run_tokens` under `plan` takes the bf16 GEMM kernel (settings.bf16 given).
bool takes_bf16_gemm(const Problem& plan, int64_t run_tokens);
// Empty when `plan` is one the bf16 GEMM serves (S from T, at least kWideMinTokens tokens), else
// why not: a SKU that names the bf16 kernel supports only those plans.
std::string bf16_gemm_limits(const Problem& plan);

}  // namespace mhc::cuda
