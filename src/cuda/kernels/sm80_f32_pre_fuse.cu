#include "../launch.cuh"
#include "sm80_f32_pre_fuse_block.cuh"

namespace mhc::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kVec = 8;                       // bf16 per 16-byte access
constexpr int kColsPerCta = kThreads * kVec;  // layer_input columns per CTA
using fuse::kMaxN;
static_assert(kThreads > kMaxN * (kMaxN + 2), "one thread per mix plus one for the square-sum");

// Stages partial slots of the token's N mixes + square-sum (kStageFloats at a time) in shared
// memory, then thread j (j < N; j == N: square-sum) adds its column in ascending slot order: the
// fixed order of docs/numerics.md. Two ways to stage, the same values in the same places:
// - contiguous slots (a run of one token: slot s + 1 follows slot s): thread i stages slot i with
//   all kCols values loaded before the first store, one L2 round trip per thread (H100, C = 7168,
//   T = 1: pre 13.09 -> 10.81 us, the V4 boundary 19.88 -> 17.31 us);
// - strided slots (several tokens): consecutive threads load consecutive values of a slot, every
//   load of a stage issued before the first store (pre T = 16: 18.55 -> 13.75 us). Slot per thread
//   was slower there (T = 16: 18.46 -> 27.15 us): a warp's load then touches 32 lines, and each of
//   a token's column-block CTAs repeats it.
constexpr int kStageFloats = 4096;

template <int kCols, bool kContiguous>
__device__ __forceinline__ void sum_partials(const PreFuseParams& p, int64_t t, float* stage, float* out_sum) {
  constexpr int kStage = kStageFloats / kCols < 128 ? kStageFloats / kCols : 128;
  const int j = threadIdx.x;
  float acc = 0.0f;
  for (int s0 = 0; s0 < p.S; s0 += kStage) {
    const int slots = p.S - s0 < kStage ? p.S - s0 : kStage;
    if constexpr (kContiguous) {
      for (int i = threadIdx.x; i < slots; i += kThreads) {
        const float* d = p.D + (s0 + i) * p.d_split_stride + t * p.N;
        float v[kCols];
#pragma unroll
        for (int c = 0; c < kCols - 1; ++c) v[c] = __ldg(d + c);  // kCols - 1 == N
        v[kCols - 1] = __ldg(p.Q + (s0 + i) * p.q_split_stride + t);
#pragma unroll
        for (int c = 0; c < kCols; ++c) stage[i * kCols + c] = v[c];
      }
    } else {
      constexpr int kItems = (kStage * kCols + kThreads - 1) / kThreads;
      float v[kItems];
#pragma unroll
      for (int u = 0; u < kItems; ++u) {
        const int i = threadIdx.x + u * kThreads, s = s0 + i / kCols, c = i % kCols;
        if (i < slots * kCols)
          v[u] = c < kCols - 1 ? __ldg(p.D + s * p.d_split_stride + t * p.N + c) : __ldg(p.Q + s * p.q_split_stride + t);
      }
#pragma unroll
      for (int u = 0; u < kItems; ++u) {
        const int i = threadIdx.x + u * kThreads;
        if (i < slots * kCols) stage[i] = v[u];
      }
    }
    __syncthreads();
    if (j < kCols)
      for (int s = 0; s < slots; ++s) acc += stage[s * kCols + j];
    __syncthreads();
  }
  if (j < kCols) out_sum[j] = acc;
}

// grid.x = token, grid.y = column block of layer_input.
// kN = n: the preloaded residual vectors and the Sinkhorn matrix take only the registers n needs.
// kContiguous: the staging of contiguous slots (a kernel of its own: no registers of the other).
template <bool kVector, int kN, bool kContiguous>
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
    sum_partials<kN + 1, kContiguous>(p, t, s_stage, s_mix);
  else
    sum_partials<kN * (kN + 2) + 1, kContiguous>(p, t, s_stage, s_mix);
  __syncthreads();
  const int j = threadIdx.x;
  if (blockIdx.y == 0) {
    if (p.D_out && j < p.N) p.D_out[t * p.N + j] = s_mix[j];
    if (p.Q_out && j == p.N) p.Q_out[t] = s_mix[j];
  }
  const float r = fuse::rms_factor(p, s_mix[p.N]);
  __syncthreads();  // s_mix[N] and the raw mixes are read before being scaled in place
  if (threadIdx.x < p.N) {
    const float m = s_mix[threadIdx.x] * r;
    s_mix[threadIdx.x] = m;
    if (threadIdx.x < p.n) s_pre[threadIdx.x] = fuse::pre_gate(p, m, threadIdx.x);
  }
  __syncthreads();
  if (!p.head && blockIdx.y == 0 && threadIdx.x == 32) fuse::post_comb<kN>(p, t, s_mix);
  if (p.pre_out && blockIdx.y == 0 && threadIdx.x < kN) p.pre_out[t * kN + threadIdx.x] = s_pre[threadIdx.x];
  if (p.layer_input == nullptr) return;

  float pre[kN];
#pragma unroll
  for (int i = 0; i < kN; ++i) pre[i] = s_pre[i];
  uint16_t* out = p.layer_input + t * p.C;
  if (kVector) {
    if (xv < p.C) {
      *reinterpret_cast<uint4*>(out + xv) = fuse::apply8<kN>(rv, pre);
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

// The token-block fuse: grid.x = block of kBlockTokens tokens over all of C. The partials are
// summed once per token (not once per column block), post/comb run on warp 0 in parallel over
// the block's tokens while the other warps stream layer_input.
constexpr int kBlockTokens = 8, kBlockThreads = 256;

template <bool kVector, int kN>
__global__ void __launch_bounds__(kBlockThreads) sm80_pre_fuse_tokens_kernel(const PreFuseParams p) {
  pdl_launch_dependents();
  pdl_wait();
  __shared__ fuse::BlockSmem<kBlockTokens> sm;
  __shared__ float stage[kStageFloats];
  const int64_t t0 = static_cast<int64_t>(blockIdx.x) * kBlockTokens;
  const int tb = p.T - t0 < kBlockTokens ? static_cast<int>(p.T - t0) : kBlockTokens;
  fuse::sum_partials<kBlockTokens, kBlockThreads>(p, t0, tb, sm, stage, kStageFloats);
  fuse::block_coeffs<kBlockTokens, kBlockThreads>(p, tb, sm);
  fuse::block_outputs<kN, kVector, kBlockTokens, kBlockThreads, fuse::apply_batch<kN>()>(p, t0, tb, sm);
}

template <bool kVector, int kN>
void launch_slots(const PreFuseParams& p, dim3 grid, void* stream, bool pdl) {
  if (p.d_split_stride == p.N && p.q_split_stride == 1)
    launch("sm80_pre_fuse_kernel", sm80_pre_fuse_kernel<kVector, kN, true>, grid, dim3(kThreads), 0, stream, pdl, p);
  else
    launch("sm80_pre_fuse_kernel", sm80_pre_fuse_kernel<kVector, kN, false>, grid, dim3(kThreads), 0, stream, pdl, p);
}

template <int kN>
void launch_n(const PreFuseParams& p, bool vector_path, dim3 grid, void* stream, bool pdl, bool tokens) {
  if (tokens) {
    const dim3 tgrid(ceil_div_u(p.T, kBlockTokens));
    if (vector_path)
      launch("sm80_pre_fuse_tokens_kernel", sm80_pre_fuse_tokens_kernel<true, kN>, tgrid, dim3(kBlockThreads), 0,
             stream, pdl, p);
    else
      launch("sm80_pre_fuse_tokens_kernel", sm80_pre_fuse_tokens_kernel<false, kN>, tgrid, dim3(kBlockThreads), 0,
             stream, pdl, p);
    return;
  }
  if (vector_path)
    launch_slots<true, kN>(p, grid, stream, pdl);
  else
    launch_slots<false, kN>(p, grid, stream, pdl);
}

}  // namespace

void launch_pre_fuse(const PreFuseParams& p, bool vector_path, void* stream, bool pdl, bool token_blocks) {
  if (p.n > kMaxN) fail(MHC_STATUS_INTERNAL, "pre fuse: n = {} exceeds {}", p.n, kMaxN);
  // Without a layer input one CTA per token computes the coefficients.
  const dim3 grid(static_cast<unsigned>(p.T), p.layer_input ? ceil_div_u(p.C, kColsPerCta) : 1u);
  switch (p.n) {
    case 1: return launch_n<1>(p, vector_path, grid, stream, pdl, token_blocks);
    case 2: return launch_n<2>(p, vector_path, grid, stream, pdl, token_blocks);
    case 3: return launch_n<3>(p, vector_path, grid, stream, pdl, token_blocks);
    case 4: return launch_n<4>(p, vector_path, grid, stream, pdl, token_blocks);
    case 5: return launch_n<5>(p, vector_path, grid, stream, pdl, token_blocks);
    case 6: return launch_n<6>(p, vector_path, grid, stream, pdl, token_blocks);
    case 7: return launch_n<7>(p, vector_path, grid, stream, pdl, token_blocks);
    default: return launch_n<kMaxN>(p, vector_path, grid, stream, pdl, token_blocks);
  }
}

}  // namespace mhc::cuda
