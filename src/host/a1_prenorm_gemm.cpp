// a1_prenorm_gemm on the host, fp64. A1: D and Q per split in the fixed split boundaries, partials or summed in ascending s.
#include <vector>

#include "dynamic_coeffs.hpp"

namespace mhc::host {

void run_a1_prenorm_gemm(const RunContext& ctx) {
  const Problem& p = ctx.problem;
  const auto* fn = static_cast<const float*>(ctx.args.fn);
  parallel_for(p.T, static_cast<double>(p.K * (p.N + 1)), [&](int64_t t) {
    const uint16_t* a = residual_row(ctx, t);
    std::vector<double> D(p.N, 0.0);
    double Q = 0.0;
    for (int32_t s = 0; s < p.S; ++s) {
      const int64_t k0 = p.k_begin(s), k1 = p.k_begin(s + 1);
      const double q = sum_squares(a, k0, k1);
      for (int64_t j = 0; j < p.N; ++j) {
        const double v = dot_weight(a, fn + j * p.K, k0, k1, p.desc.weight_precision);
        if (p.partials) store(ctx.args.out_gemm, MHC_DTYPE_FP32, (s * p.T + t) * p.N + j, v);
        D[j] += v;
      }
      if (p.partials) store(ctx.args.out_sqrsum, MHC_DTYPE_FP32, s * p.T + t, q);
      Q += q;
    }
    if (!p.partials) {
      for (int64_t j = 0; j < p.N; ++j) store(ctx.args.out_gemm, MHC_DTYPE_FP32, t * p.N + j, D[j]);
      store(ctx.args.out_sqrsum, MHC_DTYPE_FP32, t, Q);
    }
  });
}

}  // namespace mhc::host
