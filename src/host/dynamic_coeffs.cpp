#include "dynamic_coeffs.hpp"

#include <algorithm>
#include <cmath>

#include "numeric.hpp"

namespace mhc::host {

double weight_value(float w, mhc_dtype_t precision) {
  if (precision == MHC_DTYPE_FP32) return w;
  const float hi = num::round_tf32(w);
  if (precision == MHC_DTYPE_TF32) return hi;
  return static_cast<double>(hi) + static_cast<double>(num::round_tf32(w - hi));
}

double dot_weight(const uint16_t* a, const float* w, int64_t k0, int64_t k1, mhc_dtype_t precision) {
  double acc = 0.0;
  for (int64_t k = k0; k < k1; ++k) acc += num::bf16_to_double(a[k]) * weight_value(w[k], precision);
  return acc;
}

double sum_squares(const uint16_t* a, int64_t k0, int64_t k1) {
  double acc = 0.0;
  for (int64_t k = k0; k < k1; ++k) {
    const double v = num::bf16_to_double(a[k]);
    acc += v * v;
  }
  return acc;
}

void sinkhorn(int n, double eps, int repeat, double* m, SinkhornTrace* trace) {
  for (int j = 0; j < n; ++j) {  // row softmax, max-subtracted, then + eps
    double* row = &m[static_cast<size_t>(j) * n];
    const double mx = *std::max_element(row, row + n);
    double sum = 0.0;
    for (int k = 0; k < n; ++k) sum += (row[k] = std::exp(row[k] - mx));
    for (int k = 0; k < n; ++k) row[k] = row[k] / sum;
  }
  if (trace) trace->softmax.assign(m, m + n * n);
  for (int j = 0; j < n * n; ++j) m[j] += eps;
  // Step s divides by the column sums (s even) or the row sums (s odd), each plus eps.
  for (int step = 0; step < 2 * repeat - 1; ++step) {
    if (trace) trace->before.emplace_back(m, m + n * n);
    const bool cols = step % 2 == 0;
    for (int a = 0; a < n; ++a) {
      const int64_t first = cols ? a : int64_t{a} * n, stride = cols ? n : 1;
      double s = 0.0;
      for (int b = 0; b < n; ++b) s += m[first + b * stride];
      for (int b = 0; b < n; ++b) m[first + b * stride] /= s + eps;
    }
  }
}

TokenCoeffs dynamic_coeffs(const Problem& p, const double* D, double Q, const float* scale, const float* base,
                           bool pre_only) {
  const mhc_desc_t& d = p.desc;
  const int n = p.n;
  const double r = 1.0 / std::sqrt(Q / static_cast<double>(p.K) + d.rms_eps);
  TokenCoeffs c;
  c.pre.resize(n);
  for (int i = 0; i < n; ++i) c.pre[i] = num::sigmoid(D[i] * r * scale[0] + base[i]) + d.pre_eps;
  if (pre_only) return c;

  c.post.resize(n);
  for (int i = 0; i < n; ++i) c.post[i] = d.post_mult * num::sigmoid(D[n + i] * r * scale[1] + base[n + i]);

  std::vector<double>& m = c.comb;
  m.resize(static_cast<size_t>(n) * n);
  for (int j = 0; j < n * n; ++j) m[j] = D[2 * n + j] * r * scale[2] + base[2 * n + j];
  sinkhorn(n, d.sinkhorn_eps, d.sinkhorn_repeat, m.data());
  return c;
}

void apply_pre_mix(const Problem& p, const uint16_t* r, const double* pre, uint16_t* y) {
  for (int64_t x = 0; x < p.C; ++x) {
    double acc = 0.0;
    for (int i = 0; i < p.n; ++i) acc += pre[i] * num::bf16_to_double(r[i * p.C + x]);
    y[x] = num::double_to_bf16(acc);
  }
}

const uint16_t* residual_row(const RunContext& ctx, int64_t t) {
  return static_cast<const uint16_t*>(ctx.args.residual) + t * ctx.problem.K;
}

double row_gemm(const Problem& p, const uint16_t* row, const float* fn, int64_t N, std::vector<double>& D) {
  D.assign(N, 0.0);
  for (int64_t j = 0; j < N; ++j) D[j] = dot_weight(row, fn + j * p.K, 0, p.K, p.desc.weight_precision);
  return sum_squares(row, 0, p.K);
}

double token_gemm(const RunContext& ctx, int64_t t, int64_t N, std::vector<double>& D) {
  return row_gemm(ctx.problem, residual_row(ctx, t), static_cast<const float*>(ctx.args.fn), N, D);
}

void write_saved_gemm(const RunContext& ctx, int64_t t, const std::vector<double>& D, double Q) {
  const int64_t N = static_cast<int64_t>(D.size());
  if (ctx.args.out_gemm)
    for (int64_t j = 0; j < N; ++j) store(ctx.args.out_gemm, MHC_DTYPE_FP32, t * N + j, D[j]);
  if (ctx.args.out_sqrsum) store(ctx.args.out_sqrsum, MHC_DTYPE_FP32, t, Q);
}

void write_coeffs(const RunContext& ctx, int64_t t, const TokenCoeffs& c) {
  const int n = ctx.problem.n;
  for (int i = 0; i < n; ++i) store(ctx.args.out_post_mix, MHC_DTYPE_FP32, t * n + i, c.post[i]);
  for (int j = 0; j < n * n; ++j) store(ctx.args.out_comb_mix, MHC_DTYPE_FP32, t * n * n + j, c.comb[j]);
  apply_pre_mix(ctx.problem, residual_row(ctx, t), c.pre.data(),
                static_cast<uint16_t*>(ctx.args.out_layer_input) + t * ctx.problem.C);
}

}  // namespace mhc::host
