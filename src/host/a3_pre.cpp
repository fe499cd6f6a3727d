// a3_pre on the host, fp64. A3: the GEMM over all of K in fp64, then A2.
#include <vector>

#include "dynamic_coeffs.hpp"

namespace mhc::host {

void run_a3_pre(const RunContext& ctx) {
  const Problem& p = ctx.problem;
  const auto* scale = static_cast<const float*>(ctx.args.scale);
  const auto* base = static_cast<const float*>(ctx.args.base);
  parallel_for(p.T, static_cast<double>(p.K * (p.N + 1)), [&](int64_t t) {
    std::vector<double> D;
    const double Q = token_gemm(ctx, t, p.N, D);
    write_saved_gemm(ctx, t, D, Q);
    write_coeffs(ctx, t, dynamic_coeffs(p, D.data(), Q, scale, base));
  });
}

}  // namespace mhc::host
