// a4_post_backward on the host, fp64. A4': dX = post^T G, dpost = G X, dcomb[j,k] = G[k] . R[j], dR = comb G.
#include "host_ops.hpp"
#include "numeric.hpp"

namespace mhc::host {

void run_a4_post_backward(const RunContext& ctx) {
  const Problem& p = ctx.problem;
  const mhc_args_t& a = ctx.args;
  const int n = p.n;
  const int64_t C = p.C, K = p.K;
  const auto* X = static_cast<const uint16_t*>(a.layer_output);
  const auto* R = static_cast<const uint16_t*>(a.residual);
  const auto* G = static_cast<const uint16_t*>(a.grad_residual);
  const auto* post = static_cast<const float*>(a.post_mix);
  const auto* comb = static_cast<const float*>(a.comb_mix);
  const uint32_t acc = a.grad_accumulate;
  auto v = [](const uint16_t* b, int64_t i) { return num::bf16_to_double(b[i]); };
  parallel_for(p.T, static_cast<double>(K * (2 * n + 2)), [&](int64_t t) {
    const uint16_t *Xt = X + t * C, *Rt = R + t * K, *Gt = G + t * K;
    const float *q = post + t * n, *c = comb + t * n * n;
    for (int64_t x = 0; x < C; ++x) {  // dX[x] = sum_k post[k] G[k,x]
      double s = 0.0;
      for (int k = 0; k < n; ++k) s += static_cast<double>(q[k]) * v(Gt, k * C + x);
      store_grad(a.out_grad_layer_output, MHC_DTYPE_BF16, t * C + x, s, acc & MHC_GRAD_ACCUMULATE_LAYER_OUTPUT);
    }
    for (int k = 0; k < n; ++k) {  // dpost[k] = sum_x G[k,x] X[x]
      double s = 0.0;
      for (int64_t x = 0; x < C; ++x) s += v(Gt, k * C + x) * v(Xt, x);
      store_grad(a.out_grad_post_mix, MHC_DTYPE_FP32, t * n + k, s, acc & MHC_GRAD_ACCUMULATE_POST_MIX);
    }
    for (int j = 0; j < n; ++j)  // dcomb[j,k] = sum_x G[k,x] R[j,x]
      for (int k = 0; k < n; ++k) {
        double s = 0.0;
        for (int64_t x = 0; x < C; ++x) s += v(Gt, k * C + x) * v(Rt, j * C + x);
        store_grad(a.out_grad_comb_mix, MHC_DTYPE_FP32, (t * n + j) * n + k, s, acc & MHC_GRAD_ACCUMULATE_COMB_MIX);
      }
    for (int j = 0; j < n; ++j)  // dR[j,x] = sum_k comb[j,k] G[k,x]
      for (int64_t x = 0; x < C; ++x) {
        double s = 0.0;
        for (int k = 0; k < n; ++k) s += static_cast<double>(c[j * n + k]) * v(Gt, k * C + x);
        store_grad(a.out_grad_residual, MHC_DTYPE_BF16, t * K + j * C + x, s, acc & MHC_GRAD_ACCUMULATE_RESIDUAL);
      }
  });
}

}  // namespace mhc::host
