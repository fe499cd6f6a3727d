// a4_post CUDA SKU: one bandwidth kernel, 16-byte vectors where C and the pointers allow.
#include "../../ops/op_card.hpp"
#include "../kernels/sm80_bf16_post.cuh"
#include "dynamic_glue.hpp"
#include "skus.hpp"

namespace mhc::cuda {
namespace {

void run_post(const RunContext& c) {
  const Problem& p = c.problem;
  const PostParams q{static_cast<const uint16_t*>(c.args.layer_output), static_cast<const uint16_t*>(c.args.residual),
                     static_cast<const float*>(c.args.post_mix),       static_cast<const float*>(c.args.comb_mix),
                     static_cast<uint16_t*>(c.args.out_residual),      p.T, p.C, p.n};
  launch_post(q, cols_vector(p, {q.X, q.R, q.out}), c.stream);
}

}  // namespace

std::vector<Sku> skus_a4_post() {
  Sku s = dynamic_sku(card_a4_post, MHC_SKU_SM80_POST, "sm80_bf16_post_vec8", 80, /*gemm=*/false);
  s.run = run_post;
  return {s};
}

}  // namespace mhc::cuda
