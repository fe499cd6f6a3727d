// a2_pre_fuse on the host, fp64. A2: the coefficients and layer_input from (D, Q), partials summed in ascending s.
#include <vector>

#include "dynamic_coeffs.hpp"

namespace mhc::host {

void run_a2_pre_fuse(const RunContext& ctx) {
  const Problem& p = ctx.problem;
  const int64_t parts = p.partials ? p.S : 1;
  const auto* scale = static_cast<const float*>(ctx.args.scale);
  const auto* base = static_cast<const float*>(ctx.args.base);
  parallel_for(p.T, static_cast<double>(p.K), [&](int64_t t) {
    std::vector<double> D(p.N, 0.0);
    double Q = 0.0;
    for (int64_t s = 0; s < parts; ++s) {  // ascending s: the fixed order of docs/numerics.md
      for (int64_t j = 0; j < p.N; ++j) D[j] += load(ctx.args.gemm_out, MHC_DTYPE_FP32, (s * p.T + t) * p.N + j);
      Q += load(ctx.args.sqrsum, MHC_DTYPE_FP32, s * p.T + t);
    }
    write_coeffs(ctx, t, dynamic_coeffs(p, D.data(), Q, scale, base));
  });
}

}  // namespace mhc::host
