// a6_expand_backward on the host, fp64. A6': dE[t,x] = sum_i G[t,i,x], i ascending, one rounding.
#include "host_ops.hpp"
#include "numeric.hpp"

namespace mhc::host {

void run_a6_expand_backward(const RunContext& ctx) {
  const Problem& p = ctx.problem;
  const auto* G = static_cast<const uint16_t*>(ctx.args.grad_residual);
  const bool acc = ctx.args.grad_accumulate & MHC_GRAD_ACCUMULATE_EMBEDDING;
  parallel_for(p.T, static_cast<double>(p.K), [&](int64_t t) {
    for (int64_t x = 0; x < p.C; ++x) {
      double s = 0.0;
      for (int i = 0; i < p.n; ++i) s += num::bf16_to_double(G[(t * p.n + i) * p.C + x]);
      store_grad(ctx.args.out_grad_embedding, MHC_DTYPE_BF16, t * p.C + x, s, acc);
    }
  });
}

}  // namespace mhc::host
