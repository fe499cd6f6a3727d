// Static H on the host (B1-B3, B1'-B3'): the coefficients, the guarded Sinkhorn and its reverse,
// the normalized aggregate and the stream mix that the ops are built from.
#include <algorithm>
#include <cmath>
#include <vector>

#include "numeric.hpp"
#include "static_coeffs.hpp"

namespace mhc::host {
namespace {

// exp(x) overflows fp64 above ~709.78. A row shifted by a max above this has an unshifted sum
// above e^700, more than any float eps: the guard always passes for it.
constexpr double kExpShiftAbove = 700.0;

}  // namespace

std::vector<double> static_sinkhorn(int n, double eps, int iters, const float* h, StaticSinkhornTrace* trace) {
  std::vector<double> M(static_cast<size_t>(n) * n);
  std::vector<bool> shifted(n);
  for (int i = 0; i < n; ++i) {
    // exp(h) itself: the guard leaves a row whose sum is <= eps as it is, so exp(h - rowmax)
    // would differ for such rows. Only a row whose exp would overflow is shifted by its max; the
    // guard, taken on its unshifted sum, then always passes and the first row step gives the
    // same values as unshifted exp would.
    const double mx = *std::max_element(h + i * n, h + (i + 1) * n);
    shifted[i] = mx > kExpShiftAbove;
    const double shift = shifted[i] ? mx : 0.0;
    for (int j = 0; j < n; ++j) M[i * n + j] = std::exp(static_cast<double>(h[i * n + j]) - shift);
  }
  if (trace) *trace = StaticSinkhornTrace{M, {}, {}};
  for (int it = 0; it < iters; ++it) {
    for (int cols = 0; cols < 2; ++cols) {  // the row step, then the column step
      if (trace) trace->before.push_back(M), trace->scaled.emplace_back(n, 0);
      for (int a = 0; a < n; ++a) {
        const int first = cols ? a : a * n, stride = cols ? n : 1;
        double s = 0.0;
        for (int b = 0; b < n; ++b) s += M[first + b * stride];
        if (s > eps || (!cols && it == 0 && shifted[a])) {
          for (int b = 0; b < n; ++b) M[first + b * stride] /= s;
          if (trace) trace->scaled.back()[a] = 1;
        }
      }
    }
  }
  return M;
}

std::vector<double> static_sinkhorn_backward(int n, double eps, int iters, const float* h, const double* dM) {
  StaticSinkhornTrace trace;
  static_sinkhorn(n, eps, iters, h, &trace);
  std::vector<double> g(dM, dM + static_cast<size_t>(n) * n);
  for (int step = static_cast<int>(trace.before.size()) - 1; step >= 0; --step) {
    const std::vector<double>& X = trace.before[step];
    const bool cols = step % 2 == 1;
    for (int a = 0; a < n; ++a) {
      if (!trace.scaled[step][a]) continue;  // left by the guard: the identity
      const int first = cols ? a : a * n, stride = cols ? n : 1;
      double s = 0.0;
      for (int b = 0; b < n; ++b) s += X[first + b * stride];
      double dot = 0.0;  // sum_line dY * Y, Y = X / s as the forward computed it
      for (int b = 0; b < n; ++b) dot += g[first + b * stride] * (X[first + b * stride] / s);
      for (int b = 0; b < n; ++b) g[first + b * stride] = (g[first + b * stride] - dot) / s;
    }
  }
  // M0 = exp(h) (shifted rows too: their first row step normalizes them, so the shift cancels).
  for (size_t k = 0; k < g.size(); ++k) g[k] *= trace.M0[k];
  return g;
}

// Computed once per run, not per token.
StaticCoeffs static_coeffs(const RunContext& ctx) {
  const Problem& p = ctx.problem;
  const int n = p.n;
  StaticCoeffs c;
  if (ctx.args.h_pre) {
    const auto* h = static_cast<const float*>(ctx.args.h_pre);
    for (int i = 0; i < n; ++i) c.s_pre.push_back(num::sigmoid(h[i]));
  }
  if (ctx.args.h_post) {
    const auto* h = static_cast<const float*>(ctx.args.h_post);
    for (int i = 0; i < n; ++i) c.s_post.push_back(2.0 * num::sigmoid(h[i]));
  }
  if (ctx.args.h_res)
    c.M = static_sinkhorn(n, p.desc.static_eps, p.desc.sinkhorn_repeat, static_cast<const float*>(ctx.args.h_res));
  return c;
}

// yn[x] = y[x] * rms * w[x], y = sum_i s_pre[i] x_i; returns rms.
double normalized_aggregate(const RunContext& ctx, const StaticCoeffs& c, int64_t b, std::vector<double>& yn) {
  const Problem& p = ctx.problem;
  const mhc_dtype_t act = p.desc.act_dtype;
  const auto* w = static_cast<const uint16_t*>(ctx.args.norm_weight);
  yn.assign(p.C, 0.0);
  double sq = 0.0;
  for (int64_t x = 0; x < p.C; ++x) {
    double y = 0.0;
    for (int i = 0; i < p.n; ++i) y += c.s_pre[i] * load(ctx.args.residual, act, (b * p.n + i) * p.C + x);
    yn[x] = y;
    sq += y * y;
  }
  const double rms = 1.0 / std::sqrt(sq / static_cast<double>(p.C) + p.desc.static_eps);
  for (int64_t x = 0; x < p.C; ++x) yn[x] *= rms * num::bf16_to_double(w[x]);
  return rms;
}

// out[b,i,x] = sum_j M[i,j] x[b,j,x] + s_post[i] F[x]
void mix_streams(const RunContext& ctx, const StaticCoeffs& c, int64_t b, const std::vector<double>& F) {
  const Problem& p = ctx.problem;
  const int n = p.n;
  const mhc_dtype_t act = p.desc.act_dtype;
  for (int i = 0; i < n; ++i)
    for (int64_t x = 0; x < p.C; ++x) {
      double acc = c.s_post[i] * F[x];
      for (int j = 0; j < n; ++j) acc += c.M[i * n + j] * load(ctx.args.residual, act, (b * n + j) * p.C + x);
      store(ctx.args.out_residual, act, (b * n + i) * p.C + x, acc);
    }
}

}  // namespace mhc::host
