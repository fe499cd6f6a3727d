// a10_boundary_first CUDA SKU: expand (H = E in every stream), the two-pass pre engine on H (V4:
// with the collapse into the layer input), then the layer input: RMSNorm of the V4 collapse in
// place, or of E (V4.1 shifted: the carried pre is e_0, so u = E).
#include "../../ops/op_card.hpp"
#include "boundary_glue.hpp"
#include "dynamic_glue.hpp"
#include "skus.hpp"

namespace mhc::cuda {

std::vector<Sku> skus_a10_boundary_first() {
  static const MixEngine mix = mix_engine(card_a10_boundary_first);
  Sku s = boundary_sku(card_a10_boundary_first, MHC_SKU_SM80_BOUNDARY_FIRST, "sm80_tf32_boundary_first_splitk", &mix);
  s.run = [](const RunContext& c) {
    const auto* E = static_cast<const uint16_t*>(c.args.embedding);
    auto* H = static_cast<uint16_t*>(c.args.out_residual);
    auto* out = static_cast<uint16_t*>(c.args.out_layer_input);
    run_expand(c, H);
    if (c.problem.shifted) {
      mix.run(c, H, nullptr);
      run_norm(c, E, out);
      return;
    }
    mix.run(c, H, out);
    run_norm(c, out, out);
  };
  return {s};
}

}  // namespace mhc::cuda
