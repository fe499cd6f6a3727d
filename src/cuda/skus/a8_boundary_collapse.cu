// a8_boundary_collapse CUDA SKU: post + collapse with the carried pre + RMSNorm, one kernel, one
// CTA per token over all of C (the new residual is written when out_residual is given).
#include "../../ops/op_card.hpp"
#include "boundary_glue.hpp"
#include "skus.hpp"

namespace mhc::cuda {

std::vector<Sku> skus_a8_boundary_collapse() {
  Sku s = boundary_sku(card_a8_boundary_collapse, MHC_SKU_SM80_BOUNDARY_COLLAPSE, "sm80_bf16_boundary_collapse",
                       nullptr);
  s.run = [](const RunContext& c) {
    run_post_collapse(c, static_cast<uint16_t*>(c.args.out_residual), static_cast<uint16_t*>(c.args.out_layer_input));
  };
  return {s};
}

}  // namespace mhc::cuda
