// The family A backward on the host (see dynamic_backward.hpp).
#include "dynamic_backward.hpp"

#include <algorithm>
#include <cmath>

#include "numeric.hpp"

namespace mhc::host {

void sinkhorn_backward(int n, double eps, int repeat, const double* z, const double* dc, double* dz) {
  const size_t nn = static_cast<size_t>(n) * n;
  std::vector<double> m(z, z + nn);
  SinkhornTrace trace;
  sinkhorn(n, eps, repeat, m.data(), &trace);
  std::vector<double> g(dc, dc + nn);
  for (int step = static_cast<int>(trace.before.size()) - 1; step >= 0; --step) {
    const std::vector<double>& X = trace.before[step];
    const bool cols = step % 2 == 0;
    for (int a = 0; a < n; ++a) {
      const int64_t first = cols ? a : int64_t{a} * n, stride = cols ? n : 1;
      double s = 0.0;
      for (int b = 0; b < n; ++b) s += X[first + b * stride];
      const double den = s + eps;
      double dot = 0.0;  // sum_line dY * Y
      for (int b = 0; b < n; ++b) dot += g[first + b * stride] * (X[first + b * stride] / den);
      for (int b = 0; b < n; ++b) g[first + b * stride] = (g[first + b * stride] - dot) / den;
    }
  }
  // + eps passes g through; the row softmax: dz = (g - sum_row(g * p)) * p.
  for (int j = 0; j < n; ++j) {
    const double* p = &trace.softmax[static_cast<size_t>(j) * n];
    const double* gr = &g[static_cast<size_t>(j) * n];
    double dot = 0.0;
    for (int k = 0; k < n; ++k) dot += gr[k] * p[k];
    for (int k = 0; k < n; ++k) dz[j * n + k] = (gr[k] - dot) * p[k];
  }
}

CoeffGrads dynamic_coeffs_backward(const Problem& p, const double* D, double Q, const float* scale, const float* base,
                                   const double* dpre, const double* dpost, const double* dcomb, bool pre_only) {
  const mhc_desc_t& d = p.desc;
  const int n = p.n;
  const int64_t N = p.N;
  const double r = 1.0 / std::sqrt(Q / static_cast<double>(p.K) + d.rms_eps);
  auto group = [n](int64_t j) { return j < n ? 0 : j < 2 * n ? 1 : 2; };
  std::vector<double> z(N);
  for (int64_t j = 0; j < N; ++j) z[j] = D[j] * r * scale[group(j)] + base[j];

  CoeffGrads g;
  g.pre.resize(n);
  g.dz.assign(N, 0.0);
  for (int i = 0; i < n; ++i) {  // pre = sigmoid(z) + pre_eps
    const double s = num::sigmoid(z[i]);
    g.pre[i] = s + d.pre_eps;
    g.dz[i] = dpre[i] * s * (1.0 - s);
  }
  if (!pre_only) {
    for (int i = 0; i < n; ++i) {  // post = post_mult * sigmoid(z)
      const double s = num::sigmoid(z[n + i]);
      g.dz[n + i] = dpost[i] * d.post_mult * s * (1.0 - s);
    }
    sinkhorn_backward(n, d.sinkhorn_eps, d.sinkhorn_repeat, &z[2 * n], dcomb, &g.dz[2 * n]);
  }
  // z = mix * scale + base, mix = D * r, r = (Q / K + rms_eps)^(-1/2).
  g.dD.assign(N, 0.0);
  double dr = 0.0;
  for (int64_t j = 0; j < N; ++j) {
    const double mix = D[j] * r, dmix = g.dz[j] * scale[group(j)];
    g.dscale[group(j)] += g.dz[j] * mix;
    g.dD[j] = dmix * r;
    dr += dmix * D[j];
  }
  g.dQ = dr * -0.5 * r * r * r / static_cast<double>(p.K);
  return g;
}

void run_pre_backward(const RunContext& ctx, bool head) {
  const Problem& p = ctx.problem;
  const mhc_args_t& a = ctx.args;
  const int n = p.n, groups = head ? 1 : 3;
  const int64_t T = p.T, N = p.N, K = p.K, C = p.C;
  const auto* fn = static_cast<const float*>(a.fn);
  const auto* scale = static_cast<const float*>(a.scale);
  const auto* base = static_cast<const float*>(a.base);
  const auto* dli = static_cast<const uint16_t*>(a.grad_layer_input);
  const uint32_t acc = a.grad_accumulate;

  // w(fn) as the forward's products saw it: the GEMM term of dR. dfn is w.r.t. fn itself
  // (straight through the tf32 rounding).
  std::vector<double> w(static_cast<size_t>(N * K));
  for (int64_t i = 0; i < N * K; ++i) w[i] = weight_value(fn[i], p.desc.weight_precision);

  // Per token: dR now; dz, dD and the dscale terms kept for the reductions over tokens.
  std::vector<double> dz(static_cast<size_t>(T * N)), dD(static_cast<size_t>(T * N)), dsc(static_cast<size_t>(T * 3));
  parallel_for(T, static_cast<double>(K * (N + 2)), [&](int64_t t) {
    const uint16_t* A = residual_row(ctx, t);
    const uint16_t* g_li = dli + t * C;
    std::vector<double> Dt(N), dpre(n, 0.0), dpost, dcomb;
    for (int64_t j = 0; j < N; ++j) Dt[j] = load(a.gemm_out, MHC_DTYPE_FP32, t * N + j);
    const double Q = load(a.sqrsum, MHC_DTYPE_FP32, t);
    for (int i = 0; i < n; ++i)
      for (int64_t x = 0; x < C; ++x) dpre[i] += num::bf16_to_double(g_li[x]) * num::bf16_to_double(A[i * C + x]);
    if (!head) {
      for (int i = 0; i < n; ++i) dpost.push_back(load(a.grad_post_mix, MHC_DTYPE_FP32, t * n + i));
      for (int j = 0; j < n * n; ++j) dcomb.push_back(load(a.grad_comb_mix, MHC_DTYPE_FP32, t * n * n + j));
    }
    const CoeffGrads g =
        dynamic_coeffs_backward(p, Dt.data(), Q, scale, base, dpre.data(), dpost.data(), dcomb.data(), head);
    std::copy(g.dz.begin(), g.dz.end(), dz.begin() + t * N);
    std::copy(g.dD.begin(), g.dD.end(), dD.begin() + t * N);
    std::copy(g.dscale, g.dscale + 3, dsc.begin() + t * 3);
    // dR[i,x] = pre[i] dli[x] + sum_j dD[j] w(fn[j,k]) + 2 dQ A[k], k = i*C + x.
    for (int i = 0; i < n; ++i)
      for (int64_t x = 0; x < C; ++x) {
        const int64_t k = i * C + x;
        double v = g.pre[i] * num::bf16_to_double(g_li[x]);
        for (int64_t j = 0; j < N; ++j) v += g.dD[j] * w[j * K + k];
        v += 2.0 * g.dQ * num::bf16_to_double(A[k]);
        store_grad(a.out_grad_residual, MHC_DTYPE_BF16, t * K + k, v, acc & MHC_GRAD_ACCUMULATE_RESIDUAL);
      }
  });

  // The reductions over tokens, each in ascending t.
  for (int64_t j = 0; j < N; ++j) {
    double s = 0.0;
    for (int64_t t = 0; t < T; ++t) s += dz[t * N + j];
    store_grad(a.out_grad_base, MHC_DTYPE_FP32, j, s, acc & MHC_GRAD_ACCUMULATE_BASE);
  }
  for (int grp = 0; grp < groups; ++grp) {
    double s = 0.0;
    for (int64_t t = 0; t < T; ++t) s += dsc[t * 3 + grp];
    store_grad(a.out_grad_scale, MHC_DTYPE_FP32, grp, s, acc & MHC_GRAD_ACCUMULATE_SCALE);
  }
  // dfn[j,:] = sum_t dD[t,j] A[t,:]: one row of fn per item.
  parallel_for(N, static_cast<double>(T * K), [&](int64_t j) {
    std::vector<double> row(static_cast<size_t>(K), 0.0);
    for (int64_t t = 0; t < T; ++t) {
      const uint16_t* A = residual_row(ctx, t);
      const double d = dD[t * N + j];
      for (int64_t k = 0; k < K; ++k) row[k] += d * num::bf16_to_double(A[k]);
    }
    for (int64_t k = 0; k < K; ++k)
      store_grad(a.out_grad_fn, MHC_DTYPE_FP32, j * K + k, row[k], acc & MHC_GRAD_ACCUMULATE_FN);
  });
}

}  // namespace mhc::host
