#include "common.cuh"
#include "sm80_bf16_post.cuh"

namespace mhc::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kVec = 8;
constexpr int kMaxN = 8;

// grid.x = column block, grid.y = token (x fastest so neighbouring CTAs share a token's coeffs).
template <bool kVector>
__global__ void __launch_bounds__(kThreads) sm80_bf16_post_kernel(const PostParams p) {
  const int n = p.n;
  const int64_t t = blockIdx.y;
  const uint16_t* x_tok = p.X + t * p.C;
  const uint16_t* r_tok = p.R + t * n * p.C;
  uint16_t* o_tok = p.out + t * n * p.C;
  const float* post = p.post + t * n;
  const float* comb = p.comb + t * n * n;
  if (kVector) {
    const int64_t x = (static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x) * kVec;
    if (x >= p.C) return;
    // All activation loads first, then the (L1-broadcast) coefficients: one memory round trip.
    uint4 xw, rw[kMaxN];
    xw = __ldg(reinterpret_cast<const uint4*>(x_tok + x));
#pragma unroll
    for (int j = 0; j < kMaxN; ++j)
      if (j < n) rw[j] = __ldg(reinterpret_cast<const uint4*>(r_tok + j * p.C + x));
    float xv[kVec], rv[kMaxN][kVec];
    {
      const uint32_t w[4] = {xw.x, xw.y, xw.z, xw.w};
#pragma unroll
      for (int e = 0; e < 4; ++e) xv[2 * e] = bf16_lo(w[e]), xv[2 * e + 1] = bf16_hi(w[e]);
    }
#pragma unroll
    for (int j = 0; j < kMaxN; ++j) {
      if (j >= n) break;
      const uint32_t w[4] = {rw[j].x, rw[j].y, rw[j].z, rw[j].w};
#pragma unroll
      for (int e = 0; e < 4; ++e) rv[j][2 * e] = bf16_lo(w[e]), rv[j][2 * e + 1] = bf16_hi(w[e]);
    }
#pragma unroll
    for (int k = 0; k < kMaxN; ++k) {
      if (k >= n) break;
      float acc[kVec];
      const float pk = __ldg(post + k);
#pragma unroll
      for (int e = 0; e < kVec; ++e) acc[e] = pk * xv[e];
#pragma unroll
      for (int j = 0; j < kMaxN; ++j) {
        if (j >= n) break;
        const float c = __ldg(comb + j * n + k);
#pragma unroll
        for (int e = 0; e < kVec; ++e) acc[e] = fmaf(c, rv[j][e], acc[e]);
      }
      const uint4 o = {pack_bf16(acc[0], acc[1]), pack_bf16(acc[2], acc[3]), pack_bf16(acc[4], acc[5]),
                       pack_bf16(acc[6], acc[7])};
      *reinterpret_cast<uint4*>(o_tok + k * p.C + x) = o;
    }
  } else {
    const int64_t x = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
    if (x >= p.C) return;
    const float xv = bf16_to_f32(x_tok[x]);
    float rv[kMaxN];
#pragma unroll
    for (int j = 0; j < kMaxN; ++j) rv[j] = j < n ? bf16_to_f32(r_tok[j * p.C + x]) : 0.0f;
    for (int k = 0; k < n; ++k) {
      float acc = __ldg(post + k) * xv;
#pragma unroll
      for (int j = 0; j < kMaxN; ++j)
        if (j < n) acc = fmaf(__ldg(comb + j * n + k), rv[j], acc);
      o_tok[k * p.C + x] = f32_to_bf16(acc);
    }
  }
}

template <bool kVector>
__global__ void __launch_bounds__(kThreads) sm80_bf16_expand_kernel(const ExpandParams p) {
  const int64_t t = blockIdx.y;
  if (kVector) {
    const int64_t x = (static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x) * kVec;
    if (x >= p.C) return;
    const uint4 v = __ldg(reinterpret_cast<const uint4*>(p.E + t * p.C + x));
    for (int i = 0; i < p.n; ++i) *reinterpret_cast<uint4*>(p.out + (t * p.n + i) * p.C + x) = v;
  } else {
    const int64_t x = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
    if (x >= p.C) return;
    const uint16_t v = p.E[t * p.C + x];
    for (int i = 0; i < p.n; ++i) p.out[(t * p.n + i) * p.C + x] = v;
  }
}

}  // namespace

void launch_post(const PostParams& p, bool vector_path, void* stream) {
  if (p.n > kMaxN) fail(MHC_STATUS_INTERNAL, "post: n = {} exceeds {}", p.n, kMaxN);
  constexpr int64_t kMaxY = 65535;
  for (int64_t t0 = 0; t0 < p.T; t0 += kMaxY) {
    PostParams s = p;
    s.T = p.T - t0 < kMaxY ? p.T - t0 : kMaxY;
    s.X += t0 * p.C, s.R += t0 * p.n * p.C, s.post += t0 * p.n, s.comb += t0 * p.n * p.n, s.out += t0 * p.n * p.C;
    const unsigned bx = ceil_div_u(p.C, int64_t{kThreads} * (vector_path ? kVec : 1));
    const dim3 grid(bx, static_cast<unsigned>(s.T));
    if (vector_path)
      launch("sm80_bf16_post_kernel", sm80_bf16_post_kernel<true>, grid, dim3(kThreads), 0, stream, false, s);
    else
      launch("sm80_bf16_post_kernel", sm80_bf16_post_kernel<false>, grid, dim3(kThreads), 0, stream, false, s);
  }
}

void launch_expand(const ExpandParams& p, bool vector_path, void* stream) {
  constexpr int64_t kMaxY = 65535;
  for (int64_t t0 = 0; t0 < p.T; t0 += kMaxY) {
    ExpandParams s = p;
    s.T = p.T - t0 < kMaxY ? p.T - t0 : kMaxY;
    s.E += t0 * p.C, s.out += t0 * p.n * p.C;
    const unsigned bx = ceil_div_u(p.C, int64_t{kThreads} * (vector_path ? kVec : 1));
    const dim3 grid(bx, static_cast<unsigned>(s.T));
    if (vector_path)
      launch("sm80_bf16_expand_kernel", sm80_bf16_expand_kernel<true>, grid, dim3(kThreads), 0, stream, false, s);
    else
      launch("sm80_bf16_expand_kernel", sm80_bf16_expand_kernel<false>, grid, dim3(kThreads), 0, stream, false, s);
  }
}

}  // namespace mhc::cuda
