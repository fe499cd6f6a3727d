#include "../launch.cuh"
#include "sm80_bf16_boundary_collapse.cuh"

namespace mhc::cuda {
namespace {

constexpr int kThreads = 256, kWarps = kThreads / 32;
constexpr int kVec = 8;    // bf16 per 16-byte access
constexpr int kBatch = 3;  // column vectors a thread loads before using the first (bytes in flight)
constexpr int kMaxN = 8;

// Sum over the CTA in a fixed order: a butterfly in each warp, then the warps ascending.
__device__ __forceinline__ float block_sum(float v, float* s_warp) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  if (threadIdx.x % 32 == 0) s_warp[threadIdx.x / 32] = v;
  __syncthreads();
  float total = 0.0f;
#pragma unroll
  for (int w = 0; w < kWarps; ++w) total += s_warp[w];
  return total;
}

// u for 8 columns at x: post + collapse from (Y, H_prev), or the stored u.
template <int kN, bool kPost>
__device__ __forceinline__ void collapse8(const CollapseParams& p, int64_t t, int64_t x, const uint4& yv,
                                          const uint4 (&hv)[kN], const float (&q)[kN], const float (&c)[kN * kN],
                                          const float (&pre)[kN], float (&u)[8]) {
  if (!kPost) {
    unpack_bf16x8(yv, u);
    return;
  }
  float y[8], h[kN][8];
  unpack_bf16x8(yv, y);
#pragma unroll
  for (int j = 0; j < kN; ++j) unpack_bf16x8(hv[j], h[j]);
  double acc_u[8] = {};
#pragma unroll
  for (int k = 0; k < kN; ++k) {
    uint16_t hb[8];
#pragma unroll
    for (int e = 0; e < 8; ++e) {
      double a = double{q[k]} * y[e];
#pragma unroll
      for (int j = 0; j < kN; ++j) a = fma(double{c[j * kN + k]}, double{h[j][e]}, a);
      hb[e] = f64_to_bf16(a);
      acc_u[e] = fma(double{pre[k]}, double{bf16_to_f32(hb[e])}, acc_u[e]);  // the ROUNDED H
    }
    if (p.H)
      *reinterpret_cast<uint4*>(p.H + (t * kN + k) * p.C + x) = pack_bf16x8(hb);
  }
#pragma unroll
  for (int e = 0; e < 8; ++e) u[e] = bf16_to_f32(f64_to_bf16(acc_u[e]));
}

template <bool kVector, int kN, bool kPost>
__global__ void __launch_bounds__(kThreads) sm80_bf16_boundary_collapse_kernel(const CollapseParams p) {
  __shared__ float s_warp[kWarps];
  const int64_t t = blockIdx.x;
  float q[kN], c[kN * kN], pre[kN];
  if (kPost) {
#pragma unroll
    for (int k = 0; k < kN; ++k) q[k] = __ldg(p.post + t * kN + k), pre[k] = __ldg(p.pre + t * kN + k);
#pragma unroll
    for (int j = 0; j < kN * kN; ++j) c[j] = __ldg(p.comb + t * kN * kN + j);
  }
  uint16_t* out = p.out + t * p.C;
  float ss = 0.0f;
  if (kVector) {
    const int64_t vecs = p.C / kVec;
    for (int64_t v0 = threadIdx.x; v0 < vecs; v0 += int64_t{kThreads} * kBatch) {
      uint4 yv[kBatch], hv[kBatch][kN];
#pragma unroll
      for (int b = 0; b < kBatch; ++b) {
        const int64_t x = (v0 + int64_t{b} * kThreads) * kVec;
        if (x < p.C) {
          yv[b] = __ldg(reinterpret_cast<const uint4*>((kPost ? p.Y : p.src) + t * p.C + x));
          if (kPost)
#pragma unroll
            for (int j = 0; j < kN; ++j) hv[b][j] = __ldg(reinterpret_cast<const uint4*>(p.H_prev + (t * kN + j) * p.C + x));
        }
      }
#pragma unroll
      for (int b = 0; b < kBatch; ++b) {
        const int64_t x = (v0 + int64_t{b} * kThreads) * kVec;
        if (x >= p.C) continue;
        float u[8];  // bf16 values (exact in fp32)
        collapse8<kN, kPost>(p, t, x, yv[b], hv[b], q, c, pre, u);
        const uint4 o = {pack_bf16(u[0], u[1]), pack_bf16(u[2], u[3]), pack_bf16(u[4], u[5]), pack_bf16(u[6], u[7])};
        float r[8];
        unpack_bf16x8(o, r);
#pragma unroll
        for (int e = 0; e < 8; ++e) ss = fmaf(r[e], r[e], ss);
        if (p.norm_w == nullptr || kPost) *reinterpret_cast<uint4*>(out + x) = o;
      }
    }
  } else {
    for (int64_t x = threadIdx.x; x < p.C; x += kThreads) {
      uint16_t ub;
      if (kPost) {
        const double y = bf16_to_f32(p.Y[t * p.C + x]);
        double h[kN], u = 0.0;
#pragma unroll
        for (int j = 0; j < kN; ++j) h[j] = bf16_to_f32(p.H_prev[(t * kN + j) * p.C + x]);
#pragma unroll
        for (int k = 0; k < kN; ++k) {
          double a = double{q[k]} * y;
#pragma unroll
          for (int j = 0; j < kN; ++j) a = fma(double{c[j * kN + k]}, h[j], a);
          const uint16_t hb = f64_to_bf16(a);
          if (p.H) p.H[(t * kN + k) * p.C + x] = hb;
          u = fma(double{pre[k]}, double{bf16_to_f32(hb)}, u);
        }
        ub = f64_to_bf16(u);
      } else {
        ub = p.src[t * p.C + x];
      }
      const float r = bf16_to_f32(ub);
      ss = fmaf(r, r, ss);
      if (p.norm_w == nullptr || kPost) out[x] = ub;
    }
  }
  if (p.norm_w == nullptr) return;
  // RMSNorm over the rounded u: each thread re-reads the columns it wrote (or, without a post,
  // the source it read), so no other thread's writes are involved.
  const float total = block_sum(ss, s_warp);
  const float rs = 1.0f / sqrtf(total / static_cast<float>(p.C) + p.norm_eps);
  const uint16_t* u_row = kPost ? out : p.src + t * p.C;
  if (kVector) {
    for (int64_t x = int64_t{threadIdx.x} * kVec; x < p.C; x += int64_t{kThreads} * kVec) {
      float u[8], w[8], o[8];
      unpack_bf16x8(*reinterpret_cast<const uint4*>(u_row + x), u);
      unpack_bf16x8(__ldg(reinterpret_cast<const uint4*>(p.norm_w + x)), w);
#pragma unroll
      for (int e = 0; e < 8; ++e) o[e] = (u[e] * rs) * (w[e] * p.norm_scale);
      *reinterpret_cast<uint4*>(out + x) =
          uint4{pack_bf16(o[0], o[1]), pack_bf16(o[2], o[3]), pack_bf16(o[4], o[5]), pack_bf16(o[6], o[7])};
    }
  } else {
    for (int64_t x = threadIdx.x; x < p.C; x += kThreads)
      out[x] = f32_to_bf16((bf16_to_f32(u_row[x]) * rs) * (bf16_to_f32(p.norm_w[x]) * p.norm_scale));
  }
}

template <int kN>
void launch_n(const CollapseParams& p, bool vector_path, dim3 grid, void* stream) {
  const char* name = "sm80_bf16_boundary_collapse_kernel";
  const dim3 block(kThreads);
  if (p.Y != nullptr) {
    if (vector_path) return launch(name, sm80_bf16_boundary_collapse_kernel<true, kN, true>, grid, block, 0, stream, false, p);
    return launch(name, sm80_bf16_boundary_collapse_kernel<false, kN, true>, grid, block, 0, stream, false, p);
  }
  if (vector_path) return launch(name, sm80_bf16_boundary_collapse_kernel<true, 1, false>, grid, block, 0, stream, false, p);
  launch(name, sm80_bf16_boundary_collapse_kernel<false, 1, false>, grid, block, 0, stream, false, p);
}

}  // namespace

void launch_boundary_collapse(const CollapseParams& p, bool vector_path, void* stream) {
  if (p.n > kMaxN) fail(MHC_STATUS_INTERNAL, "boundary collapse: n = {} exceeds {}", p.n, kMaxN);
  if (p.T > 2147483647) fail(MHC_STATUS_INTERNAL, "boundary collapse: T = {} exceeds one CTA per token", p.T);
  const dim3 grid(static_cast<unsigned>(p.T));
  if (p.Y == nullptr) return launch_n<1>(p, vector_path, grid, stream);
  switch (p.n) {
    case 1: return launch_n<1>(p, vector_path, grid, stream);
    case 2: return launch_n<2>(p, vector_path, grid, stream);
    case 3: return launch_n<3>(p, vector_path, grid, stream);
    case 4: return launch_n<4>(p, vector_path, grid, stream);
    case 5: return launch_n<5>(p, vector_path, grid, stream);
    case 6: return launch_n<6>(p, vector_path, grid, stream);
    case 7: return launch_n<7>(p, vector_path, grid, stream);
    default: return launch_n<kMaxN>(p, vector_path, grid, stream);
  }
}

}  // namespace mhc::cuda
