// Family A backward on the host, fp64 (docs/numerics.md "Backward (training), family A"): the
// reverse mode of the coefficient math (RMS, gates, every unrolled Sinkhorn step) recomputed from
// the saved D and Q, and the whole pre backward shared by a3_pre_backward and a5_head_backward.
#pragma once

#include <vector>

#include "dynamic_coeffs.hpp"

namespace mhc::host {

// dL/dz of the comb logits z [n*n] from dL/dc [n*n] (c = sinkhorn(z), dynamic_coeffs.hpp): exact
// reverse mode through every step, recomputed from z. A step Y = X / (s + eps), s the line's sum:
// dX = (dY - sum_line(dY * Y)) / (s + eps); the softmax start: dz = (g - sum_row(g * p)) * p.
void sinkhorn_backward(int n, double eps, int repeat, const double* z, const double* dc, double* dz);

// One token's coefficient math in reverse.
struct CoeffGrads {
  std::vector<double> pre;  // [n] the forward's pre gate (recomputed), for dR += pre * dlayer_input
  std::vector<double> dz;   // [N] dL/d the logits z_j = mix_j * scale[g(j)] + base_j: dbase's terms
  std::vector<double> dD;   // [N] dL/d the raw GEMM outputs
  double dQ = 0.0;          // dL/d the square-sum
  double dscale[3] = {};    // sum over the mixes j of group g (pre, post, comb) of dz_j * mix_j
};

// D [N], Q: the token's saved GEMM outputs; dpre [n] = sum_x dlayer_input[x] R[i,x]; dpost [n]
// and dcomb [n*n] the incoming gradients (unused with pre_only: the head, N = n, one scale).
CoeffGrads dynamic_coeffs_backward(const Problem& p, const double* D, double Q, const float* scale, const float* base,
                                   const double* dpre, const double* dpost, const double* dcomb, bool pre_only);

// A3' (head = false) or A5' (head = true) over the run's tokens: dR per token (in parallel), then
// dbase, dscale and dfn summed over the tokens in ascending t (each element by one thread), so the
// bits do not depend on the thread count.
void run_pre_backward(const RunContext& ctx, bool head);

}  // namespace mhc::host
