// a6_expand_backward CUDA SKU: one bandwidth kernel (the n streams summed in fp64, one rounding).
#include "../../ops/op_card.hpp"
#include "../kernels/sm80_bf16_post.cuh"
#include "dynamic_glue.hpp"
#include "skus.hpp"

namespace mhc::cuda {

std::vector<Sku> skus_a6_expand_backward() {
  Sku s = dynamic_sku(card_a6_expand_backward, MHC_SKU_SM80_EXPAND_BACKWARD, "sm80_bf16_expand_backward", 80,
                      /*gemm=*/false);
  s.run = [](const RunContext& c) {
    const Problem& p = c.problem;
    const ExpandBackwardParams k{static_cast<const uint16_t*>(c.args.grad_residual),
                                 static_cast<uint16_t*>(c.args.out_grad_embedding),
                                 (c.args.grad_accumulate & MHC_GRAD_ACCUMULATE_EMBEDDING) != 0, p.T, p.C, int(p.n)};
    launch_expand_backward(k, cols_vector(p, {k.G, k.dE}), c.stream);
  };
  return {s};
}

}  // namespace mhc::cuda
