// Shared by the boundary SKUs (a7_boundary .. a10_boundary_first): the critical-path kernel's
// parameters, and the split-K two-pass pre engine run on the new residual (the mix part).
#pragma once

#include "../../plan/sku.hpp"
#include "../kernels/sm80_bf16_boundary_collapse.cuh"

namespace mhc::cuda {

// Post + collapse with the carried pre (args.pre_mix) into `out`, the new residual into `H`
// (may be NULL), RMSNorm when the problem has MHC_DESC_FLAG_NORM.
void run_post_collapse(const RunContext& c, uint16_t* H, uint16_t* out);
// u -> RMSNorm(u) from `src` into `out` (in place when equal); without MHC_DESC_FLAG_NORM a copy
// (nothing when src == out).
void run_norm(const RunContext& c, const uint16_t* src, uint16_t* out);

// The two-pass pre engine of `card` bound as the mix part: pre, post, comb (and the layer input
// when given) of the residual `H`.
struct MixEngine {
  Sku engine;
  void run(const RunContext& c, const void* H, void* layer_input) const;
};
MixEngine mix_engine(const OpCard& card);

// A boundary SKU: guarantee of the GEMM ops, the engine's workspace and launch limits.
Sku boundary_sku(const OpCard& card, mhc_sku_t id, const char* name, const MixEngine* engine);

}  // namespace mhc::cuda
