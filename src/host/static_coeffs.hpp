// Static H on the host (B1-B3): shared pieces of the three ops.
#pragma once

#include <cstdint>
#include <vector>

#include "host_ops.hpp"

namespace mhc::host {

struct StaticCoeffs {
  std::vector<double> s_pre, s_post, M;  // [n], [n], [n*n] row-major
};

// Computed once per run, not per token (the fields whose h_* is set).
StaticCoeffs static_coeffs(const RunContext& ctx);
// yn[x] = y[x] * rms * w[x], y = sum_i s_pre[i] x_i; returns rms.
double normalized_aggregate(const RunContext& ctx, const StaticCoeffs& c, int64_t b, std::vector<double>& yn);
// out[b,i,x] = sum_j M[i,j] x[b,j,x] + s_post[i] F[x]
void mix_streams(const RunContext& ctx, const StaticCoeffs& c, int64_t b, const std::vector<double>& F);

}  // namespace mhc::host
