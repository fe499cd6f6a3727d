// A2 device functions (also the tail of A3 and A5): per token, sum the split partials in ascending
// slot order, RMS, pre/post gates, Sinkhorn (n x n in registers, one thread per token), and
// layer_input = bf16(sum pre_i R_i). Shared by the fuse kernels and the one-pass pre kernel so
// that every SKU computes a token's coefficients and layer_input with the same arithmetic (A3 ==
// A1 then A2 bit for bit where the partials agree).
#pragma once

#include "../launch.cuh"
#include "sm80_f32_pre_fuse.cuh"

namespace mhc::cuda::fuse {

constexpr int kMaxN = 8;
constexpr int kMaxMixes = kMaxN * (kMaxN + 2);

// Each normalization multiplies by one reciprocal of (sum + eps) (__fdividef: one MUFU op,
// <= 2 ulp; 40 steps stay far inside the 1e-4 tolerance and the decode critical path avoids the
// IEEE-division slow path). c /= (rowsum + eps) (kRows) or c /= (colsum + eps): each line summed
// in ascending index order.
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

// Token t's post gate and Sinkhorn-normalized comb from its scaled mixes, one thread, N = n a
// compile-time constant so the n x n matrix lives in registers.
template <int N>
__device__ void post_comb(const PreFuseParams& p, int64_t t, const float* mix) {
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

// The RMS factor of a token from its square-sum, and a pre gate from a scaled mix.
__device__ __forceinline__ float rms_factor(const PreFuseParams& p, float sqrsum) {
  return 1.0f / sqrtf(sqrsum / static_cast<float>(p.K) + p.rms_eps);
}
__device__ __forceinline__ float pre_gate(const PreFuseParams& p, float m, int i) {
  return sigmoidf_acc(m * p.scale[0] + p.base[i]) + p.pre_eps;
}

// layer_input for 8 columns: bf16(sum_i pre_i R_i), fp32 fmaf chain in ascending i.
template <int kN>
__device__ __forceinline__ uint4 apply8(const uint4 (&rv)[kN], const float* pre) {
  float acc[8] = {};
#pragma unroll
  for (int i = 0; i < kN; ++i) {
    const uint32_t w[4] = {rv[i].x, rv[i].y, rv[i].z, rv[i].w};
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      acc[2 * e] = fmaf(pre[i], bf16_lo(w[e]), acc[2 * e]);
      acc[2 * e + 1] = fmaf(pre[i], bf16_hi(w[e]), acc[2 * e + 1]);
    }
  }
  return {pack_bf16(acc[0], acc[1]), pack_bf16(acc[2], acc[3]), pack_bf16(acc[4], acc[5]), pack_bf16(acc[6], acc[7])};
}

// Shared memory of a token block's fuse: the N mix sums + square-sum of each token (scaled in
// place), its pre gates, and a staging area for the partials.
template <int kTB>
struct BlockSmem {
  float mix[kTB * (kMaxMixes + 1)];
  float pre[kTB][kMaxN];
};

// Step 1 (every thread of the CTA): the partials of tokens [t0, t0 + tb) summed in ascending
// slot order into sm.mix (row stride N + 1; [N] is the square-sum). Slots are staged through
// `stage` (stage_floats >= tb * (N + 1)) with every thread loading at once, then each (token,
// mix) is added up by one thread: the fixed order without a serial chain of memory round trips.
// The partials may come from other CTAs of the same launch: loads bypass L1 (ld.global.cg).
template <int kTB, int kThreads>
__device__ void sum_partials(const PreFuseParams& p, int64_t t0, int tb, BlockSmem<kTB>& sm, float* stage,
                             int stage_floats) {
  constexpr int kPer = (kTB * (kMaxMixes + 1) + kThreads - 1) / kThreads;  // items per thread
  const int row = p.N + 1, items = tb * row, dn = tb * p.N;
  const int per_stage = stage_floats / items;  // >= 1: the callers' stage holds a block's items
  float acc[kPer] = {};
  for (int s0 = 0; s0 < p.S; s0 += per_stage) {
    const int slots = p.S - s0 < per_stage ? p.S - s0 : per_stage;
    for (int i = threadIdx.x; i < slots * items; i += kThreads) {
      const int s = s0 + i / items, o = i % items;
      stage[i] = o < dn ? __ldcg(p.D + s * p.d_split_stride + t0 * p.N + o)
                        : __ldcg(p.Q + s * p.q_split_stride + t0 + (o - dn));
    }
    __syncthreads();
#pragma unroll
    for (int r = 0; r < kPer; ++r) {
      const int item = threadIdx.x + r * kThreads;
      if (item < items)
        for (int s = 0; s < slots; ++s) acc[r] += stage[s * items + item];
    }
    __syncthreads();
  }
#pragma unroll
  for (int r = 0; r < kPer; ++r) {
    const int item = threadIdx.x + r * kThreads;
    if (item >= items) continue;
    // item < dn: token item / N, mix item % N; else the square-sum of token item - dn.
    const int tt = item < dn ? item / p.N : item - dn, j = item < dn ? item % p.N : p.N;
    sm.mix[tt * row + j] = acc[r];
    const int64_t t = t0 + tt;
    if (p.D_out && j < p.N) p.D_out[t * p.N + j] = acc[r];
    if (p.Q_out && j == p.N) p.Q_out[t] = acc[r];
  }
  __syncthreads();
}

// Step 2: scaled mixes (in place) and pre gates of the block's tokens.
template <int kTB, int kThreads>
__device__ void block_coeffs(const PreFuseParams& p, int tb, BlockSmem<kTB>& sm) {
  const int row = p.N + 1;
  for (int i = threadIdx.x; i < tb * p.N; i += kThreads) {
    const int tt = i / p.N, j = i % p.N;
    const float m = sm.mix[tt * row + j] * rms_factor(p, sm.mix[tt * row + p.N]);
    sm.mix[tt * row + j] = m;  // this thread alone reads and writes [tt][j]; [tt][N] is not written
    if (j < p.n) sm.pre[tt][j] = pre_gate(p, m, j);
  }
  __syncthreads();
}

// Step 3: warp 0 writes post and comb (one token per lane) while the other warps write
// layer_input; for the head (no post/comb) every warp writes layer_input. `kBatch` column
// vectors per thread are loaded before the first is used (bytes in flight). No barrier inside:
// the caller synchronizes before reusing sm.
template <int kN, bool kVector, int kTB, int kThreads, int kBatch>
__device__ void block_outputs(const PreFuseParams& p, int64_t t0, int tb, const BlockSmem<kTB>& sm) {
  const int row = p.N + 1;
  const int warp = threadIdx.x / 32;
  if (!p.head && warp == 0) {
    for (int tt = threadIdx.x; tt < tb; tt += 32) {
      post_comb<kN>(p, t0 + tt, &sm.mix[tt * row]);
      if (p.pre_out)
#pragma unroll
        for (int i = 0; i < kN; ++i) p.pre_out[(t0 + tt) * kN + i] = sm.pre[tt][i];
    }
    return;
  }
  if (p.layer_input == nullptr) return;
  const int first = p.head ? 0 : 32, tid = threadIdx.x - first, nthreads = kThreads - first;
  if (kVector) {
    const int64_t vecs = p.C / 8, items = tb * vecs;
    for (int64_t i0 = tid; i0 < items; i0 += int64_t{nthreads} * kBatch) {
      uint4 rv[kBatch][kN];
#pragma unroll
      for (int b = 0; b < kBatch; ++b) {
        const int64_t i = i0 + int64_t{b} * nthreads;
        if (i < items) {
          const int64_t t = t0 + i / vecs, x = (i % vecs) * 8;
#pragma unroll
          for (int n = 0; n < kN; ++n) rv[b][n] = __ldg(reinterpret_cast<const uint4*>(p.R + t * p.K + n * p.C + x));
        }
      }
#pragma unroll
      for (int b = 0; b < kBatch; ++b) {
        const int64_t i = i0 + int64_t{b} * nthreads;
        if (i < items) {
          const int64_t tt = i / vecs, x = (i % vecs) * 8;
          *reinterpret_cast<uint4*>(p.layer_input + (t0 + tt) * p.C + x) = apply8<kN>(rv[b], sm.pre[tt]);
        }
      }
    }
  } else {
    const int64_t items = tb * p.C;
    for (int64_t i = tid; i < items; i += nthreads) {
      const int64_t tt = i / p.C, x = i % p.C;
      const uint16_t* r = p.R + (t0 + tt) * p.K + x;
      float acc = 0.0f;
#pragma unroll
      for (int n = 0; n < kN; ++n) acc = fmaf(sm.pre[tt][n], bf16_to_f32(r[n * p.C]), acc);
      p.layer_input[(t0 + tt) * p.C + x] = f32_to_bf16(acc);
    }
  }
}

// Residual vectors loaded per thread before the first is used: fewer for wide n (registers).
template <int kN>
constexpr int apply_batch() {
  return kN <= 4 ? 4 : 2;
}

}  // namespace mhc::cuda::fuse
