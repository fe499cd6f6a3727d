// Family A on the host: A1 prenorm GEMM, A2 fused pre stage, A3 pre, A5 head.
#include <vector>

#include "dynamic_coeffs.hpp"
#include "host_ops.hpp"

namespace mhc::host {
namespace {

const uint16_t* residual_row(const RunContext& ctx, int64_t t) {
  return static_cast<const uint16_t*>(ctx.args.residual) + t * ctx.problem.K;
}

// The token's N raw mixes and square-sum over all of K (fp64: the reference for A3 and A5).
double token_gemm(const RunContext& ctx, int64_t t, int64_t N, std::vector<double>& D) {
  const Problem& p = ctx.problem;
  const bool tf32 = p.desc.weight_precision == MHC_DTYPE_TF32;
  const auto* fn = static_cast<const float*>(ctx.args.fn);
  D.assign(N, 0.0);
  for (int64_t j = 0; j < N; ++j) D[j] = dot_weight(residual_row(ctx, t), fn + j * p.K, 0, p.K, tf32);
  return sum_squares(residual_row(ctx, t), 0, p.K);
}

void write_coeffs(const RunContext& ctx, int64_t t, const TokenCoeffs& c) {
  const int n = ctx.problem.n;
  for (int i = 0; i < n; ++i) store(ctx.args.out_post_mix, MHC_DTYPE_FP32, t * n + i, c.post[i]);
  for (int j = 0; j < n * n; ++j) store(ctx.args.out_comb_mix, MHC_DTYPE_FP32, t * n * n + j, c.comb[j]);
  apply_pre_mix(ctx.problem, residual_row(ctx, t), c.pre.data(),
                static_cast<uint16_t*>(ctx.args.out_layer_input) + t * ctx.problem.C);
}

}  // namespace

void prenorm_gemm(const RunContext& ctx) {
  const Problem& p = ctx.problem;
  const bool tf32 = p.desc.weight_precision == MHC_DTYPE_TF32;
  const auto* fn = static_cast<const float*>(ctx.args.fn);
  parallel_for(p.T, static_cast<double>(p.K * (p.N + 1)), [&](int64_t t) {
    const uint16_t* a = residual_row(ctx, t);
    std::vector<double> D(p.N, 0.0);
    double Q = 0.0;
    for (int32_t s = 0; s < p.S; ++s) {
      const int64_t k0 = p.k_begin(s), k1 = p.k_begin(s + 1);
      const double q = sum_squares(a, k0, k1);
      for (int64_t j = 0; j < p.N; ++j) {
        const double v = dot_weight(a, fn + j * p.K, k0, k1, tf32);
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

void pre_fuse(const RunContext& ctx) {
  const Problem& p = ctx.problem;
  const int64_t parts = p.partials ? p.S : 1;
  const auto* scale = static_cast<const float*>(ctx.args.scale);
  const auto* base = static_cast<const float*>(ctx.args.base);
  parallel_for(p.T, static_cast<double>(p.K), [&](int64_t t) {
    std::vector<double> D(p.N, 0.0);
    double Q = 0.0;
    for (int64_t s = 0; s < parts; ++s) {  // ascending s: the fixed order of MATH.md
      for (int64_t j = 0; j < p.N; ++j) D[j] += load(ctx.args.gemm_out, MHC_DTYPE_FP32, (s * p.T + t) * p.N + j);
      Q += load(ctx.args.sqrsum, MHC_DTYPE_FP32, s * p.T + t);
    }
    write_coeffs(ctx, t, dynamic_coeffs(p, D.data(), Q, scale, base));
  });
}

void pre(const RunContext& ctx) {
  const Problem& p = ctx.problem;
  const auto* scale = static_cast<const float*>(ctx.args.scale);
  const auto* base = static_cast<const float*>(ctx.args.base);
  parallel_for(p.T, static_cast<double>(p.K * (p.N + 1)), [&](int64_t t) {
    std::vector<double> D;
    const double Q = token_gemm(ctx, t, p.N, D);
    if (ctx.args.out_gemm)
      for (int64_t j = 0; j < p.N; ++j) store(ctx.args.out_gemm, MHC_DTYPE_FP32, t * p.N + j, D[j]);
    if (ctx.args.out_sqrsum) store(ctx.args.out_sqrsum, MHC_DTYPE_FP32, t, Q);
    write_coeffs(ctx, t, dynamic_coeffs(p, D.data(), Q, scale, base));
  });
}

void head(const RunContext& ctx) {
  const Problem& p = ctx.problem;
  const auto* scale = static_cast<const float*>(ctx.args.scale);
  const auto* base = static_cast<const float*>(ctx.args.base);
  parallel_for(p.T, static_cast<double>(p.K * (p.n + 1)), [&](int64_t t) {
    std::vector<double> D;
    const double Q = token_gemm(ctx, t, p.n, D);
    // MATH.md A5: pre[i] = sigmoid(mix[i] * scale_head + base_head[i]) + pre_eps.
    const TokenCoeffs c = dynamic_coeffs(p, D.data(), Q, scale, base);
    apply_pre_mix(p, residual_row(ctx, t), c.pre.data(), static_cast<uint16_t*>(ctx.args.out_layer_input) + t * p.C);
  });
}

}  // namespace mhc::host
