#include "common.cuh"
#include "sm80_pre_fuse.cuh"

namespace mhc::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kVec = 8;                       // bf16 per 16-byte access
constexpr int kColsPerCta = kThreads * kVec;  // layer_input columns per CTA
constexpr int kMaxN = 8;

// The token's Sinkhorn, post gate and outputs; one thread (n <= 8: 64 values in registers).
__device__ void write_post_comb(const PreFuseParams& p, int64_t t, const float* mix) {
  const int n = p.n;
  for (int i = 0; i < n; ++i) p.post_mix[t * n + i] = p.post_mult * sigmoidf_acc(mix[n + i] * p.scale[1] + p.base[n + i]);
  float c[kMaxN][kMaxN];
#pragma unroll
  for (int j = 0; j < kMaxN; ++j) {
    if (j >= n) break;
    float mx = -INFINITY;
#pragma unroll
    for (int k = 0; k < kMaxN; ++k)
      if (k < n) {
        c[j][k] = mix[2 * n + j * n + k] * p.scale[2] + p.base[2 * n + j * n + k];
        mx = fmaxf(mx, c[j][k]);
      }
    float sum = 0.0f;
#pragma unroll
    for (int k = 0; k < kMaxN; ++k)
      if (k < n) sum += (c[j][k] = expf(c[j][k] - mx));
#pragma unroll
    for (int k = 0; k < kMaxN; ++k)
      if (k < n) c[j][k] = c[j][k] / sum + p.sinkhorn_eps;
  }
  const float eps = p.sinkhorn_eps;
  for (int it = 0; it < p.repeat; ++it) {
    if (it > 0) {
#pragma unroll
      for (int j = 0; j < kMaxN; ++j) {
        if (j >= n) break;
        float s = 0.0f;
#pragma unroll
        for (int k = 0; k < kMaxN; ++k)
          if (k < n) s += c[j][k];
        const float d = s + eps;
#pragma unroll
        for (int k = 0; k < kMaxN; ++k)
          if (k < n) c[j][k] /= d;
      }
    }
#pragma unroll
    for (int k = 0; k < kMaxN; ++k) {
      if (k >= n) break;
      float s = 0.0f;
#pragma unroll
      for (int j = 0; j < kMaxN; ++j)
        if (j < n) s += c[j][k];
      const float d = s + eps;
#pragma unroll
      for (int j = 0; j < kMaxN; ++j)
        if (j < n) c[j][k] /= d;
    }
  }
#pragma unroll
  for (int j = 0; j < kMaxN; ++j)
#pragma unroll
    for (int k = 0; k < kMaxN; ++k)
      if (j < n && k < n) p.comb_mix[t * n * n + j * n + k] = c[j][k];
}

// grid.x = token, grid.y = column block of layer_input.
template <bool kVector>
__global__ void __launch_bounds__(kThreads) sm80_pre_fuse_kernel(const PreFuseParams p) {
  pdl_launch_dependents();
  pdl_wait();
  const int64_t t = blockIdx.x;
  __shared__ float s_mix[kMaxN * (kMaxN + 2)];
  __shared__ float s_pre[kMaxN];
  __shared__ float s_r;
  if (threadIdx.x < 32) {
    float q = 0.0f;
    if (threadIdx.x == 0)
      for (int s = 0; s < p.S; ++s) q += p.Q[s * p.q_split_stride + t];  // ascending s
    q = __shfl_sync(0xffffffffu, q, 0);
    const float r = 1.0f / sqrtf(q / static_cast<float>(p.K) + p.rms_eps);
    for (int j = threadIdx.x; j < p.N; j += 32) {
      float d = 0.0f;
      for (int s = 0; s < p.S; ++s) d += p.D[s * p.d_split_stride + t * p.N + j];
      s_mix[j] = d * r;
      if (p.D_out && blockIdx.y == 0) p.D_out[t * p.N + j] = d;
      if (j < p.n) s_pre[j] = sigmoidf_acc(d * r * p.scale[0] + p.base[j]) + p.pre_eps;
    }
    if (threadIdx.x == 0) {
      s_r = r;
      if (p.Q_out && blockIdx.y == 0) p.Q_out[t] = q;
    }
  }
  __syncthreads();
  if (!p.head && blockIdx.y == 0 && threadIdx.x == 32) write_post_comb(p, t, s_mix);

  float pre[kMaxN];
#pragma unroll
  for (int i = 0; i < kMaxN; ++i) pre[i] = i < p.n ? s_pre[i] : 0.0f;
  const uint16_t* r_tok = p.R + t * p.K;
  uint16_t* out = p.layer_input + t * p.C;
  const int64_t x0 = static_cast<int64_t>(blockIdx.y) * kColsPerCta;
  if (kVector) {
    const int64_t x = x0 + threadIdx.x * kVec;
    if (x < p.C) {
      float acc[kVec] = {};
#pragma unroll
      for (int i = 0; i < kMaxN; ++i) {
        if (i >= p.n) break;
        const uint4 v = __ldg(reinterpret_cast<const uint4*>(r_tok + i * p.C + x));
        const uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          acc[2 * e] = fmaf(pre[i], bf16_lo(w[e]), acc[2 * e]);
          acc[2 * e + 1] = fmaf(pre[i], bf16_hi(w[e]), acc[2 * e + 1]);
        }
      }
      const uint4 o = {pack_bf16(acc[0], acc[1]), pack_bf16(acc[2], acc[3]), pack_bf16(acc[4], acc[5]),
                       pack_bf16(acc[6], acc[7])};
      *reinterpret_cast<uint4*>(out + x) = o;
    }
  } else {
    for (int64_t x = x0 + threadIdx.x; x < p.C && x < x0 + kColsPerCta; x += kThreads) {
      float acc = 0.0f;
      for (int i = 0; i < p.n; ++i) acc = fmaf(pre[i], bf16_to_f32(r_tok[i * p.C + x]), acc);
      out[x] = f32_to_bf16(acc);
    }
  }
}

}  // namespace

void launch_pre_fuse(const PreFuseParams& p, bool vector_path, void* stream, bool pdl) {
  if (p.n > kMaxN) fail(MHC_STATUS_INTERNAL, "pre fuse: n = {} exceeds {}", p.n, kMaxN);
  const dim3 grid(static_cast<unsigned>(p.T), ceil_div_u(p.C, kColsPerCta));
  if (vector_path)
    launch("sm80_pre_fuse_kernel", sm80_pre_fuse_kernel<true>, grid, dim3(kThreads), 0, stream, pdl, p);
  else
    launch("sm80_pre_fuse_kernel", sm80_pre_fuse_kernel<false>, grid, dim3(kThreads), 0, stream, pdl, p);
}

}  // namespace mhc::cuda
