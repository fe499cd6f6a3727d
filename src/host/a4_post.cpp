// a4_post on the host, fp64. A4: out = post X + comb^T R, one rounding per element.
#include "boundary_steps.hpp"

namespace mhc::host {

void run_a4_post(const RunContext& ctx) {
  const Problem& p = ctx.problem;
  const PostInputs in = post_inputs(ctx);
  auto* out = static_cast<uint16_t*>(ctx.args.out_residual);
  parallel_for(p.T, static_cast<double>(p.K * p.n), [&](int64_t t) { in.post_token(p, t, out + t * p.K); });
}

}  // namespace mhc::host
