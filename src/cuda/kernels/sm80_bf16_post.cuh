// A4 post: out[t,k,x] = bf16(post[t,k] X[t,x] + sum_j comb[t,j,k] R[t,j,x]) (comb transposed,
// summed in fp64 in ascending j after the post term, one rounding: the host reference's bits),
// and A6 expand: R[t,i,x] = E[t,x]. Bandwidth kernels: 16-byte accesses where C allows.
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

}  // namespace mhc::cuda
