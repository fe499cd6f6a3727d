// The critical path of the layer boundary (A7 steps 1, 3, 4), one CTA per token over all of C:
//   H[k,x] = bf16(post[k] Y[x] + sum_j comb[j][k] H_prev[j,x])     (A4, j ascending)
//   u[x]   = bf16(sum_i pre[i] H[i,x])                             (the ROUNDED H, i ascending)
// H and u are summed in fp64 in the reference's order (fp32 x bf16 products are exact in fp64)
// and rounded once: bit-identical to the fp64 host reference, like A4's post kernel.
//   x[x]   = bf16((u[x] * rsqrt(sum_x u^2 / C + norm_eps)) * (w[x] * norm_scale))  (optional)
// The square-sum runs over the rounded u in a fixed order (each thread's columns ascending, then a
// fixed tree over threads): deterministic and independent of T. Without a post (`Y == NULL`) u is
// read from `src` (the RMSNorm of an existing layer input, in place when src == out).
#pragma once

#include <cstdint>

namespace mhc::cuda {

struct CollapseParams {
  const uint16_t* Y;       // [T, C] sublayer output; NULL: u comes from src
  const uint16_t* H_prev;  // [T, n, C]
  const float* post;       // [T, n]
  const float* comb;       // [T, n, n]
  const float* pre;        // [T, n] the carried pre
  const uint16_t* src;     // [T, C] u when Y is NULL (may equal out)
  const uint16_t* norm_w;  // [C] bf16; NULL: no RMSNorm
  uint16_t* H;             // [T, n, C] optional new residual
  uint16_t* out;           // [T, C] layer input
  int64_t T, C;
  int n;
  float norm_eps, norm_scale;
};
void launch_boundary_collapse(const CollapseParams& p, bool vector_path, void* stream);

}  // namespace mhc::cuda
