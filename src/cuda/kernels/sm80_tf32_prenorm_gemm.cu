#include "../cp_async.cuh"
#include "../launch.cuh"
#include "sm80_bf16_prenorm_gemm.cuh"
#include "sm80_bf16_prenorm_staging.cuh"
#include "sm80_tf32_prenorm_gemm.cuh"

namespace mhc::cuda {
namespace {

constexpr int kWarps = 8;          // the warps of a CTA split the K range (fixed interleave)
constexpr int kChunk = staging::kChunk;  // k per warp step: each lane loads 8 contiguous k
constexpr int kMaxMixTiles = 5;    // N <= 80 (n = 8)

// Slots of one 32-k chunk: lane (g = lane / 4, q = lane % 4) holds k = 8q .. 8q+7 of its rows.
// MMA step j uses k-slots {q, q+4} <-> k = 8q + 2j, 8q + 2j + 1; A and B use the same mapping,
// so the permuted dot product equals the plain one.
template <bool kVector>
__device__ __forceinline__ void load_a8(const uint16_t* row, int64_t k, int64_t k_end, uint32_t (&w)[4]) {
  if (kVector) {
    if (k < k_end) {
      const uint4 v = __ldg(reinterpret_cast<const uint4*>(row + k));
      w[0] = v.x, w[1] = v.y, w[2] = v.z, w[3] = v.w;
    } else {
      w[0] = w[1] = w[2] = w[3] = 0u;
    }
  } else {
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const uint32_t lo = k + 2 * e < k_end ? row[k + 2 * e] : 0u;
      const uint32_t hi = k + 2 * e + 1 < k_end ? row[k + 2 * e + 1] : 0u;
      w[e] = lo | (hi << 16);
    }
  }
}

template <bool kVector>
__device__ __forceinline__ void load_f8(const float* row, int64_t k, int64_t k_end, float (&f)[8]) {
  if (kVector) {
    if (k < k_end) {
      const float4 a = __ldg(reinterpret_cast<const float4*>(row + k));
      const float4 b = __ldg(reinterpret_cast<const float4*>(row + k + 4));
      f[0] = a.x, f[1] = a.y, f[2] = a.z, f[3] = a.w, f[4] = b.x, f[5] = b.y, f[6] = b.z, f[7] = b.w;
    } else {
#pragma unroll
      for (int e = 0; e < 8; ++e) f[e] = 0.0f;
    }
  } else {
#pragma unroll
    for (int e = 0; e < 8; ++e) f[e] = k + e < k_end ? __ldg(row + k + e) : 0.0f;
  }
}

// The A rows of a lane's TN token tiles: token t0 + tn * 8 + g (past T: row 0, flagged invalid).
template <int TN>
struct TokenRows {
  const uint16_t* row[TN];
  bool valid[TN];
  __device__ __forceinline__ TokenRows(const PrenormGemmParams& p, int64_t t0, int g) {
#pragma unroll
    for (int tn = 0; tn < TN; ++tn) {
      const int64_t t = t0 + tn * 8 + g;
      valid[tn] = t < p.T;
      row[tn] = p.A + (valid[tn] ? t : 0) * p.K;
    }
  }
};

// The A fragments of one mix tile for MMA step j: rows g and g+8, k-slots {q, q+4} (see above).
struct FnFrag {
  uint32_t hi[4], lo[4];
};
template <bool kFp32Weights>
__device__ __forceinline__ FnFrag fn_frag(const float (&r0)[8], const float (&r1)[8], int j) {
  FnFrag f;
  if (kFp32Weights) {
    split_tf32(r0[2 * j], f.hi[0], f.lo[0]), split_tf32(r1[2 * j], f.hi[1], f.lo[1]);
    split_tf32(r0[2 * j + 1], f.hi[2], f.lo[2]), split_tf32(r1[2 * j + 1], f.hi[3], f.lo[3]);
  } else {
    f.hi[0] = tf32_rne(r0[2 * j]), f.hi[1] = tf32_rne(r1[2 * j]);
    f.hi[2] = tf32_rne(r0[2 * j + 1]), f.hi[3] = tf32_rne(r1[2 * j + 1]);
  }
  return f;
}

// One MMA step of one mix tile over TN token tiles: the small product first (fp32 weights).
template <int TN, bool kFp32Weights>
__device__ __forceinline__ void mma_step(float (&acc)[TN][4], const FnFrag& f, const uint32_t (&a)[TN][4], int j) {
#pragma unroll
  for (int tn = 0; tn < TN; ++tn) {
    const uint32_t b0 = a[tn][j] << 16, b1 = a[tn][j] & 0xffff0000u;
    if (kFp32Weights) mma_tf32_16x8x8(acc[tn], f.lo, b0, b1);
    mma_tf32_16x8x8(acc[tn], f.hi, b0, b1);
  }
}

// Square-sums of one chunk, k ascending within the lane.
template <int TN>
__device__ __forceinline__ void square_step(float (&sq)[TN], const uint32_t (&a)[TN][4]) {
#pragma unroll
  for (int tn = 0; tn < TN; ++tn)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const float lo = bf16_lo(a[tn][e]), hi = bf16_hi(a[tn][e]);
      sq[tn] = fmaf(lo, lo, sq[tn]);
      sq[tn] = fmaf(hi, hi, sq[tn]);
    }
}

// Lanes q = 0..3 of a group share a token: a fixed butterfly.
template <int TN>
__device__ __forceinline__ void square_butterfly(float (&sq)[TN]) {
#pragma unroll
  for (int tn = 0; tn < TN; ++tn) {
    sq[tn] += __shfl_xor_sync(0xffffffffu, sq[tn], 1);
    sq[tn] += __shfl_xor_sync(0xffffffffu, sq[tn], 2);
  }
}

template <int MT, int TN, bool kFp32Weights, bool kVector>
__global__ void __launch_bounds__(kWarps * 32)
sm80_tf32_prenorm_gemm_kernel(const PrenormGemmParams p) {
  pdl_launch_dependents();
  if (!p.preload) pdl_wait();
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, q = lane % 4;
  const int slot = blockIdx.y;
  const int64_t t0 = static_cast<int64_t>(blockIdx.x) * 8 * TN;
  const SlotRange range = slot_k_range(p.G, p.K, p.S, p.U, slot);
  const int64_t k_begin = range.begin, k_end = range.end;

  const TokenRows<TN> ar(p, t0, g);
  const auto& a_rows = ar.row;
  const auto& a_valid = ar.valid;
  const float* f_rows[MT][2];
  bool f_valid[MT][2];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int j = mt * 16 + h * 8 + g;
      f_valid[mt][h] = j < p.N;
      f_rows[mt][h] = p.fn + (f_valid[mt][h] ? j : 0) * p.K;
    }

  float acc[MT][TN][4] = {};
  float sq[TN] = {};
#pragma unroll 2
  for (int64_t k = k_begin + warp * kChunk + 8 * q; k - 8 * q < k_end; k += kWarps * kChunk) {
    uint32_t a[TN][4];
#pragma unroll
    for (int tn = 0; tn < TN; ++tn) {
      if (a_valid[tn]) {
        load_a8<kVector>(a_rows[tn], k, k_end, a[tn]);
      } else {
        a[tn][0] = a[tn][1] = a[tn][2] = a[tn][3] = 0u;
      }
    }
    // Decode tiles (TN == 1) issue every load of the chunk before the first MMA: one memory
    // round trip per chunk. Wider tiles load a mix tile's rows right before its MMAs, which keeps
    // registers low enough for the unrolled loop to overlap two chunks.
    float f[MT][2][8];
    auto load_tile = [&](int mt) {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        if (f_valid[mt][h]) {
          load_f8<kVector>(f_rows[mt][h], k, k_end, f[mt][h]);
        } else {
#pragma unroll
          for (int e = 0; e < 8; ++e) f[mt][h][e] = 0.0f;
        }
      }
    };
    if (TN == 1) {
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) load_tile(mt);
    }
    square_step<TN>(sq, a);
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) {
      if (TN != 1) load_tile(mt);
#pragma unroll
      for (int j = 0; j < 4; ++j) mma_step<TN, kFp32Weights>(acc[mt], fn_frag<kFp32Weights>(f[mt][0], f[mt][1], j), a, j);
    }
  }
  square_butterfly<TN>(sq);

  // Reduce the warps in ascending order through shared memory.
  __shared__ float s_acc[kWarps][MT * 16][8 * TN];
  __shared__ float s_sq[kWarps][8 * TN];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int tn = 0; tn < TN; ++tn) {
      // C fragment: (row g, cols 2q, 2q+1) and (row g+8, same cols); rows are mixes, cols tokens.
      s_acc[warp][mt * 16 + g][tn * 8 + 2 * q] = acc[mt][tn][0];
      s_acc[warp][mt * 16 + g][tn * 8 + 2 * q + 1] = acc[mt][tn][1];
      s_acc[warp][mt * 16 + g + 8][tn * 8 + 2 * q] = acc[mt][tn][2];
      s_acc[warp][mt * 16 + g + 8][tn * 8 + 2 * q + 1] = acc[mt][tn][3];
    }
  if (q == 0)
#pragma unroll
    for (int tn = 0; tn < TN; ++tn) s_sq[warp][tn * 8 + g] = sq[tn];
  __syncthreads();
  if (p.preload) pdl_wait();  // the previous kernel may still read D / Q

  for (int idx = threadIdx.x; idx < 8 * TN * p.N; idx += kWarps * 32) {
    const int col = idx / p.N, j = idx % p.N;  // consecutive threads write consecutive mixes
    const int64_t t = t0 + col;
    if (t >= p.T) continue;
    float v = s_acc[0][j][col];
#pragma unroll
    for (int w = 1; w < kWarps; ++w) v += s_acc[w][j][col];
    p.D[slot * p.d_split_stride + t * p.N + j] = v;
  }
  for (int col = threadIdx.x; col < 8 * TN; col += kWarps * 32) {
    const int64_t t = t0 + col;
    if (t >= p.T) continue;
    float v = s_sq[0][col];
#pragma unroll
    for (int w = 1; w < kWarps; ++w) v += s_sq[w][col];
    p.Q[slot * p.q_split_stride + t] = v;
  }
}

// ---- the wide-token kernel (long runs) ---------------------------------------------------------
// The kernel above gives each CTA 8..32 tokens and splits a slot's K range over its 8 warps
// (chunk c to warp c mod 8), so fn is re-read from L2 once per 32 tokens: at prefill that fn
// traffic exceeds the residual's. Here the warps split 8 * kWideTN tokens each (128 per CTA) and
// share each fn chunk through shared memory, rounded to tf32 once per CTA. Each warp walks the
// slot's chunks in the order the narrow kernel's warps would (all chunks c = r mod 8 for r = 0..7)
// and folds residue r's sums into its total in ascending r, as the narrow kernel adds its warps:
// every partial is the narrow kernel's, bit for bit.
constexpr int kWideTN = 2;
constexpr int kWideTokens = kWarps * 8 * kWideTN;
constexpr int kFnStride = kChunk + 4;  // words per fn row in shared memory: conflict-free LDS.128

// The chunk after c in residue-major order over nc chunks, or -1.
__device__ __forceinline__ int64_t next_chunk(int64_t c, int64_t nc) {
  if (c + kWarps < nc) return c + kWarps;
  const int64_t r = c % kWarps + 1;
  return r < kWarps && r < nc ? r : -1;
}

// A's 16-byte loads bypass L1 (streamed once) so that L1 keeps what the warps re-read.
__device__ __forceinline__ uint4 ld_stream16(const void* ptr) {
  uint4 v;
  asm("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];"
      : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
      : "l"(ptr));
  return v;
}

template <bool kVector>
__device__ __forceinline__ void load_a8_stream(const uint16_t* row, int64_t k, int64_t k_end, uint32_t (&w)[4]) {
  if (kVector && k < k_end) {
    const uint4 v = ld_stream16(row + k);
    w[0] = v.x, w[1] = v.y, w[2] = v.z, w[3] = v.w;
  } else {
    load_a8<kVector>(row, k, k_end, w);
  }
}

template <int MT, bool kFp32Weights>
struct WideSmem {
  uint32_t hi[2][MT * 16][kFnStride];
  uint32_t lo[2][kFp32Weights ? MT * 16 : 1][kFnStride];
};

// fn rows [0, MT*16) x one chunk, staged by the CTA: thread i fetches quads i, i + 256, ...
// (4 consecutive k of one row; rows >= N and k >= the slot's end are zeros), then stores them
// rounded to tf32 (hi, and lo for fp32 weights). Fetch before the MMAs, store after: the loads'
// latency hides behind the chunk in flight.
template <int MT>
struct FnQuads {
  static constexpr int kPerThread = (MT * 16 * (kChunk / 4) + kWarps * 32 - 1) / (kWarps * 32);
  float4 v[kPerThread];
};

template <int MT, bool kVector>
__device__ __forceinline__ void fetch_fn(FnQuads<MT>& f, const PrenormGemmParams& p, int64_t k_begin, int64_t k_end,
                                         int64_t c) {
#pragma unroll
  for (int u = 0; u < FnQuads<MT>::kPerThread; ++u) {
    const int i = threadIdx.x + u * kWarps * 32;
    const int row = i / (kChunk / 4), k = (i % (kChunk / 4)) * 4;
    const int64_t kk = k_begin + c * kChunk + k;
    float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    if (c >= 0 && row < p.N && row < MT * 16) {
      const float* src = p.fn + static_cast<int64_t>(row) * p.K + kk;
      if (kVector) {
        if (kk < k_end) v = __ldg(reinterpret_cast<const float4*>(src));
      } else {
        v.x = kk < k_end ? __ldg(src) : 0.0f;
        v.y = kk + 1 < k_end ? __ldg(src + 1) : 0.0f;
        v.z = kk + 2 < k_end ? __ldg(src + 2) : 0.0f;
        v.w = kk + 3 < k_end ? __ldg(src + 3) : 0.0f;
      }
    }
    f.v[u] = v;
  }
}

// Four fn values as tf32 words: hi = w(v), and lo = w(v - hi) for fp32 weights (the 3xTF32 split).
template <bool kFp32Weights>
__device__ __forceinline__ void split_tf32x4(const float4& v, uint4& hi, uint4& lo) {
  const float f[4] = {v.x, v.y, v.z, v.w};
  uint32_t h[4], l[4];
#pragma unroll
  for (int e = 0; e < 4; ++e) {
    if (kFp32Weights)
      split_tf32(f[e], h[e], l[e]);
    else
      h[e] = tf32_rne(f[e]), l[e] = 0u;
  }
  hi = make_uint4(h[0], h[1], h[2], h[3]);
  lo = make_uint4(l[0], l[1], l[2], l[3]);
}

template <int MT, bool kFp32Weights>
__device__ __forceinline__ void store_fn(WideSmem<MT, kFp32Weights>& s, int b, const FnQuads<MT>& f) {
#pragma unroll
  for (int u = 0; u < FnQuads<MT>::kPerThread; ++u) {
    const int i = threadIdx.x + u * kWarps * 32;
    const int row = i / (kChunk / 4), k = (i % (kChunk / 4)) * 4;
    if (row >= MT * 16) continue;
    uint4 hi, lo;
    split_tf32x4<kFp32Weights>(f.v[u], hi, lo);
    *reinterpret_cast<uint4*>(&s.hi[b][row][k]) = hi;
    if (kFp32Weights) *reinterpret_cast<uint4*>(&s.lo[b][row][k]) = lo;
  }
}

// Word e (0..7) of a lane's 8 staged k-slots.
__device__ __forceinline__ uint32_t word8(const uint4 (&v)[2], int e) {
  const uint4 x = v[e / 4];
  const int r = e % 4;
  return r == 0 ? x.x : r == 1 ? x.y : r == 2 ? x.z : x.w;
}

// The fragment of MMA step j from a lane's staged words of rows g (r0) and g + 8 (r1), as
// fn_frag regroups them.
template <bool kFp32Weights>
__device__ __forceinline__ FnFrag staged_frag(const uint4 (&h0)[2], const uint4 (&h1)[2], const uint4 (&l0)[2],
                                             const uint4 (&l1)[2], int j) {
  FnFrag f;
  f.hi[0] = word8(h0, 2 * j), f.hi[1] = word8(h1, 2 * j), f.hi[2] = word8(h0, 2 * j + 1), f.hi[3] = word8(h1, 2 * j + 1);
  if (kFp32Weights) {
    f.lo[0] = word8(l0, 2 * j), f.lo[1] = word8(l1, 2 * j), f.lo[2] = word8(l0, 2 * j + 1), f.lo[3] = word8(l1, 2 * j + 1);
  }
  return f;
}

// One 32-k chunk of a warp's TN token tiles against fn staged in shared memory as tf32 (hi, and
// lo for fp32 weights; rows of kFnStride words): every mix tile's MMAs in mt, j order.
template <int MT, int TN, bool kFp32Weights>
__device__ __forceinline__ void mma_staged_chunk(float (&acc)[MT][TN][4], const uint32_t* hi, const uint32_t* lo,
                                                 const uint32_t (&a)[TN][4], int g, int q) {
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) {
    uint4 h0[2], h1[2], l0[2], l1[2];
#pragma unroll
    for (int v = 0; v < 2; ++v) {
      h0[v] = *reinterpret_cast<const uint4*>(hi + (mt * 16 + g) * kFnStride + 8 * q + 4 * v);
      h1[v] = *reinterpret_cast<const uint4*>(hi + (mt * 16 + g + 8) * kFnStride + 8 * q + 4 * v);
      if (kFp32Weights) {
        l0[v] = *reinterpret_cast<const uint4*>(lo + (mt * 16 + g) * kFnStride + 8 * q + 4 * v);
        l1[v] = *reinterpret_cast<const uint4*>(lo + (mt * 16 + g + 8) * kFnStride + 8 * q + 4 * v);
      }
    }
#pragma unroll
    for (int j = 0; j < 4; ++j)
      mma_step<TN, kFp32Weights>(acc[mt], staged_frag<kFp32Weights>(h0, h1, l0, l1, j), a, j);
  }
}

// A warp's sums in the wide kernels: acc and sq over the chunks of the current residue, folded
// into the totals after the residue's last chunk, residues in ascending order, as the narrow
// kernel adds its warps.
template <int MT, int TN>
struct ResidueSums {
  float total[MT][TN][4] = {}, acc[MT][TN][4] = {};
  float sq_total[TN] = {}, sq[TN] = {};
  int done = 0;  // residues folded into the totals

  __device__ __forceinline__ void fold() {
    square_butterfly<TN>(sq);
#pragma unroll
    for (int tn = 0; tn < TN; ++tn) {
      sq_total[tn] = done == 0 ? sq[tn] : sq_total[tn] + sq[tn];
      sq[tn] = 0.0f;
#pragma unroll
      for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          total[mt][tn][e] = done == 0 ? acc[mt][tn][e] : total[mt][tn][e] + acc[mt][tn][e];
          acc[mt][tn][e] = 0.0f;
        }
    }
    ++done;
  }
  // Chunk c of nc (residue-major order) multiplied: fold after the last chunk of residue c mod 8.
  __device__ __forceinline__ void chunk_done(int64_t c, int64_t nc) {
    if (c + kWarps >= nc) fold();
  }
  // Residues with no chunk add zeros, as the narrow kernel's empty warps do.
  __device__ __forceinline__ void finish() {
    while (done < kWarps) fold();
  }

  // Tokens t0 .. t0 + 8 * TN - 1 into slot `slot` of D and Q (C fragment: rows are mixes g and
  // g + 8, columns tokens 2q and 2q + 1).
  __device__ __forceinline__ void store(const PrenormGemmParams& p, int slot, int64_t t0, int g, int q) const {
#pragma unroll
    for (int tn = 0; tn < TN; ++tn) {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int64_t t = t0 + tn * 8 + 2 * q + h;
        if (t >= p.T) continue;
        float* d = p.D + slot * p.d_split_stride + t * p.N;
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
          const int j0 = mt * 16 + g, j1 = j0 + 8;
          if (j0 < p.N) d[j0] = total[mt][tn][h];
          if (j1 < p.N) d[j1] = total[mt][tn][2 + h];
        }
      }
      const int64_t t = t0 + tn * 8 + g;
      if (q == 0 && t < p.T) p.Q[slot * p.q_split_stride + t] = sq_total[tn];
    }
  }
};

template <int MT, bool kFp32Weights, bool kVector>
__global__ void __launch_bounds__(kWarps * 32)
sm80_tf32_prenorm_gemm_wide_kernel(const PrenormGemmParams p) {
  constexpr int TN = kWideTN;
  pdl_launch_dependents();
  if (!p.preload) pdl_wait();
  __shared__ __align__(16) WideSmem<MT, kFp32Weights> s;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, q = lane % 4;
  const int slot = blockIdx.y;
  const int64_t t0 = static_cast<int64_t>(blockIdx.x) * kWideTokens + warp * 8 * TN;
  const SlotRange range = slot_k_range(p.G, p.K, p.S, p.U, slot);
  const int64_t k_begin = range.begin, k_end = range.end;
  const int64_t nc = (k_end - k_begin + kChunk - 1) / kChunk;  // >= 1: a slot is never empty

  const TokenRows<TN> ar(p, t0, g);
  const auto& a_rows = ar.row;
  const auto& a_valid = ar.valid;
  auto load_a = [&](int64_t c, uint32_t (&a)[TN][4]) {
    const int64_t k = k_begin + c * kChunk + 8 * q;
#pragma unroll
    for (int tn = 0; tn < TN; ++tn) {
      if (a_valid[tn] && c >= 0) {
        load_a8_stream<kVector>(a_rows[tn], k, k_end, a[tn]);
      } else {
        a[tn][0] = a[tn][1] = a[tn][2] = a[tn][3] = 0u;
      }
    }
  };

  ResidueSums<MT, TN> r;
  // Two chunks of A in flight ahead of the one being multiplied; one fn chunk staged ahead.
  int64_t c = 0, c1 = next_chunk(0, nc), c2 = c1 < 0 ? -1 : next_chunk(c1, nc);
  uint32_t a0[TN][4], a1[TN][4], a2[TN][4];
  FnQuads<MT> fq;
  load_a(c, a0);
  load_a(c1, a1);
  fetch_fn<MT, kVector>(fq, p, k_begin, k_end, c);
  store_fn<MT, kFp32Weights>(s, 0, fq);
  __syncthreads();
  for (int b = 0; c >= 0; b ^= 1) {
    load_a(c2, a2);
    fetch_fn<MT, kVector>(fq, p, k_begin, k_end, c1);
    square_step<TN>(r.sq, a0);
    mma_staged_chunk<MT, TN, kFp32Weights>(r.acc, &s.hi[b][0][0], &s.lo[b][0][0], a0, g, q);
    r.chunk_done(c, nc);
    if (c1 >= 0) store_fn<MT, kFp32Weights>(s, b ^ 1, fq);
    __syncthreads();  // buffer b is free, b ^ 1 is staged
#pragma unroll
    for (int tn = 0; tn < TN; ++tn)
#pragma unroll
      for (int e = 0; e < 4; ++e) a0[tn][e] = a1[tn][e], a1[tn][e] = a2[tn][e];
    c = c1, c1 = c2, c2 = c2 < 0 ? -1 : next_chunk(c2, nc);
  }
  r.finish();

  if (p.preload) pdl_wait();  // the previous kernel may still read D / Q
  r.store(p, slot, t0, g, q);
}

// ---- the staged wide-token kernel (vector path, the default from kWideMinTokens) --------------
// The kernel above keeps two chunks of A in registers ahead of its MMAs, about 16 KB per CTA in
// flight: it streams at about half the copy bandwidth, its warps waiting on DRAM. Here A and fn
// go through a ring of kStages shared-memory stages filled with cp.async, kStages - 2 chunks
// ahead of the MMAs (48 KB per CTA at 8 stages, two CTAs per SM); fn is rounded to tf32 in place,
// once per CTA, the iteration before its MMAs. The chunk order, the MMAs and the folds are the
// kernel above's: the same partials, bit for bit.
template <int MT, bool kFp32Weights>
struct StagedLayout : staging::Ring<kWideTokens * kChunk / 2, MT * 16 * kFnStride,
                                    kFp32Weights ? 2 * MT * 16 * kFnStride : 0, 2> {
  // [token][32 k] bf16 pairs; [mix][kFnStride] fp32, then tf32 in place; lo words double-buffered.
  static constexpr int kFnWords = MT * 16 * kFnStride;
  __device__ __forceinline__ uint32_t* lo(int b) const { return this->extra() + b * kFnWords; }
};

template <int MT, bool kFp32Weights>
// Two CTAs per SM where shared memory allows them (up to two mix tiles); n = 5..8 keep one and
// their registers.
__global__ void __launch_bounds__(kWarps * 32, MT <= 2 ? 2 : 1)
sm80_tf32_prenorm_gemm_staged_kernel(const PrenormGemmParams p) {
  using Layout = StagedLayout<MT, kFp32Weights>;
  constexpr int TN = kWideTN, kStages = Layout::kStages, kThreads = kWarps * 32;
  pdl_launch_dependents();
  if (!p.preload) pdl_wait();
  extern __shared__ __align__(16) uint32_t staged_smem[];
  const Layout L{{staged_smem}};
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, q = lane % 4;
  const staging::Slot s = staging::cta_slot<kWideTokens>(p, MT * 16);
  const int slot = s.slot, tokens = s.tokens, rows = s.rows;
  const int64_t tb = s.tb, nc = s.nc;

  // Rows no copy fills stay zero: tokens past T, mix rows past N (and all of lo's rows past N).
  for (int st = 0; st < kStages; ++st) {
    staging::zero_words<kThreads>(L.a(st), tokens * 16, kWideTokens * 16);
    staging::zero_words<kThreads>(L.fn(st), rows * kFnStride, Layout::kFnWords);
  }
  if (kFp32Weights) staging::zero_words<kThreads>(L.lo(0), 0, 2 * Layout::kFnWords);

  // Chunk c into stage st. One commit per call, also when c < 0, so that the group count stays
  // the chunk count.
  auto issue = [&](int64_t c, int st) {
    if (c >= 0) staging::copy_chunk<kThreads>(p, s, c, L.a(st), L.fn(st), kFnStride);
    cp_async_commit();
  };
  // fn of stage st rounded to tf32 in place; lo (fp32 weights) into lo buffer b.
  auto convert = [&](int st, int b) {
    for (int i = threadIdx.x; i < rows * 8; i += kThreads) {
      const int row = i / 8, k = (i % 8) * 4;
      uint32_t* w = L.fn(st) + row * kFnStride + k;
      uint4 hi, lo;
      split_tf32x4<kFp32Weights>(*reinterpret_cast<const float4*>(w), hi, lo);
      *reinterpret_cast<uint4*>(w) = hi;
      if (kFp32Weights) *reinterpret_cast<uint4*>(L.lo(b) + row * kFnStride + k) = lo;
    }
  };

  // Chunks in residue-major order: i-th multiplied from stage i % kStages, issued kStages - 1
  // ahead; the one after it converted during its MMAs.
  int64_t ci = 0;  // the next chunk to issue
  for (int st = 0; st < kStages - 1; ++st) {
    issue(ci, st);
    ci = ci < 0 ? -1 : next_chunk(ci, nc);
  }
  cp_async_wait<kStages - 2>();  // chunk 0 landed
  __syncthreads();
  convert(0, 0);

  ResidueSums<MT, TN> r;
  const int64_t t0 = tb + warp * 8 * TN;
  const int arow = warp * 8 * TN + g;  // the warp's token rows arow + 8 tn in a stage
  int64_t c = 0;
  for (int i = 0; c >= 0; ++i) {
    cp_async_wait<kStages - 3>();  // chunk i + 1 landed (this thread's copies)
    __syncthreads();               // ... everyone's; chunk i converted; stage (i - 1) % kStages free
    const int st = i % kStages;
    issue(ci, (i + kStages - 1) % kStages);
    ci = ci < 0 ? -1 : next_chunk(ci, nc);
    const int64_t c1 = next_chunk(c, nc);
    if (c1 >= 0) convert((i + 1) % kStages, (i + 1) & 1);

    uint32_t a[TN][4];
#pragma unroll
    for (int tn = 0; tn < TN; ++tn) {
      const uint4 v = *reinterpret_cast<const uint4*>(L.a(st) + (arow + 8 * tn) * 16 + 4 * q);
      a[tn][0] = v.x, a[tn][1] = v.y, a[tn][2] = v.z, a[tn][3] = v.w;
    }
    square_step<TN>(r.sq, a);
    mma_staged_chunk<MT, TN, kFp32Weights>(r.acc, L.fn(st), kFp32Weights ? L.lo(i & 1) : L.fn(st), a, g, q);
    r.chunk_done(c, nc);
    c = c1;
  }
  r.finish();
  cp_async_wait<0>();  // no copy outlives the CTA (the trailing groups are empty)

  if (p.preload) pdl_wait();  // the previous kernel may still read D / Q
  r.store(p, slot, t0, g, q);
}

template <int MT, int TN>
void launch_shape(const PrenormGemmParams& p, bool fp32_weights, bool vector_path, void* stream, bool pdl) {
  const dim3 grid(ceil_div_u(p.T, 8 * TN), static_cast<unsigned>(p.S * p.U));
  const dim3 block(kWarps * 32);
  const char* name = "sm80_tf32_prenorm_gemm_kernel";
  if (fp32_weights) {
    if (vector_path)
      launch(name, sm80_tf32_prenorm_gemm_kernel<MT, TN, true, true>, grid, block, 0, stream, pdl, p);
    else
      launch(name, sm80_tf32_prenorm_gemm_kernel<MT, TN, true, false>, grid, block, 0, stream, pdl, p);
  } else {
    if (vector_path)
      launch(name, sm80_tf32_prenorm_gemm_kernel<MT, TN, false, true>, grid, block, 0, stream, pdl, p);
    else
      launch(name, sm80_tf32_prenorm_gemm_kernel<MT, TN, false, false>, grid, block, 0, stream, pdl, p);
  }
}

template <int MT>
void launch_wide(const PrenormGemmParams& p, bool fp32_weights, bool vector_path, void* stream, bool pdl) {
  const dim3 grid(ceil_div_u(p.T, kWideTokens), static_cast<unsigned>(p.S * p.U));
  const dim3 block(kWarps * 32);
  const char* name = "sm80_tf32_prenorm_gemm_wide_kernel";
  if (fp32_weights) {
    if (vector_path)
      launch(name, sm80_tf32_prenorm_gemm_wide_kernel<MT, true, true>, grid, block, 0, stream, pdl, p);
    else
      launch(name, sm80_tf32_prenorm_gemm_wide_kernel<MT, true, false>, grid, block, 0, stream, pdl, p);
  } else {
    if (vector_path)
      launch(name, sm80_tf32_prenorm_gemm_wide_kernel<MT, false, true>, grid, block, 0, stream, pdl, p);
    else
      launch(name, sm80_tf32_prenorm_gemm_wide_kernel<MT, false, false>, grid, block, 0, stream, pdl, p);
  }
}

// False (nothing launched) when the device cannot give the kernel its shared memory.
template <int MT, bool kFp32Weights>
bool launch_staged_as(const PrenormGemmParams& p, const DeviceInfo& dev, void* stream, bool pdl) {
  return staging::launch_ring<kWideTokens, kWarps * 32>("sm80_tf32_prenorm_gemm_staged_kernel",
                                                        sm80_tf32_prenorm_gemm_staged_kernel<MT, kFp32Weights>,
                                                        StagedLayout<MT, kFp32Weights>::kBytes, p, dev, stream, pdl);
}

template <int MT>
void launch_mix_tiles(const PrenormGemmParams& p, int token_tiles, bool fp32_weights, bool vector_path,
                      const DeviceInfo& dev, void* stream, bool pdl, GemmKernel kernel) {
  if (token_tiles == kWideTokens / 8) {
    if (vector_path && kernel == GemmKernel::kAuto &&
        (fp32_weights ? launch_staged_as<MT, true>(p, dev, stream, pdl) : launch_staged_as<MT, false>(p, dev, stream, pdl)))
      return;
    launch_wide<MT>(p, fp32_weights, vector_path, stream, pdl);
  }
  else if (token_tiles == 1)
    launch_shape<MT, 1>(p, fp32_weights, vector_path, stream, pdl);
  else if (MT <= 2 && token_tiles == 4)
    launch_shape<MT, (MT <= 2 ? 4 : 2)>(p, fp32_weights, vector_path, stream, pdl);
  else
    launch_shape<MT, 2>(p, fp32_weights, vector_path, stream, pdl);
}

__global__ void sm80_split_reduce_kernel(const SplitReduceParams p) {
  pdl_launch_dependents();
  pdl_wait();
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t total = p.T * p.N;
  if (i < total) {
    const int64_t t = i / p.N, j = i % p.N;
    float v = 0.0f;
    for (int s = 0; s < p.S; ++s) v += p.D[s * p.d_split_stride + t * p.N + j];
    p.D_out[i] = v;
  } else if (i < total + p.T) {
    const int64_t t = i - total;
    float v = 0.0f;
    for (int s = 0; s < p.S; ++s) v += p.Q[s * p.q_split_stride + t];
    p.Q_out[t] = v;
  }
}

}  // namespace

PrenormGemmShape prenorm_gemm_shape(int N, int64_t T, GemmKernel kernel) {
  const int mix_tiles = (N + 15) / 16;
  if (kernel != GemmKernel::kNarrow && T >= kWideMinTokens) return {mix_tiles, kWideTokens / 8};
  // Up to 64 tokens, 16-token CTAs: decode-size grids (S slots x a few token CTAs) have fewer CTAs
  // than SMs, so twice the CTAs of 32-token ones (the same bits: a token's MMA column and folds
  // do not depend on its CTA's width).
  const int token_tiles = T <= 8 ? 1 : (mix_tiles <= 2 && T > 64 ? 4 : 2);
  return {mix_tiles, token_tiles};
}

void launch_prenorm_gemm(const PrenormGemmParams& p, bool fp32_weights, bool vector_path, const DeviceInfo& dev,
                         void* stream, bool pdl, GemmKernel kernel) {
  if (kernel == GemmKernel::kBf16) {
    if (vector_path && launch_prenorm_gemm_bf16(p, fp32_weights, dev, stream, pdl)) return;
    kernel = GemmKernel::kAuto;
  }
  const PrenormGemmShape shape = prenorm_gemm_shape(p.N, p.T, kernel);
  switch (shape.mix_tiles) {
    case 1: return launch_mix_tiles<1>(p, shape.token_tiles, fp32_weights, vector_path, dev, stream, pdl, kernel);
    case 2: return launch_mix_tiles<2>(p, shape.token_tiles, fp32_weights, vector_path, dev, stream, pdl, kernel);
    case 3: return launch_mix_tiles<3>(p, shape.token_tiles, fp32_weights, vector_path, dev, stream, pdl, kernel);
    case 4: return launch_mix_tiles<4>(p, shape.token_tiles, fp32_weights, vector_path, dev, stream, pdl, kernel);
    case kMaxMixTiles: return launch_mix_tiles<kMaxMixTiles>(p, shape.token_tiles, fp32_weights, vector_path, dev, stream, pdl, kernel);
    default: fail(MHC_STATUS_INTERNAL, "prenorm GEMM: N = {} exceeds {} mixes", p.N, kMaxMixTiles * 16);
  }
}

void launch_split_reduce(const SplitReduceParams& p, void* stream, bool pdl) {
  const int64_t items = p.T * p.N + p.T;
  launch("sm80_split_reduce_kernel", sm80_split_reduce_kernel, dim3(ceil_div_u(items, 256)), dim3(256), 0, stream, pdl,
         p);
}

}  // namespace mhc::cuda
