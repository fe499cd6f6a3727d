// a7_boundary CUDA SKUs. V4: post (new residual), the two-pass pre engine on it (mix and collapse
// with this site's pre, the same kernels as A4 then A3), then the RMSNorm in place. V4.1 shifted:
// post + collapse with the carried pre + RMSNorm in one kernel, then the engine's mix part. The
// decode cluster SKU (forced only) is in pre_cluster_sku.hpp.
#include "../../ops/op_card.hpp"
#include "boundary_glue.hpp"
#include "dynamic_glue.hpp"
#include "pre_cluster_sku.hpp"
#include "skus.hpp"

namespace mhc::cuda {

std::vector<Sku> skus_a7_boundary() {
  static const MixEngine mix = mix_engine(card_a7_boundary);
  Sku s = boundary_sku(card_a7_boundary, MHC_SKU_SM80_BOUNDARY, "sm80_tf32_boundary_splitk", &mix);
  s.run = [](const RunContext& c) {
    auto* H = static_cast<uint16_t*>(c.args.out_residual);
    auto* out = static_cast<uint16_t*>(c.args.out_layer_input);
    if (c.problem.shifted) {
      run_post_collapse(c, H, out);
      mix.run(c, H, nullptr);
      return;
    }
    run_post(c, H);
    mix.run(c, H, out);
    run_norm(c, out, out);
  };
  // The whole boundary in one launch of the decode cluster kernel (sm_90): selected only when
  // forced until measured on a GPU.
  return {s, boundary_cluster_sku(card_a7_boundary, MHC_SKU_SM90_BOUNDARY_CLUSTER, "sm90_f32_boundary_cluster", s)};
}

}  // namespace mhc::cuda
