// A4 post: out[t,k,x] = bf16(post[t,k] X[t,x] + sum_j comb[t,j,k] R[t,j,x]) (comb transposed,
// summed in fp64 in ascending j after the post term, one rounding: the host reference's bits),
// and A6 expand: R[t,i,x] = E[t,x]; beside them their backward (A4', A6'). Bandwidth kernels:
// 16-byte accesses where C allows.
#pragma once

#include <cstdint>

namespace mhc::cuda {

struct PostParams {
  const uint16_t* X;       // [T, C]
  const uint16_t* R;       // [T, n, C]
  const float* post;       // [T, n]
  const float* comb;       // [T, n, n]
  uint16_t* out;           // [T, n, C]
  int64_t T, C;
  int n;
};
void launch_post(const PostParams& p, bool vector_path, void* stream);

struct ExpandParams {
  const uint16_t* E;       // [T, C]
  uint16_t* out;           // [T, n, C]
  int64_t T, C;
  int n;
};
void launch_expand(const ExpandParams& p, bool vector_path, void* stream);

// A4': dX = sum_k post[k] G[k], dR[j] = sum_k comb[j,k] G[k] (fp64 in ascending k, one rounding:
// the host's bits), dpost[k] = G[k] . X, dcomb[j,k] = G[k] . R[j] (fp64 over C in a fixed order per
// CTA, one CTA per token). Each output may be null (not computed); `accumulate` holds the
// MHC_GRAD_ACCUMULATE_* bits: out = round(out + gradient), the sum in fp64.
struct PostBackwardParams {
  const uint16_t* G;       // [T, n, C] the gradient of the new residual
  const uint16_t* X;       // [T, C]
  const uint16_t* R;       // [T, n, C]
  const float* post;       // [T, n]
  const float* comb;       // [T, n, n]
  uint16_t* dX;            // [T, C]
  uint16_t* dR;            // [T, n, C]
  float* dpost;            // [T, n]
  float* dcomb;            // [T, n, n]
  uint32_t accumulate;
  int64_t T, C;
  int n;
};
void launch_post_backward(const PostBackwardParams& p, bool vector_path, void* stream);

// A6': dE[t,x] = bf16(sum_i G[t,i,x]) in fp64, i ascending (+ dE when accumulating).
struct ExpandBackwardParams {
  const uint16_t* G;       // [T, n, C]
  uint16_t* dE;            // [T, C]
  bool accumulate;
  int64_t T, C;
  int n;
};
void launch_expand_backward(const ExpandBackwardParams& p, bool vector_path, void* stream);

}  // namespace mhc::cuda
