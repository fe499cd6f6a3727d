// a9_boundary_mix on the host, fp64: this site's pre, post and comb of the new residual (A1 + A2
// over all of K, no layer input).
#include "boundary_steps.hpp"

namespace mhc::host {

void run_a9_boundary_mix(const RunContext& ctx) {
  const Problem& p = ctx.problem;
  parallel_for(p.T, static_cast<double>(p.K * (p.N + 1)), [&](int64_t t) {
    write_mix(ctx, t, mix_row(p, ctx, residual_row(ctx, t)));
  });
}

}  // namespace mhc::host
