// Static H on the host (B1-B3 and their backward B1'-B3'): shared pieces of the ops.
#pragma once

#include <cstdint>
#include <vector>

#include "host_ops.hpp"

namespace mhc::host {

struct StaticCoeffs {
  std::vector<double> s_pre, s_post, M;  // [n], [n], [n*n] row-major
};

// The guarded Sinkhorn's steps, recorded for the reverse (static_sinkhorn_backward).
struct StaticSinkhornTrace {
  std::vector<double> M0;                      // the start: exp(h) (a row whose exp overflows: shifted)
  std::vector<std::vector<double>> before;     // the matrix before each step: row step, column step, ...
  std::vector<std::vector<uint8_t>> scaled;    // per step and line: 1 normalized, 0 left by the guard
};

// M [n*n] = the guarded Sinkhorn of exp(h) [n*n] (docs/numerics.md, family B): `iters` times a
// row step then a column step, each line divided by its sum only where the sum is > eps.
std::vector<double> static_sinkhorn(int n, double eps, int iters, const float* h, StaticSinkhornTrace* trace = nullptr);
// dL/dh [n*n] from dL/dM [n*n]: every step reversed, last first (a normalized line Y = X / s gives
// dX = (dY - sum_line(dY * Y)) / s, a line the guard left passes dY through), then exp: dh = dM0 * M0.
std::vector<double> static_sinkhorn_backward(int n, double eps, int iters, const float* h, const double* dM);

// Computed once per run, not per token (the fields whose h_* is set).
StaticCoeffs static_coeffs(const RunContext& ctx);
// yn[x] = y[x] * rms * w[x], y = sum_i s_pre[i] x_i; returns rms.
double normalized_aggregate(const RunContext& ctx, const StaticCoeffs& c, int64_t b, std::vector<double>& yn);
// out[b,i,x] = sum_j M[i,j] x[b,j,x] + s_post[i] F[x]
void mix_streams(const RunContext& ctx, const StaticCoeffs& c, int64_t b, const std::vector<double>& F);

}  // namespace mhc::host
