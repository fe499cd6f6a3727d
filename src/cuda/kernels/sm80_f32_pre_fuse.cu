#include "../launch.cuh"
#include "sm80_f32_pre_fuse.cuh"

namespace mhc::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kVec = 8;                       // bf16 per 16-byte access
constexpr int kColsPerCta = kThreads * kVec;  // layer_input columns per CTA
constexpr int kMaxN = 8;
static_assert(kThreads > kMaxN * (kMaxN + 2), "one thread per mix plus one for the square-sum");

// The token's post gate and Sinkhorn, one thread, n a compile-time constant so the n x n
// matrix lives in registers. Each normalization multiplies by one reciprocal of (sum + eps)
// (__fdividef: one MUFU op, <= 2 ulp; 40 steps stay far inside the 1e-4 tolerance and the
// decode critical path avoids the IEEE-division slow path).
// c /= (rowsum + eps) (kRows) or c /= (colsum + eps): each line summed in ascending index order.
template <int N, bool kRows>
__device__ __forceinline__ void normalize(float (&c)[N][N], float eps) {
#pragma unroll
  for (int a = 0; a < N; ++a) {
    float s = 0.0f;
#pragma unroll
    for (int b = 0; b < N; ++b) s += kRows ? c[a][b] : c[b][a];
    const float inv = __fdividef(1.0f, s + eps);
#pragma unroll
    for (int b = 0; b < N; ++b) (kRows ? c[a][b] : c[b][a]) *= inv;
  }
}

template <int N>
__device__ void write_post_comb_n(const PreFuseParams& p, int64_t t, const float* mix) {
#pragma unroll
  for (int i = 0; i < N; ++i) p.post_mix[t * N + i] = p.post_mult * sigmoidf_acc(mix[N + i] * p.scale[1] + p.base[N + i]);
  float c[N][N];
  const float eps = p.sinkhorn_eps;
#pragma unroll
  for (int j = 0; j < N; ++j) {
    float mx = -INFINITY;
#pragma unroll
    for (int k = 0; k < N; ++k) {
      c[j][k] = mix[2 * N + j * N + k] * p.scale[2] + p.base[2 * N + j * N + k];
      mx = fmaxf(mx, c[j][k]);
    }
    float sum = 0.0f;
#pragma unroll
    for (int k = 0; k < N; ++k) sum += (c[j][k] = expf(c[j][k] - mx));
    const float inv = __fdividef(1.0f, sum);
#pragma unroll
    for (int k = 0; k < N; ++k) c[j][k] = c[j][k] * inv + eps;
  }
  for (int it = 0; it < p.repeat; ++it) {
    if (it > 0) normalize<N, true>(c, eps);
    normalize<N, false>(c, eps);
  }
#pragma unroll
  for (int j = 0; j < N; ++j)
#pragma unroll
    for (int k = 0; k < N; ++k) p.comb_mix[t * N * N + j * N + k] = c[j][k];
}

// Stages partial slots of the token's N mixes + square-sum (kStageFloats at a time) in shared
// memory with every thread loading at once, then thread j (j < N; j == N: square-sum) adds its
// column in ascending slot order: the fixed order of docs/numerics.md without a serial chain of global loads.
constexpr int kStageFloats = 4096;

template <int kCols>
__device__ __forceinline__ void sum_partials(const PreFuseParams& p, int64_t t, float* stage, float* out_sum) {
  constexpr int kStage = kStageFloats / kCols < 128 ? kStageFloats / kCols : 128;
  const int cols = kCols, j = threadIdx.x;
  float acc = 0.0f;
  for (int s0 = 0; s0 < p.S; s0 += kStage) {
    const int slots = p.S - s0 < kStage ? p.S - s0 : kStage;
    for (int i = threadIdx.x; i < slots * cols; i += kThreads) {
      const int s = s0 + i / cols, c = i % cols;
      stage[(i / cols) * cols + c] = c < p.N ? __ldg(p.D + s * p.d_split_stride + t * p.N + c) : __ldg(p.Q + s * p.q_split_stride + t);
    }
    __syncthreads();
    if (j < cols)
      for (int s = 0; s < slots; ++s) acc += stage[s * cols + j];
    __syncthreads();
  }
  if (j < cols) out_sum[j] = acc;
}

// grid.x = token, grid.y = column block of layer_input.
// kN = n: the preloaded residual vectors and the Sinkhorn matrix take only the registers n needs.
template <bool kVector, int kN>
__global__ void __launch_bounds__(kThreads) sm80_pre_fuse_kernel(const PreFuseParams p) {
  pdl_launch_dependents();
  const int64_t t = blockIdx.x;
  const uint16_t* r_tok = p.R + t * p.K;
  const int64_t x0 = static_cast<int64_t>(blockIdx.y) * kColsPerCta;
  // The residual is the caller's input, complete before this run's first kernel started: load
  // it before waiting on the partials of the previous kernel.
  uint4 rv[kN];
  const int64_t xv = x0 + threadIdx.x * kVec;
  if (kVector && xv < p.C) {
#pragma unroll
    for (int i = 0; i < kN; ++i)
      rv[i] = __ldg(reinterpret_cast<const uint4*>(r_tok + i * p.C + xv));
  }
  pdl_wait();

  __shared__ float s_stage[kStageFloats];
  __shared__ float s_mix[kMaxN * (kMaxN + 2) + 1];  // N raw mixes, then the square-sum
  __shared__ float s_pre[kMaxN];
  if (p.head)
    sum_partials<kN + 1>(p, t, s_stage, s_mix);
  else
    sum_partials<kN * (kN + 2) + 1>(p, t, s_stage, s_mix);
  __syncthreads();
  const int j = threadIdx.x;
  if (blockIdx.y == 0) {
    if (p.D_out && j < p.N) p.D_out[t * p.N + j] = s_mix[j];
    if (p.Q_out && j == p.N) p.Q_out[t] = s_mix[j];
  }
  const float r = 1.0f / sqrtf(s_mix[p.N] / static_cast<float>(p.K) + p.rms_eps);
  __syncthreads();  // s_mix[N] and the raw mixes are read before being scaled in place
  if (threadIdx.x < p.N) {
    const float m = s_mix[threadIdx.x] * r;
    s_mix[threadIdx.x] = m;
    if (threadIdx.x < p.n) s_pre[threadIdx.x] = sigmoidf_acc(m * p.scale[0] + p.base[threadIdx.x]) + p.pre_eps;
  }
  __syncthreads();
  if (!p.head && blockIdx.y == 0 && threadIdx.x == 32) write_post_comb_n<kN>(p, t, s_mix);

  float pre[kN];
#pragma unroll
  for (int i = 0; i < kN; ++i) pre[i] = s_pre[i];
  uint16_t* out = p.layer_input + t * p.C;
  if (kVector) {
    if (xv < p.C) {
      float acc[kVec] = {};
#pragma unroll
      for (int i = 0; i < kN; ++i) {
        const uint32_t w[4] = {rv[i].x, rv[i].y, rv[i].z, rv[i].w};
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          acc[2 * e] = fmaf(pre[i], bf16_lo(w[e]), acc[2 * e]);
          acc[2 * e + 1] = fmaf(pre[i], bf16_hi(w[e]), acc[2 * e + 1]);
        }
      }
      const uint4 o = {pack_bf16(acc[0], acc[1]), pack_bf16(acc[2], acc[3]), pack_bf16(acc[4], acc[5]),
                       pack_bf16(acc[6], acc[7])};
      *reinterpret_cast<uint4*>(out + xv) = o;
    }
  } else {
    for (int64_t x = x0 + threadIdx.x; x < p.C && x < x0 + kColsPerCta; x += kThreads) {
      float acc = 0.0f;
#pragma unroll
      for (int i = 0; i < kN; ++i) acc = fmaf(pre[i], bf16_to_f32(r_tok[i * p.C + x]), acc);
      out[x] = f32_to_bf16(acc);
    }
  }
}

template <int kN>
void launch_n(const PreFuseParams& p, bool vector_path, dim3 grid, void* stream, bool pdl) {
  if (vector_path)
    launch("sm80_pre_fuse_kernel", sm80_pre_fuse_kernel<true, kN>, grid, dim3(kThreads), 0, stream, pdl, p);
  else
    launch("sm80_pre_fuse_kernel", sm80_pre_fuse_kernel<false, kN>, grid, dim3(kThreads), 0, stream, pdl, p);
}

}  // namespace

void launch_pre_fuse(const PreFuseParams& p, bool vector_path, void* stream, bool pdl) {
  if (p.n > kMaxN) fail(MHC_STATUS_INTERNAL, "pre fuse: n = {} exceeds {}", p.n, kMaxN);
  const dim3 grid(static_cast<unsigned>(p.T), ceil_div_u(p.C, kColsPerCta));
  switch (p.n) {
    case 1: return launch_n<1>(p, vector_path, grid, stream, pdl);
    case 2: return launch_n<2>(p, vector_path, grid, stream, pdl);
    case 3: return launch_n<3>(p, vector_path, grid, stream, pdl);
    case 4: return launch_n<4>(p, vector_path, grid, stream, pdl);
    case 5: return launch_n<5>(p, vector_path, grid, stream, pdl);
    case 6: return launch_n<6>(p, vector_path, grid, stream, pdl);
    case 7: return launch_n<7>(p, vector_path, grid, stream, pdl);
    default: return launch_n<kMaxN>(p, vector_path, grid, stream, pdl);
  }
}

}  // namespace mhc::cuda
