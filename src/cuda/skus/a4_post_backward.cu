// a4_post_backward CUDA SKU: one CTA per token (dpost and dcomb are sums over C, reduced in a
// fixed order inside the CTA), 8-byte vectors where C and the pointers allow.
#include "../../common/error.hpp"

#include "../../ops/op_card.hpp"
#include "../kernels/sm80_bf16_post.cuh"
#include "dynamic_glue.hpp"
#include "skus.hpp"

namespace mhc::cuda {

std::vector<Sku> skus_a4_post_backward() {
  Sku s = dynamic_sku(card_a4_post_backward, MHC_SKU_SM80_POST_BACKWARD, "sm80_bf16_post_backward", 80,
                      /*gemm=*/false);
  s.supports = [](const Problem& p, const DeviceInfo&) -> std::string {
    if (p.T > 2147483647) return fmt::format("T = {}: one CTA per token (at most 2^31 - 1)", p.T);
    return {};
  };
  s.run = [](const RunContext& c) {
    const Problem& p = c.problem;
    const mhc_args_t& a = c.args;
    const PostBackwardParams k{static_cast<const uint16_t*>(a.grad_residual),
                               static_cast<const uint16_t*>(a.layer_output),
                               static_cast<const uint16_t*>(a.residual),
                               static_cast<const float*>(a.post_mix),
                               static_cast<const float*>(a.comb_mix),
                               static_cast<uint16_t*>(a.out_grad_layer_output),
                               static_cast<uint16_t*>(a.out_grad_residual),
                               static_cast<float*>(a.out_grad_post_mix),
                               static_cast<float*>(a.out_grad_comb_mix),
                               a.grad_accumulate,
                               p.T,
                               p.C,
                               int(p.n)};
    launch_post_backward(k, cols_vector(p, {k.G, k.X, k.R, k.dX, k.dR}), c.stream);
  };
  return {s};
}

}  // namespace mhc::cuda
