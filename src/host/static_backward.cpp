// The family B backward on the host (see static_backward.hpp).
#include "static_backward.hpp"

#include <cmath>
#include <vector>

#include "numeric.hpp"
#include "static_coeffs.hpp"

namespace mhc::host {

void run_static_backward(const RunContext& ctx, bool pre, bool post) {
  const Problem& p = ctx.problem;
  const mhc_args_t& a = ctx.args;
  const int n = p.n;
  const int64_t B = p.T, C = p.C;
  const mhc_dtype_t act = p.desc.act_dtype;
  const double eps = p.desc.static_eps;
  const uint32_t acc = a.grad_accumulate;
  const StaticCoeffs c = static_coeffs(ctx);
  const auto* wb = static_cast<const uint16_t*>(a.norm_weight);
  auto x_at = [&](int64_t b, int i, int64_t x) { return load(a.residual, act, (b * n + i) * C + x); };
  auto G_at = [&](int64_t b, int i, int64_t x) { return load(a.grad_residual, act, (b * n + i) * C + x); };
  auto w_at = [&](int64_t x) { return num::bf16_to_double(wb[x]); };
  // y[b,x] = sum_i s_pre[i] x[b,i,x], i ascending (the forward's order).
  auto y_at = [&](int64_t b, int64_t x) {
    double y = 0.0;
    for (int i = 0; i < n; ++i) y += c.s_pre[i] * x_at(b, i, x);
    return y;
  };
  // dF[b,x] = sum_i s_post[i] G[b,i,x], i ascending; B1' reads dL/d layer_input instead.
  auto dyn_at = [&](int64_t b, int64_t x) {
    if (!post) return load(a.grad_layer_input, act, b * C + x);
    double s = 0.0;
    for (int i = 0; i < n; ++i) s += c.s_post[i] * G_at(b, i, x);
    return s;
  };

  // Per row: dx (and B2's dF), rms[b] for dw, and the row's terms of ds_pre and ds_post.
  std::vector<double> rms(pre ? B : 0), ds_pre(pre ? B * n : 0), ds_post(post ? B * n : 0);
  parallel_for(B, static_cast<double>(p.K * (2 * n + 4)), [&](int64_t b) {
    std::vector<double> y, dyn(C), dx(static_cast<size_t>(n * C), 0.0);
    for (int64_t x = 0; x < C; ++x) dyn[x] = dyn_at(b, x);  // dF (B2', B3') or dL/d layer_input (B1')
    double r = 0.0;
    if (pre) {  // the forward's y and rms, recomputed in fp64
      y.resize(C);
      double sq = 0.0;
      for (int64_t x = 0; x < C; ++x) {
        y[x] = y_at(b, x);
        sq += y[x] * y[x];
      }
      r = 1.0 / std::sqrt(sq / static_cast<double>(C) + eps);
      rms[b] = r;
    }
    if (post) {
      // F: B2's layer_output, or B3's unrounded yn = y * rms * w.
      std::vector<double> F(C);
      for (int64_t x = 0; x < C; ++x) F[x] = pre ? y[x] * (r * w_at(x)) : load(a.layer_output, act, b * C + x);
      if (!pre)
        for (int64_t x = 0; x < C; ++x)
          store_grad(a.out_grad_layer_output, act, b * C + x, dyn[x], acc & MHC_GRAD_ACCUMULATE_LAYER_OUTPUT);
      for (int i = 0; i < n; ++i) {  // ds_post[i] = sum_x G[i,x] F[x]
        double s = 0.0;
        for (int64_t x = 0; x < C; ++x) s += G_at(b, i, x) * F[x];
        ds_post[b * n + i] = s;
      }
      for (int j = 0; j < n; ++j)  // dx[j,x] = sum_i M[i,j] G[i,x], i ascending
        for (int64_t x = 0; x < C; ++x) {
          double s = 0.0;
          for (int i = 0; i < n; ++i) s += c.M[i * n + j] * G_at(b, i, x);
          dx[j * C + x] = s;
        }
    }
    if (pre) {
      // dy = rms w dyn - y rms^3 / C * sum_x' dyn w y;  dx[i,x] += s_pre[i] dy[x]
      double S = 0.0;
      for (int64_t x = 0; x < C; ++x) S += dyn[x] * w_at(x) * y[x];
      const double k = r * r * r / static_cast<double>(C) * S;
      std::vector<double> dy(C);
      for (int64_t x = 0; x < C; ++x) dy[x] = r * w_at(x) * dyn[x] - y[x] * k;
      for (int i = 0; i < n; ++i) {  // ds_pre[i] = sum_x dy[x] x[i,x]
        double s = 0.0;
        for (int64_t x = 0; x < C; ++x) {
          s += dy[x] * x_at(b, i, x);
          dx[i * C + x] += c.s_pre[i] * dy[x];
        }
        ds_pre[b * n + i] = s;
      }
    }
    for (int j = 0; j < n; ++j)
      for (int64_t x = 0; x < C; ++x)
        store_grad(a.out_grad_residual, act, (b * n + j) * C + x, dx[j * C + x], acc & MHC_GRAD_ACCUMULATE_RESIDUAL);
  });

  // The parameters: sums over the rows in ascending b, fp64, one rounding to fp32 each.
  auto sum_rows = [&](const std::vector<double>& terms, int i) {
    double s = 0.0;
    for (int64_t b = 0; b < B; ++b) s += terms[b * n + i];
    return s;
  };
  if (pre) {
    for (int i = 0; i < n; ++i)  // d sigmoid = s (1 - s)
      store_grad(a.out_grad_h_pre, MHC_DTYPE_FP32, i, sum_rows(ds_pre, i) * c.s_pre[i] * (1.0 - c.s_pre[i]),
                 acc & MHC_GRAD_ACCUMULATE_H_PRE);
    // dw[x] = sum_b dyn[b,x] y[b,x] rms[b]: one column per item, y and dyn recomputed.
    parallel_for(C, static_cast<double>(B * n * 2), [&](int64_t x) {
      double s = 0.0;
      for (int64_t b = 0; b < B; ++b) s += dyn_at(b, x) * y_at(b, x) * rms[b];
      store_grad(a.out_grad_norm_weight, MHC_DTYPE_FP32, x, s, acc & MHC_GRAD_ACCUMULATE_NORM_WEIGHT);
    });
  }
  if (post) {
    for (int i = 0; i < n; ++i)  // s_post = 2 sigmoid: d/dh = s_post (1 - s_post / 2)
      store_grad(a.out_grad_h_post, MHC_DTYPE_FP32, i, sum_rows(ds_post, i) * c.s_post[i] * (1.0 - c.s_post[i] / 2.0),
                 acc & MHC_GRAD_ACCUMULATE_H_POST);
    // dM[i,j] = sum_b (sum_x G[b,i,x] x[b,j,x]): one row of M per item, then the Sinkhorn reversed.
    std::vector<double> dM(static_cast<size_t>(n) * n);
    parallel_for(n, static_cast<double>(B * p.K), [&](int64_t i) {
      for (int j = 0; j < n; ++j) {
        double s = 0.0;
        for (int64_t b = 0; b < B; ++b) {
          double row = 0.0;
          for (int64_t x = 0; x < C; ++x) row += G_at(b, static_cast<int>(i), x) * x_at(b, j, x);
          s += row;
        }
        dM[i * n + j] = s;
      }
    });
    const std::vector<double> dh = static_sinkhorn_backward(n, eps, p.desc.sinkhorn_repeat,
                                                            static_cast<const float*>(a.h_res), dM.data());
    for (int k = 0; k < n * n; ++k)
      store_grad(a.out_grad_h_res, MHC_DTYPE_FP32, k, dh[k], acc & MHC_GRAD_ACCUMULATE_H_RES);
  }
}

}  // namespace mhc::host
