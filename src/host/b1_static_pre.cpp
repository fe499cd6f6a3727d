// b1_static_pre on the host, fp64. B1: layer_input = RMSNorm(sum_i sigmoid(h_pre_i) x_i) * w (and the optional rms).
#include <vector>

#include "static_coeffs.hpp"

namespace mhc::host {

void run_b1_static_pre(const RunContext& ctx) {
  const Problem& p = ctx.problem;
  const StaticCoeffs c = static_coeffs(ctx);
  parallel_for(p.T, static_cast<double>(p.K), [&](int64_t b) {
    std::vector<double> yn;
    const double rms = normalized_aggregate(ctx, c, b, yn);
    for (int64_t x = 0; x < p.C; ++x) store(ctx.args.out_layer_input, p.desc.act_dtype, b * p.C + x, yn[x]);
    if (ctx.args.out_rms) store(ctx.args.out_rms, MHC_DTYPE_FP32, b, rms);
  });
}

}  // namespace mhc::host
