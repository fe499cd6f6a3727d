// a5_head on the host, fp64. A5: the pre mix of the last layer (N = n).
#include <vector>

#include "dynamic_coeffs.hpp"

namespace mhc::host {

void run_a5_head(const RunContext& ctx) {
  const Problem& p = ctx.problem;
  const auto* scale = static_cast<const float*>(ctx.args.scale);
  const auto* base = static_cast<const float*>(ctx.args.base);
  parallel_for(p.T, static_cast<double>(p.K * (p.n + 1)), [&](int64_t t) {
    std::vector<double> D;
    const double Q = token_gemm(ctx, t, p.n, D);
    write_saved_gemm(ctx, t, D, Q);
    // docs/numerics.md A5: pre[i] = sigmoid(mix[i] * scale_head + base_head[i]) + pre_eps.
    const TokenCoeffs c = dynamic_coeffs(p, D.data(), Q, scale, base, /*pre_only=*/true);
    apply_pre_mix(p, residual_row(ctx, t), c.pre.data(), static_cast<uint16_t*>(ctx.args.out_layer_input) + t * p.C);
  });
}

}  // namespace mhc::host
