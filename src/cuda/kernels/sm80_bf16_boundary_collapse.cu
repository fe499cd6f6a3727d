#include "../fp64_bits.cuh"
#include "../launch.cuh"
#include "sm80_bf16_boundary_collapse.cuh"

namespace mhc::cuda {
namespace {

constexpr int kThreads = 256, kWarps = kThreads / 32;
constexpr int kVec = 8;    // bf16 per 16-byte access
constexpr int kBatch = 3;  // column vectors a thread loads before using the first (bytes in flight)
constexpr int kMaxN = 8;

__device__ __forceinline__ void unpack8(uint4 v, float (&f)[8]) {
  const uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
  for (int e = 0; e < 4; ++e) f[2 * e] = bf16_lo(w[e]), f[2 * e + 1] = bf16_hi(w[e]);
}

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

// u (packed bf16) for the 8 columns at x of token t from (Y, H_prev), with the hardware's
// conversions: the fallback of collapse8_bits below (the common case). Out of line, and it reloads
// its inputs, so that the caller's registers never need an address.
template <int kN>
__device__ __noinline__ uint4 collapse8(const uint16_t* Y, const uint16_t* H_prev, const float* post_,
                                        const float* comb, const float* pre_, uint16_t* H, int64_t C, int64_t t,
                                        int64_t x) {
  float y[8], h[kN][8], q[kN], c[kN * kN], pre[kN];
  unpack8(*reinterpret_cast<const uint4*>(Y + t * C + x), y);
#pragma unroll
  for (int j = 0; j < kN; ++j) unpack8(*reinterpret_cast<const uint4*>(H_prev + (t * kN + j) * C + x), h[j]);
#pragma unroll
  for (int k = 0; k < kN; ++k) q[k] = post_[t * kN + k], pre[k] = pre_[t * kN + k];
#pragma unroll
  for (int j = 0; j < kN * kN; ++j) c[j] = comb[t * kN * kN + j];
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
    if (H)
      *reinterpret_cast<uint4*>(H + (t * kN + k) * C + x) =
          uint4{hb[0] | (uint32_t{hb[1]} << 16), hb[2] | (uint32_t{hb[3]} << 16), hb[4] | (uint32_t{hb[5]} << 16),
                hb[6] | (uint32_t{hb[7]} << 16)};
  }
  uint16_t ub[8];
#pragma unroll
  for (int e = 0; e < 8; ++e) ub[e] = f64_to_bf16(acc_u[e]);
  return uint4{ub[0] | (uint32_t{ub[1]} << 16), ub[2] | (uint32_t{ub[3]} << 16), ub[4] | (uint32_t{ub[5]} << 16),
               ub[6] | (uint32_t{ub[7]} << 16)};
}

// ---- the post path by bits -------------------------------------------------------------------
// 64-bit conversions issue at a quarter of the fp64 FMA rate, and collapse8 converts ~(3n + 2) values
// per column. Here bf16 -> fp64 and fp64 -> bf16 go by integer operations (fp64_bits.cuh) for
// zero and normal values, the coefficients are converted once per token, and every special case
// (a subnormal, inf or NaN input, a result outside bf16's normal range) sends the whole 8-column
// vector to collapse8: the same bits either way, with no branch inside the unrolled loops.

// Bit 16 * h of the word (h = 0, 1): the bf16 of half h.
__device__ __forceinline__ uint32_t bf16_half(const uint4& v, int e) {
  const uint32_t w = e / 2 == 0 ? v.x : e / 2 == 1 ? v.y : e / 2 == 2 ? v.z : v.w;
  return e % 2 == 0 ? w & 0xffffu : w >> 16;
}
// Zero or normal bf16 -> fp64, exactly (anything else: the caller took the other path).
__device__ __forceinline__ double bf16_to_f64_plain(uint32_t b) {
  const uint32_t sign = (b & 0x8000u) << 16, e = (b >> 7) & 0xffu;
  return __hiloint2double(static_cast<int>(e == 0u ? sign : sign | ((e + 896u) << 20) | ((b & 0x7fu) << 13)), 0);
}
// Whether both bf16 of w are zero or normal (no subnormal, inf or NaN).
__device__ __forceinline__ bool bf16x2_plain(uint32_t w) {
  const uint32_t e0 = (w >> 7) & 0xffu, e1 = (w >> 23) & 0xffu;
  const bool sub0 = e0 == 0u && (w & 0x7fu) != 0u, sub1 = e1 == 0u && (w & 0x7f0000u) != 0u;
  return e0 != 0xffu && e1 != 0xffu && !sub0 && !sub1;
}
__device__ __forceinline__ bool bf16x8_plain(const uint4& v) {
  return bf16x2_plain(v.x) & bf16x2_plain(v.y) & bf16x2_plain(v.z) & bf16x2_plain(v.w);
}

// The token's coefficients in fp64 (post q, comb c, pre), converted once per CTA.
template <int kN>
struct CollapseCoeffs {
  double q[kN], c[kN * kN], pre[kN];
};

// collapse8's post path where every input is zero or normal; false (nothing written) when some
// rounding leaves bf16's normal range: the caller then runs collapse8.
template <int kN>
__device__ __forceinline__ bool collapse8_bits(const CollapseParams& p, int64_t t, int64_t x, const uint4& yv,
                                               const uint4 (&hv)[kN], const CollapseCoeffs<kN>& k_,
                                               float (&u)[8]) {
  uint32_t hw[kN][4] = {};
  bool ok = true;
#pragma unroll
  for (int e = 0; e < 8; ++e) {
    const double y = bf16_to_f64_plain(bf16_half(yv, e));
    double h[kN];
#pragma unroll
    for (int j = 0; j < kN; ++j) h[j] = bf16_to_f64_plain(bf16_half(hv[j], e));
    double acc_u = 0.0;
#pragma unroll
    for (int k = 0; k < kN; ++k) {
      double a = k_.q[k] * y;
#pragma unroll
      for (int j = 0; j < kN; ++j) a = fma(k_.c[j * kN + k], h[j], a);
      const int32_t r = bits::f64_to_bf16_normal(a);
      const uint32_t hb = static_cast<uint32_t>(r) & 0xffffu;
      ok &= r >= 0 && ((hb >> 7) & 0xffu) != 0xffu;  // a carry to inf is not plain for the next step
      hw[k][e / 2] |= hb << (16 * (e % 2));
      acc_u = fma(k_.pre[k], bf16_to_f64_plain(hb), acc_u);  // the ROUNDED H
    }
    const int32_t ru = bits::f64_to_bf16_normal(acc_u);
    ok &= ru >= 0;
    u[e] = __uint_as_float((static_cast<uint32_t>(ru) & 0xffffu) << 16);
  }
  if (!ok) return false;
  if (p.H)
#pragma unroll
    for (int k = 0; k < kN; ++k)
      *reinterpret_cast<uint4*>(p.H + (t * kN + k) * p.C + x) = uint4{hw[k][0], hw[k][1], hw[k][2], hw[k][3]};
  return true;
}

template <bool kVector, int kN, bool kPost>
__global__ void __launch_bounds__(kThreads) sm80_bf16_boundary_collapse_kernel(const CollapseParams p) {
  __shared__ float s_warp[kWarps];
  __shared__ CollapseCoeffs<kN> s_k;
  const int64_t t = blockIdx.x;
  float q[kN], c[kN * kN], pre[kN];
  if (kPost) {
#pragma unroll
    for (int k = 0; k < kN; ++k) q[k] = __ldg(p.post + t * kN + k), pre[k] = __ldg(p.pre + t * kN + k);
#pragma unroll
    for (int j = 0; j < kN * kN; ++j) c[j] = __ldg(p.comb + t * kN * kN + j);
    for (int i = threadIdx.x; i < kN * (kN + 2); i += kThreads) {
      if (i < kN)
        s_k.q[i] = f32_to_f64(__ldg(p.post + t * kN + i));
      else if (i < 2 * kN)
        s_k.pre[i - kN] = f32_to_f64(__ldg(p.pre + t * kN + i - kN));
      else
        s_k.c[i - 2 * kN] = f32_to_f64(__ldg(p.comb + t * kN * kN + i - 2 * kN));
    }
    __syncthreads();
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
        if (!kPost) {
          unpack8(yv[b], u);
        } else {
          bool plain = bf16x8_plain(yv[b]);
#pragma unroll
          for (int j = 0; j < kN; ++j) plain &= bf16x8_plain(hv[b][j]);
          if (!plain || !collapse8_bits<kN>(p, t, x, yv[b], hv[b], s_k, u))
            unpack8(collapse8<kN>(p.Y, p.H_prev, p.post, p.comb, p.pre, p.H, p.C, t, x), u);
        }
        const uint4 o = {pack_bf16(u[0], u[1]), pack_bf16(u[2], u[3]), pack_bf16(u[4], u[5]), pack_bf16(u[6], u[7])};
        float r[8];
        unpack8(o, r);
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
      unpack8(*reinterpret_cast<const uint4*>(u_row + x), u);
      unpack8(__ldg(reinterpret_cast<const uint4*>(p.norm_w + x)), w);
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
