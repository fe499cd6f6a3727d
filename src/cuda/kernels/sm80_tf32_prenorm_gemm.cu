#include "../launch.cuh"
#include "sm80_tf32_prenorm_gemm.cuh"

namespace mhc::cuda {
namespace {

constexpr int kWarps = 8;          // the warps of a CTA split the K range (fixed interleave)
constexpr int kChunk = 32;         // k per warp step: each lane loads 8 contiguous k
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

  const uint16_t* a_rows[TN];
  bool a_valid[TN];
#pragma unroll
  for (int tn = 0; tn < TN; ++tn) {
    const int64_t t = t0 + tn * 8 + g;
    a_valid[tn] = t < p.T;
    a_rows[tn] = p.A + (a_valid[tn] ? t : 0) * p.K;
  }
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
#pragma unroll
    for (int tn = 0; tn < TN; ++tn)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const float lo = bf16_lo(a[tn][e]), hi = bf16_hi(a[tn][e]);
        sq[tn] = fmaf(lo, lo, sq[tn]);
        sq[tn] = fmaf(hi, hi, sq[tn]);
      }
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) {
      if (TN != 1) load_tile(mt);
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        uint32_t hi[4] = {tf32_rne(f[mt][0][2 * j]), tf32_rne(f[mt][1][2 * j]), tf32_rne(f[mt][0][2 * j + 1]),
                          tf32_rne(f[mt][1][2 * j + 1])};
        uint32_t lo[4];
        if (kFp32Weights) {
          lo[0] = tf32_rne(f[mt][0][2 * j] - __uint_as_float(hi[0]));
          lo[1] = tf32_rne(f[mt][1][2 * j] - __uint_as_float(hi[1]));
          lo[2] = tf32_rne(f[mt][0][2 * j + 1] - __uint_as_float(hi[2]));
          lo[3] = tf32_rne(f[mt][1][2 * j + 1] - __uint_as_float(hi[3]));
        }
#pragma unroll
        for (int tn = 0; tn < TN; ++tn) {
          const uint32_t b0 = a[tn][j] << 16, b1 = a[tn][j] & 0xffff0000u;
          if (kFp32Weights) mma_tf32_16x8x8(acc[mt][tn], lo, b0, b1);
          mma_tf32_16x8x8(acc[mt][tn], hi, b0, b1);
        }
      }
    }
  }

  // Square-sums: lanes q = 0..3 of a group share a token; fixed butterfly order.
#pragma unroll
  for (int tn = 0; tn < TN; ++tn) {
    sq[tn] += __shfl_xor_sync(0xffffffffu, sq[tn], 1);
    sq[tn] += __shfl_xor_sync(0xffffffffu, sq[tn], 2);
  }

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
void launch_mix_tiles(const PrenormGemmParams& p, int token_tiles, bool fp32_weights, bool vector_path, void* stream,
                      bool pdl) {
  if (token_tiles == 1)
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

PrenormGemmShape prenorm_gemm_shape(int N, int64_t T) {
  const int mix_tiles = (N + 15) / 16;
  int token_tiles = T <= 8 ? 1 : (mix_tiles <= 2 && T > 16 ? 4 : 2);
  return {mix_tiles, token_tiles};
}

void launch_prenorm_gemm(const PrenormGemmParams& p, bool fp32_weights, bool vector_path, void* stream, bool pdl) {
  const PrenormGemmShape shape = prenorm_gemm_shape(p.N, p.T);
  switch (shape.mix_tiles) {
    case 1: return launch_mix_tiles<1>(p, shape.token_tiles, fp32_weights, vector_path, stream, pdl);
    case 2: return launch_mix_tiles<2>(p, shape.token_tiles, fp32_weights, vector_path, stream, pdl);
    case 3: return launch_mix_tiles<3>(p, shape.token_tiles, fp32_weights, vector_path, stream, pdl);
    case 4: return launch_mix_tiles<4>(p, shape.token_tiles, fp32_weights, vector_path, stream, pdl);
    case kMaxMixTiles: return launch_mix_tiles<kMaxMixTiles>(p, shape.token_tiles, fp32_weights, vector_path, stream, pdl);
    default: fail(MHC_STATUS_INTERNAL, "prenorm GEMM: N = {} exceeds {} mixes", p.N, kMaxMixTiles * 16);
  }
}

void launch_split_reduce(const SplitReduceParams& p, void* stream, bool pdl) {
  const int64_t items = p.T * p.N + p.T;
  launch("sm80_split_reduce_kernel", sm80_split_reduce_kernel, dim3(ceil_div_u(items, 256)), dim3(256), 0, stream, pdl,
         p);
}

}  // namespace mhc::cuda
