// b2_static_post on the host, fp64. B2: out = M x + s_post F, M the Sinkhorn of exp(h_res).
#include <vector>

#include "static_coeffs.hpp"

namespace mhc::host {

void run_b2_static_post(const RunContext& ctx) {
  const Problem& p = ctx.problem;
  const StaticCoeffs c = static_coeffs(ctx);
  parallel_for(p.T, static_cast<double>(p.K * p.n), [&](int64_t b) {
    std::vector<double> F(p.C);
    for (int64_t x = 0; x < p.C; ++x) F[x] = load(ctx.args.layer_output, p.desc.act_dtype, b * p.C + x);
    mix_streams(ctx, c, b, F);
  });
}

}  // namespace mhc::host
