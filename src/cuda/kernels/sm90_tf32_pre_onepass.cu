#include <algorithm>

#include "../../runtime/device.hpp"
#include "../launch.cuh"
#include "../smem_optin.hpp"
#include "sm80_f32_pre_fuse_block.cuh"
#include "sm80_tf32_prenorm_gemm.cuh"
#include "sm90_tf32_pre_onepass.cuh"

namespace mhc::cuda {
namespace {

constexpr int kWarps = 8, kThreads = kWarps * 32;
constexpr int64_t kStaticSmem = 64;  // the kernel's static shared memory, rounded up
constexpr int kChunk = 32;  // k per warp step: lane (g, q) holds k = 8q .. 8q+7 of its token rows

// fn of one slot in shared memory, tf32-rounded, in MMA fragment order: float4 (chunk ci, mix tile
// nt, half e, lane) holds mix nt*8 + lane/4, k = ci*32 + 8*(lane%4) + 4e .. +3, so a warp reads
// 512 contiguous bytes per half (no bank conflicts).
__device__ __forceinline__ int frag_index(int ci, int nt, int e, int lane, int NT) {
  return ((ci * NT + nt) * 2 + e) * 32 + lane;
}

template <int NT, bool kFp32W>
__device__ void stage_fn(const OnepassParams& p, int64_t k_begin, int64_t k_end, int nck, float4* hi, float4* lo) {
  const int per_row = nck * 8;  // float4 per mix row
  for (int i = threadIdx.x; i < NT * 8 * per_row; i += kThreads) {
    const int r = i / per_row, f4 = i % per_row;  // consecutive threads read consecutive k of a row
    const int64_t k = k_begin + int64_t{f4} * 4;
    float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    // k_begin is a multiple of 64 and k_end of 4 (K % 8 == 0): a float4 is all in or all out.
    if (r < p.N && k < k_end) v = __ldg(reinterpret_cast<const float4*>(p.fn + int64_t{r} * p.K + k));
    const int o = f4 % 8;
    const int idx = frag_index(f4 / 8, r / 8, o % 2, (r % 8) * 4 + o / 2, NT);
    const float4 h = make_float4(__uint_as_float(tf32_rne(v.x)), __uint_as_float(tf32_rne(v.y)),
                                 __uint_as_float(tf32_rne(v.z)), __uint_as_float(tf32_rne(v.w)));
    hi[idx] = h;
    if (kFp32W)
      lo[idx] = make_float4(__uint_as_float(tf32_rne(v.x - h.x)), __uint_as_float(tf32_rne(v.y - h.y)),
                            __uint_as_float(tf32_rne(v.z - h.z)), __uint_as_float(tf32_rne(v.w - h.w)));
  }
}

// D[tok, mix] += R[tok, k] fn[mix, k] over the slot for the MTOK*16 tokens from t0 (tokens are the
// MMA's M, mixes its N), and the square-sums. Warp w takes chunks w, w + 8, ... in ascending order;
// MMA step jj pairs k-slots {2jj, 2jj+1} with the MMA's k {q, q+4} for R and fn alike, so the
// permuted dot product equals the plain one.
template <int NT, int MTOK, bool kFp32W>
__device__ __forceinline__ void gemm_tile(const OnepassParams& p, int64_t t0, int64_t k_begin, int64_t k_end, int nck,
                                          const float4* hi, const float4* lo, float (&acc)[MTOK][NT][4],
                                          float (&sq)[MTOK][2]) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, q = lane % 4;
  const uint16_t* rows[MTOK][2];
  bool valid[MTOK][2];
#pragma unroll
  for (int mt = 0; mt < MTOK; ++mt)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int64_t t = t0 + mt * 16 + h * 8 + g;
      valid[mt][h] = t < p.T;
      rows[mt][h] = p.A + (valid[mt][h] ? t : 0) * p.K;
      sq[mt][h] = 0.0f;
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) acc[mt][nt][2 * h] = acc[mt][nt][2 * h + 1] = 0.0f;
    }
#pragma unroll(MTOK == 1 ? 4 : 2)
  for (int ci = warp; ci < nck; ci += kWarps) {
    const int64_t k = k_begin + int64_t{ci} * kChunk + 8 * q;
    uint32_t a[MTOK][2][4];
#pragma unroll
    for (int mt = 0; mt < MTOK; ++mt)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        if (valid[mt][h] && k < k_end) {
          const uint4 v = __ldg(reinterpret_cast<const uint4*>(rows[mt][h] + k));
          a[mt][h][0] = v.x, a[mt][h][1] = v.y, a[mt][h][2] = v.z, a[mt][h][3] = v.w;
        } else {
          a[mt][h][0] = a[mt][h][1] = a[mt][h][2] = a[mt][h][3] = 0u;
        }
      }
#pragma unroll
    for (int mt = 0; mt < MTOK; ++mt)
#pragma unroll
      for (int h = 0; h < 2; ++h)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const float x0 = bf16_lo(a[mt][h][e]), x1 = bf16_hi(a[mt][h][e]);
          sq[mt][h] = fmaf(x0, x0, sq[mt][h]);
          sq[mt][h] = fmaf(x1, x1, sq[mt][h]);
        }
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
      const float4 h0 = hi[frag_index(ci, nt, 0, lane, NT)], h1 = hi[frag_index(ci, nt, 1, lane, NT)];
      const uint32_t bh[8] = {__float_as_uint(h0.x), __float_as_uint(h0.y), __float_as_uint(h0.z),
                              __float_as_uint(h0.w), __float_as_uint(h1.x), __float_as_uint(h1.y),
                              __float_as_uint(h1.z), __float_as_uint(h1.w)};
      uint32_t bl[8] = {};
      if (kFp32W) {
        const float4 l0 = lo[frag_index(ci, nt, 0, lane, NT)], l1 = lo[frag_index(ci, nt, 1, lane, NT)];
        bl[0] = __float_as_uint(l0.x), bl[1] = __float_as_uint(l0.y), bl[2] = __float_as_uint(l0.z);
        bl[3] = __float_as_uint(l0.w), bl[4] = __float_as_uint(l1.x), bl[5] = __float_as_uint(l1.y);
        bl[6] = __float_as_uint(l1.z), bl[7] = __float_as_uint(l1.w);
      }
#pragma unroll
      for (int jj = 0; jj < 4; ++jj)
#pragma unroll
        for (int mt = 0; mt < MTOK; ++mt) {
          const uint32_t af[4] = {a[mt][0][jj] << 16, a[mt][1][jj] << 16, a[mt][0][jj] & 0xffff0000u,
                                  a[mt][1][jj] & 0xffff0000u};
          if (kFp32W) mma_tf32_16x8x8(acc[mt][nt], af, bl[2 * jj], bl[2 * jj + 1]);  // small terms first
          mma_tf32_16x8x8(acc[mt][nt], af, bh[2 * jj], bh[2 * jj + 1]);
        }
    }
  }
}

template <int NT, int MTOK>
struct Layout {
  static constexpr int kTB = MTOK * 16, kW = NT * 8;
  static constexpr int kRedFloats = kWarps * kTB * kW;  // per-warp tiles, then the partials' stage
  static constexpr int kRedQFloats = kWarps * kTB;
  __host__ __device__ static int fn_float4(int nck) { return nck * NT * 2 * 32; }
};

template <int NT, int MTOK, bool kFp32W, int kN>
__global__ void __launch_bounds__(kThreads, 1) sm90_tf32_pre_onepass_kernel(const OnepassParams p, int nck_max) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  using L = Layout<NT, MTOK>;
  constexpr int kTB = L::kTB, kW = L::kW;
  extern __shared__ float4 smem[];
  float4* hi = smem;
  float4* lo = hi + L::fn_float4(nck_max);
  float* red = reinterpret_cast<float*>(kFp32W ? lo + L::fn_float4(nck_max) : lo);
  float* red_q = red + L::kRedFloats;
  auto& fs = *reinterpret_cast<fuse::BlockSmem<kTB>*>(red_q + L::kRedQFloats);
  __shared__ int s_last;

  const int slots = p.S * p.U, slot = static_cast<int>(blockIdx.x % slots);
  const int64_t per_slot_ctas = gridDim.x / slots, nblocks = (p.T + kTB - 1) / kTB;
  const SlotRange range = slot_k_range(p.G, p.K, p.S, p.U, slot);
  const int64_t k_begin = range.begin, k_end = range.end;
  const int nck = static_cast<int>((k_end - k_begin + kChunk - 1) / kChunk);

  stage_fn<NT, kFp32W>(p, k_begin, k_end, nck, hi, lo);
  __syncthreads();

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, q = lane % 4;
  for (int64_t b = blockIdx.x / slots; b < nblocks; b += per_slot_ctas) {
    const int64_t t0 = b * kTB;
    const int tb = p.T - t0 < kTB ? static_cast<int>(p.T - t0) : kTB;
    float acc[MTOK][NT][4], sq[MTOK][2];
    gemm_tile<NT, MTOK, kFp32W>(p, t0, k_begin, k_end, nck, hi, lo, acc, sq);

    // C fragment: (token g, mixes 2q, 2q+1) and (token g+8, same mixes).
#pragma unroll
    for (int mt = 0; mt < MTOK; ++mt)
#pragma unroll
      for (int nt = 0; nt < NT; ++nt) {
        float* r0 = red + (warp * kTB + mt * 16 + g) * kW + nt * 8 + 2 * q;
        r0[0] = acc[mt][nt][0], r0[1] = acc[mt][nt][1];
        r0[8 * kW] = acc[mt][nt][2], r0[8 * kW + 1] = acc[mt][nt][3];
      }
    // Square-sums: lanes q = 0..3 of a group share a token; fixed butterfly order.
#pragma unroll
    for (int mt = 0; mt < MTOK; ++mt)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        float v = sq[mt][h];
        v += __shfl_xor_sync(0xffffffffu, v, 1);
        v += __shfl_xor_sync(0xffffffffu, v, 2);
        if (q == 0) red_q[warp * kTB + mt * 16 + h * 8 + g] = v;
      }
    __syncthreads();
    // The slot's partials: the warps summed in ascending order.
    for (int i = threadIdx.x; i < tb * p.N; i += kThreads) {
      const int tt = i / p.N, j = i % p.N;
      float v = red[tt * kW + j];
#pragma unroll
      for (int w = 1; w < kWarps; ++w) v += red[(w * kTB + tt) * kW + j];
      p.D[slot * p.d_split_stride + (t0 + tt) * p.N + j] = v;
    }
    for (int tt = threadIdx.x; tt < tb; tt += kThreads) {
      float v = red_q[tt];
#pragma unroll
      for (int w = 1; w < kWarps; ++w) v += red_q[w * kTB + tt];
      p.Q[slot * p.q_split_stride + t0 + tt] = v;
    }
    if (p.mode != OnepassMode::kPartials) {
      // The CTA that takes the block's last ticket finishes it. The ticket only elects the CTA:
      // every value is summed in slot order whoever does it, so the bits do not depend on timing.
      __threadfence();
      __syncthreads();
      if (threadIdx.x == 0) s_last = atomicAdd(p.tickets + b, 1) == slots - 1;
      __syncthreads();
      if (s_last) {
        __threadfence();
        fuse::sum_partials<kTB, kThreads>(p.fuse, t0, tb, fs, red, L::kRedFloats);
        if (p.mode == OnepassMode::kFuse) {
          fuse::block_coeffs<kTB, kThreads>(p.fuse, tb, fs);
          fuse::block_outputs<kN, true, kTB, kThreads, fuse::apply_batch<kN>()>(p.fuse, t0, tb, fs);
        }
      }
    }
    __syncthreads();  // red, red_q and fs are reused by the next block
  }
#endif
}

template <int NT, int MTOK, bool kFp32W, int kN>
void launch_kernel(const OnepassParams& p, size_t smem, int64_t ctas, int nck_max, const DeviceInfo& dev,
                   void* stream) {
  auto* kernel = sm90_tf32_pre_onepass_kernel<NT, MTOK, kFp32W, kN>;
  if (!opt_in_dynamic_smem(reinterpret_cast<const void*>(kernel), smem, dev,
                           "cudaFuncSetAttribute(one-pass pre, dynamic shared memory)"))
    fail(MHC_STATUS_EXECUTION_FAILED_LAUNCH, "the one-pass pre needs {} bytes of shared memory; device {} allows {}",
         smem, dev.ordinal, dev.smem_optin);
  launch("sm90_tf32_pre_onepass_kernel", kernel, dim3(static_cast<unsigned>(ctas)), dim3(kThreads), smem, stream,
         false, p, nck_max);
}

// Mix tiles of 8 (NT) follow from N: n(n+2) for pre and A1, n for the head.
template <int MTOK, bool kFp32W, int kN>
void launch_nt(const OnepassParams& p, size_t smem, int64_t ctas, int nck_max, const DeviceInfo& dev, void* stream) {
  switch ((p.N + 7) / 8) {
    case (kN * (kN + 2) + 7) / 8: return launch_kernel<(kN * (kN + 2) + 7) / 8, MTOK, kFp32W, kN>(p, smem, ctas, nck_max, dev, stream);
    default:
      if ((p.N + 7) / 8 == 1 && (kN * (kN + 2) + 7) / 8 != 1) return launch_kernel<1, MTOK, kFp32W, kN>(p, smem, ctas, nck_max, dev, stream);
      fail(MHC_STATUS_INTERNAL, "one-pass pre: N = {} mixes for n = {}", p.N, kN);
  }
}

template <int MTOK, bool kFp32W>
void launch_n(const OnepassParams& p, int n, size_t smem, int64_t ctas, int nck_max, const DeviceInfo& dev, void* stream) {
  switch (n) {
    case 1: return launch_nt<MTOK, kFp32W, 1>(p, smem, ctas, nck_max, dev, stream);
    case 2: return launch_nt<MTOK, kFp32W, 2>(p, smem, ctas, nck_max, dev, stream);
    case 3: return launch_nt<MTOK, kFp32W, 3>(p, smem, ctas, nck_max, dev, stream);
    case 4: return launch_nt<MTOK, kFp32W, 4>(p, smem, ctas, nck_max, dev, stream);
    case 5: return launch_nt<MTOK, kFp32W, 5>(p, smem, ctas, nck_max, dev, stream);
    case 6: return launch_nt<MTOK, kFp32W, 6>(p, smem, ctas, nck_max, dev, stream);
    case 7: return launch_nt<MTOK, kFp32W, 7>(p, smem, ctas, nck_max, dev, stream);
    case 8: return launch_nt<MTOK, kFp32W, 8>(p, smem, ctas, nck_max, dev, stream);
    default: fail(MHC_STATUS_INTERNAL, "one-pass pre: n = {} exceeds {}", n, fuse::kMaxN);
  }
}

}  // namespace

int onepass_tile_tokens(int64_t plan_tokens) { return plan_tokens >= 2048 ? 32 : 16; }

int64_t onepass_max_slot_k(int64_t G, int S, int U) {
  const int64_t split_granules = (G + S - 1) / S;
  return (split_granules + U - 1) / U * 64;
}

size_t onepass_smem_bytes(int N, int64_t max_slot_k, bool fp32_weights, int tile_tokens) {
  const int64_t nck = (max_slot_k + kChunk - 1) / kChunk;
  const int64_t NT = (N + 7) / 8;
  const int64_t tb = tile_tokens;
  const int64_t fn = nck * NT * 2 * 32 * 16 * (fp32_weights ? 2 : 1);
  const int64_t red = (kWarps * tb * NT * 8 + kWarps * tb) * 4;
  const int64_t blk = tb * (fuse::kMaxMixes + 1) * 4 + tb * fuse::kMaxN * 4;
  return static_cast<size_t>(fn + red + blk + kStaticSmem);
}

int64_t onepass_ctas(int64_t T, int S, int U, int tile_tokens, int sm_count, size_t smem_bytes) {
  constexpr size_t kSmemPerSm = 228 * 1024, kReserved = 1024;
  const int64_t slots = int64_t{S} * U, nblocks = (T + tile_tokens - 1) / tile_tokens;
  const int64_t per_sm = std::max<int64_t>(1, std::min<int64_t>(2, kSmemPerSm / (smem_bytes + kReserved)));
  const int64_t per_slot = std::clamp<int64_t>(sm_count * per_sm / slots, 1, nblocks);
  return slots * per_slot;
}

void launch_onepass(const OnepassParams& p, int n, bool fp32_weights, int tile_tokens, const DeviceInfo& dev,
                    void* stream) {
  const int64_t max_k = onepass_max_slot_k(p.G, p.S, p.U);
  const int nck_max = static_cast<int>((max_k + kChunk - 1) / kChunk);
  const size_t total = onepass_smem_bytes(p.N, max_k, fp32_weights, tile_tokens);
  const int64_t ctas = onepass_ctas(p.T, p.S, p.U, tile_tokens, dev.sm_count, total);
  const size_t smem = total - kStaticSmem;  // dynamic
  if (tile_tokens == 32) {
    if (fp32_weights) return launch_n<2, true>(p, n, smem, ctas, nck_max, dev, stream);
    return launch_n<2, false>(p, n, smem, ctas, nck_max, dev, stream);
  }
  if (fp32_weights) return launch_n<1, true>(p, n, smem, ctas, nck_max, dev, stream);
  return launch_n<1, false>(p, n, smem, ctas, nck_max, dev, stream);
}

}  // namespace mhc::cuda
