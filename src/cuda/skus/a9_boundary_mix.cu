// a9_boundary_mix CUDA SKU: the two-pass pre engine without a layer input (GEMM + square-sum
// partials, then one CTA per token for the gates and Sinkhorn), writing pre as well.
#include "../../ops/op_card.hpp"
#include "boundary_glue.hpp"
#include "skus.hpp"

namespace mhc::cuda {

std::vector<Sku> skus_a9_boundary_mix() {
  static const MixEngine mix = mix_engine(card_a9_boundary_mix);
  Sku s = boundary_sku(card_a9_boundary_mix, MHC_SKU_SM80_BOUNDARY_MIX, "sm80_tf32_boundary_mix_splitk", &mix);
  s.run = [](const RunContext& c) { mix.run(c, c.args.residual, nullptr); };
  return {s};
}

}  // namespace mhc::cuda
