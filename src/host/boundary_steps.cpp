// The boundary steps on the host (see boundary_steps.hpp).
#include "boundary_steps.hpp"

#include <cmath>
#include <vector>

#include "numeric.hpp"

namespace mhc::host {

void post_row(const Problem& p, const uint16_t* Y, const uint16_t* H_prev, const float* post, const float* comb,
              uint16_t* H) {
  const int n = p.n;
  for (int k = 0; k < n; ++k)
    for (int64_t x = 0; x < p.C; ++x) {
      double acc = static_cast<double>(post[k]) * num::bf16_to_double(Y[x]);
      for (int j = 0; j < n; ++j)  // comb transposed: the sum runs over the first index
        acc += static_cast<double>(comb[j * n + k]) * num::bf16_to_double(H_prev[j * p.C + x]);
      H[k * p.C + x] = num::double_to_bf16(acc);
    }
}

PostInputs post_inputs(const RunContext& ctx) {
  return {static_cast<const uint16_t*>(ctx.args.layer_output), static_cast<const uint16_t*>(ctx.args.residual),
          static_cast<const float*>(ctx.args.post_mix), static_cast<const float*>(ctx.args.comb_mix),
          static_cast<const float*>(ctx.args.pre_mix)};
}

void PostInputs::post_token(const Problem& p, int64_t t, uint16_t* H) const {
  post_row(p, Y + t * p.C, H_prev + t * p.K, post + t * p.n, comb + t * p.n * p.n, H);
}

TokenCoeffs mix_row(const Problem& p, const RunContext& ctx, const uint16_t* H) {
  std::vector<double> D;
  const double Q = row_gemm(p, H, static_cast<const float*>(ctx.args.fn), p.N, D);
  return dynamic_coeffs(p, D.data(), Q, static_cast<const float*>(ctx.args.scale),
                        static_cast<const float*>(ctx.args.base));
}

void collapse_row(const Problem& p, const RunContext& ctx, const uint16_t* H, const double* pre, uint16_t* out) {
  if (pre != nullptr) apply_pre_mix(p, H, pre, out);
  if (!p.norm) return;
  // The statistic is taken over the bf16-rounded collapse; one rounding at the end.
  double ss = 0.0;
  for (int64_t x = 0; x < p.C; ++x) ss += num::bf16_to_double(out[x]) * num::bf16_to_double(out[x]);
  const double r = 1.0 / std::sqrt(ss / static_cast<double>(p.C) + p.desc.norm_eps);
  const auto* w = static_cast<const uint16_t*>(ctx.args.norm_weight);
  const double scale = p.desc.norm_scale;
  for (int64_t x = 0; x < p.C; ++x)
    out[x] = num::double_to_bf16(num::bf16_to_double(out[x]) * r * (num::bf16_to_double(w[x]) * scale));
}

void write_mix(const RunContext& ctx, int64_t t, const TokenCoeffs& c) {
  const int n = ctx.problem.n;
  for (int i = 0; i < n; ++i) store(ctx.args.out_post_mix, MHC_DTYPE_FP32, t * n + i, c.post[i]);
  for (int j = 0; j < n * n; ++j) store(ctx.args.out_comb_mix, MHC_DTYPE_FP32, t * n * n + j, c.comb[j]);
  if (ctx.args.out_pre_mix)
    for (int i = 0; i < n; ++i) store(ctx.args.out_pre_mix, MHC_DTYPE_FP32, t * n + i, c.pre[i]);
}

}  // namespace mhc::host
