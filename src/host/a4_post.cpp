// a4_post on the host, fp64. A4: out = post X + comb^T R, one rounding per element.
#include "boundary_steps.hpp"

namespace mhc::host {

void run_a4_post(const RunContext& ctx) {
  const Problem& p = ctx.problem;
  const int n = p.n;
  const auto* X = static_cast<const uint16_t*>(ctx.args.layer_output);
  const auto* R = static_cast<const uint16_t*>(ctx.args.residual);
  const auto* post = static_cast<const float*>(ctx.args.post_mix);
  const auto* comb = static_cast<const float*>(ctx.args.comb_mix);
  auto* out = static_cast<uint16_t*>(ctx.args.out_residual);
  parallel_for(p.T, static_cast<double>(p.K * n), [&](int64_t t) {
    post_row(p, X + t * p.C, R + t * p.K, post + t * n, comb + t * n * n, out + t * p.K);
  });
}

}  // namespace mhc::host
