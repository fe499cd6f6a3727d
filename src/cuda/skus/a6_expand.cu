// a6_expand CUDA SKU: one copy kernel, 16-byte vectors where C and the pointers allow.
#include "../../ops/op_card.hpp"
#include "../kernels/sm80_bf16_post.cuh"
#include "dynamic_glue.hpp"
#include "skus.hpp"

namespace mhc::cuda {
namespace {

void run_expand(const RunContext& c) {
  const Problem& p = c.problem;
  const ExpandParams e{static_cast<const uint16_t*>(c.args.embedding), static_cast<uint16_t*>(c.args.out_residual),
                       p.T, p.C, p.n};
  launch_expand(e, cols_vector(p, {e.E, e.out}), c.stream);
}

}  // namespace

std::vector<Sku> skus_a6_expand() {
  Sku s = dynamic_sku(card_a6_expand, MHC_SKU_SM80_EXPAND, "sm80_bf16_expand_vec8", 80, /*gemm=*/false);
  s.run = run_expand;
  return {s};
}

}  // namespace mhc::cuda
