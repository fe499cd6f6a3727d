// b3_static_layer on the host, fp64. B3: B2(B1), F = B1's layer input, never rounded to act_dtype in between.
#include <vector>

#include "static_coeffs.hpp"

namespace mhc::host {

void run_b3_static_layer(const RunContext& ctx) {
  const Problem& p = ctx.problem;
  const StaticCoeffs c = static_coeffs(ctx);
  parallel_for(p.T, static_cast<double>(p.K * (p.n + 1)), [&](int64_t b) {
    std::vector<double> yn;
    normalized_aggregate(ctx, c, b, yn);
    mix_streams(ctx, c, b, yn);
  });
}

}  // namespace mhc::host
