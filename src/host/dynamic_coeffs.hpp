// Family A per-token coefficient math in fp64 (docs/numerics.md A2): RMS, gates, Sinkhorn.
#pragma once

#include <cstdint>
#include <vector>

#include "host_ops.hpp"

namespace mhc::host {

struct TokenCoeffs {
  std::vector<double> pre;   // [n]
  std::vector<double> post;  // [n]
  std::vector<double> comb;  // [n*n], row-major c[j][k]
};

// The comb of A2, in place on the n x n logits m (row-major): row softmax (max-subtracted) + eps,
// then 2 * repeat - 1 normalizations, columns first and then alternating, each dividing by the
// line's sum + eps. `trace` (optional, the backward) receives the softmax and the matrix before
// each normalization.
struct SinkhornTrace {
  std::vector<double> softmax;              // [n*n] before + eps
  std::vector<std::vector<double>> before;  // [2*repeat-1][n*n]; step s: columns if s is even
};
void sinkhorn(int n, double eps, int repeat, double* m, SinkhornTrace* trace = nullptr);

// The weight as the GEMM's product sees it: tf32-rounded, exact fp32, or hi + tf32(fn - hi) (tf32x3).
double weight_value(float w, mhc_dtype_t precision);

// D: the token's N raw GEMM outputs, Q its square-sum (both already summed over splits).
// pre_only: the head's pre gate alone (post and comb left empty).
TokenCoeffs dynamic_coeffs(const Problem& p, const double* D, double Q, const float* scale, const float* base,
                           bool pre_only = false);

// sum_{k in [k0,k1)} A[k] * w(fn[k]) and sum A[k]^2 for one token row and one fn row.
double dot_weight(const uint16_t* a_row, const float* fn_row, int64_t k0, int64_t k1,
                  mhc_dtype_t precision);
double sum_squares(const uint16_t* a_row, int64_t k0, int64_t k1);

// y[x] = bf16(sum_i pre[i] * R[i, x]) for one token.
void apply_pre_mix(const Problem& p, const uint16_t* r_token, const double* pre, uint16_t* y);

// The N raw mixes (D) and the square-sum (returned) of one [n, C] row over all of K, in fp64.
double row_gemm(const Problem& p, const uint16_t* row, const float* fn, int64_t N, std::vector<double>& D);

// Token t's row of the residual [T, n, C].
const uint16_t* residual_row(const RunContext& ctx, int64_t t);
// The token's N raw mixes and square-sum over all of K (fp64: the reference for A3 and A5).
double token_gemm(const RunContext& ctx, int64_t t, int64_t N, std::vector<double>& D);
// The optional reduced out_gemm [T, N] and out_sqrsum [T] of A3 and A5 (what their backward reads)
// for token t, each where given.
void write_saved_gemm(const RunContext& ctx, int64_t t, const std::vector<double>& D, double Q);
// Writes post, comb and layer_input of token t.
void write_coeffs(const RunContext& ctx, int64_t t, const TokenCoeffs& c);

}  // namespace mhc::host
