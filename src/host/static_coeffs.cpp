// Static H on the host (B1-B3): the coefficients, the normalized aggregate and the stream mix
// that the three ops are built from.
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

// Computed once per run, not per token.
StaticCoeffs static_coeffs(const RunContext& ctx) {
  const Problem& p = ctx.problem;
  const int n = p.n;
  const double eps = p.desc.static_eps;
  StaticCoeffs c;
  if (ctx.args.h_pre) {
    const auto* h = static_cast<const float*>(ctx.args.h_pre);
    for (int i = 0; i < n; ++i) c.s_pre.push_back(num::sigmoid(h[i]));
  }
  if (ctx.args.h_post) {
    const auto* h = static_cast<const float*>(ctx.args.h_post);
    for (int i = 0; i < n; ++i) c.s_post.push_back(2.0 * num::sigmoid(h[i]));
  }
  if (ctx.args.h_res) {
    const auto* h = static_cast<const float*>(ctx.args.h_res);
    c.M.resize(static_cast<size_t>(n) * n);
    std::vector<bool> shifted(n);
    for (int i = 0; i < n; ++i) {
      // exp(h) itself: the guard leaves a row whose sum is <= eps as it is, so exp(h - rowmax)
      // would differ for such rows. Only a row whose exp would overflow is shifted by its max; the
      // guard, taken on its unshifted sum, then always passes and the first row step gives the
      // same values as unshifted exp would.
      const double mx = *std::max_element(h + i * n, h + (i + 1) * n);
      shifted[i] = mx > kExpShiftAbove;
      const double shift = shifted[i] ? mx : 0.0;
      for (int j = 0; j < n; ++j) c.M[i * n + j] = std::exp(static_cast<double>(h[i * n + j]) - shift);
    }
    for (int it = 0; it < p.desc.sinkhorn_repeat; ++it) {
      for (int i = 0; i < n; ++i) {
        double s = 0.0;
        for (int j = 0; j < n; ++j) s += c.M[i * n + j];
        if (s > eps || (it == 0 && shifted[i]))
          for (int j = 0; j < n; ++j) c.M[i * n + j] /= s;
      }
      for (int j = 0; j < n; ++j) {
        double s = 0.0;
        for (int i = 0; i < n; ++i) s += c.M[i * n + j];
        if (s > eps)
          for (int i = 0; i < n; ++i) c.M[i * n + j] /= s;
      }
    }
  }
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
