// The steps of the layer boundary (docs/numerics.md A7) on one token, in fp64: the host
// reference of a7_boundary, a8_boundary_collapse, a9_boundary_mix, a10_boundary_first (and a4_post).
#pragma once

#include <cstdint>

#include "dynamic_coeffs.hpp"

namespace mhc::host {

// The post's inputs and the carried pre of a boundary run (the args fields the ops read).
struct PostInputs {
  const uint16_t* Y;       // layer_output [T, C]
  const uint16_t* H_prev;  // residual [T, n, C]
  const float* post;       // post_mix [T, n]
  const float* comb;       // comb_mix [T, n, n]
  const float* carried;    // pre_mix [T, n] (shifted mode, the collapse op)
  // H of token t: A4 (below) on the token's rows.
  void post_token(const Problem& p, int64_t t, uint16_t* H) const;
};
PostInputs post_inputs(const RunContext& ctx);

// H[k,x] = bf16(post[k] Y[x] + sum_j comb[j][k] H_prev[j,x]): A4 for one token.
void post_row(const Problem& p, const uint16_t* Y, const uint16_t* H_prev, const float* post, const float* comb,
              uint16_t* H);

// pre, post and comb of one [n, C] row of the new residual (A1 + A2 over all of K).
TokenCoeffs mix_row(const Problem& p, const RunContext& ctx, const uint16_t* H);

// out = bf16(sum_i pre[i] H[i,:]), then, with MHC_DESC_FLAG_NORM, the RMSNorm over that rounded
// collapse: out = bf16(u * rsqrt(mean(u^2) + norm_eps) * (w * norm_scale)). `u` may already be
// in `out` (pre == nullptr: the collapse is skipped and out is normalized in place).
void collapse_row(const Problem& p, const RunContext& ctx, const uint16_t* H, const double* pre, uint16_t* out);

// Writes this site's post, comb and (when out_pre_mix is given) pre of token t.
void write_mix(const RunContext& ctx, int64_t t, const TokenCoeffs& c);

}  // namespace mhc::host
