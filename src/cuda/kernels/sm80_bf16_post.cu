#include <type_traits>

#include "../launch.cuh"
#include "sm80_bf16_post.cuh"

namespace mhc::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kVec = 8;
constexpr int kMaxN = 8;

// grid.x = column block, grid.y = token (x fastest so neighbouring CTAs share a token's coeffs).
// The sum is formed in fp64 in the reference's order (each fp32 x bf16 product is exact in fp64)
// and rounded once to bf16: the new residual is bit-identical to the fp64 host reference, so
// every consumer of the rounded H (the boundary's mix and collapse) reads the same values.
// kN = n: coefficients live in registers (vector loads where n allows), activations are loaded
// before them so a CTA costs one memory round trip.
template <int kN>
__device__ __forceinline__ void load_coeffs(const float* post, const float* comb, float (&pc)[kN], float (&cc)[kN * kN]) {
  ldg_floats<kN>(post, pc);
  ldg_floats<kN * kN>(comb, cc);
}

template <bool kVector, int kN>
__global__ void __launch_bounds__(kThreads) sm80_bf16_post_kernel(const PostParams p) {
  const int64_t t = blockIdx.y;
  const uint16_t* x_tok = p.X + t * p.C;
  const uint16_t* r_tok = p.R + t * kN * p.C;
  uint16_t* o_tok = p.out + t * kN * p.C;
  float pc[kN], cc[kN * kN];
  if (kVector) {
    const int64_t x = (static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x) * kVec;
    if (x >= p.C) return;
    const uint4 xw = __ldg(reinterpret_cast<const uint4*>(x_tok + x));
    uint4 rw[kN];
#pragma unroll
    for (int j = 0; j < kN; ++j) rw[j] = __ldg(reinterpret_cast<const uint4*>(r_tok + j * p.C + x));
    load_coeffs<kN>(p.post + t * kN, p.comb + t * kN * kN, pc, cc);
    float xv[kVec], rv[kN][kVec];
    {
      const uint32_t w[4] = {xw.x, xw.y, xw.z, xw.w};
#pragma unroll
      for (int e = 0; e < 4; ++e) xv[2 * e] = bf16_lo(w[e]), xv[2 * e + 1] = bf16_hi(w[e]);
    }
#pragma unroll
    for (int j = 0; j < kN; ++j) {
      const uint32_t w[4] = {rw[j].x, rw[j].y, rw[j].z, rw[j].w};
#pragma unroll
      for (int e = 0; e < 4; ++e) rv[j][2 * e] = bf16_lo(w[e]), rv[j][2 * e + 1] = bf16_hi(w[e]);
    }
#pragma unroll
    for (int k = 0; k < kN; ++k) {
      uint16_t h[kVec];
#pragma unroll
      for (int e = 0; e < kVec; ++e) {
        double acc = double{pc[k]} * xv[e];
#pragma unroll
        for (int j = 0; j < kN; ++j) acc = fma(double{cc[j * kN + k]}, double{rv[j][e]}, acc);
        h[e] = f64_to_bf16(acc);
      }
      *reinterpret_cast<uint4*>(o_tok + k * p.C + x) = pack_bf16x8(h);
    }
  } else {
    const int64_t x = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
    if (x >= p.C) return;
    const float xv = bf16_to_f32(x_tok[x]);
    float rv[kN];
#pragma unroll
    for (int j = 0; j < kN; ++j) rv[j] = bf16_to_f32(r_tok[j * p.C + x]);
    const float* post = p.post + t * kN;
    const float* comb = p.comb + t * kN * kN;
#pragma unroll
    for (int k = 0; k < kN; ++k) {
      double acc = double{__ldg(post + k)} * xv;
#pragma unroll
      for (int j = 0; j < kN; ++j) acc = fma(double{__ldg(comb + j * kN + k)}, double{rv[j]}, acc);
      o_tok[k * p.C + x] = f64_to_bf16(acc);
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


// ---- backward (A4', A6') -------------------------------------------------------------------------
constexpr int kBwdThreads = 256;
constexpr int kBwdVec = 4;  // 8-byte accesses: 16-byte ones leave the n = 4 kernel short of registers
constexpr unsigned kFull = 0xffffffffu;

// V bf16 values from 8 bytes (V = 4) or one element (V = 1).
template <int V>
__device__ __forceinline__ void load_bf16(const uint16_t* src, float (&v)[V]) {
  if (V == 4) {
    const uint2 w = __ldg(reinterpret_cast<const uint2*>(src));
    v[0] = bf16_lo(w.x), v[1] = bf16_hi(w.x), v[2] = bf16_lo(w.y), v[3] = bf16_hi(w.y);
  } else {
    v[0] = bf16_to_f32(*src);
  }
}

// Stores V gradients formed in fp64, each rounded once (after adding dst's value when accumulating).
template <int V>
__device__ __forceinline__ void store_grad_bf16(uint16_t* dst, const double (&g)[V], bool accumulate) {
  double s[V];
  if (accumulate) {
    float old[V];
    load_bf16<V>(dst, old);
#pragma unroll
    for (int e = 0; e < V; ++e) s[e] = double{old[e]} + g[e];
  } else {
#pragma unroll
    for (int e = 0; e < V; ++e) s[e] = g[e];
  }
  if (V == 4) {
    const uint32_t lo = f64_to_bf16(s[0]) | (uint32_t{f64_to_bf16(s[1])} << 16);
    const uint32_t hi = f64_to_bf16(s[2]) | (uint32_t{f64_to_bf16(s[3])} << 16);
    *reinterpret_cast<uint2*>(dst) = make_uint2(lo, hi);
  } else {
    *dst = f64_to_bf16(s[0]);
  }
}

template <bool kVector, int kN>
__global__ void __launch_bounds__(kBwdThreads, kN <= 4 ? 2 : 1) sm80_bf16_post_backward_kernel(const PostBackwardParams p) {
  constexpr int V = kVector ? kBwdVec : 1;
  constexpr int kSums = kN + kN * kN;  // dpost, then dcomb row-major
  const int64_t t = blockIdx.x;
  const uint16_t* g_tok = p.G + t * kN * p.C;
  const uint16_t* x_tok = p.X + t * p.C;
  const uint16_t* r_tok = p.R + t * kN * p.C;
  // post and comb from shared memory (broadcast reads): registers go to the fp64 sums. Kept as
  // fp64 (exact): the loop's stores may alias shared memory for the compiler, so it reloads them
  // per column group, and a float copy would cost an fp64 conversion per use.
  __shared__ double pc[kN], cc[kN * kN];
  if (threadIdx.x < kN) pc[threadIdx.x] = __ldg(p.post + t * kN + threadIdx.x);
  if (threadIdx.x < kN * kN) cc[threadIdx.x] = __ldg(p.comb + t * kN * kN + threadIdx.x);
  __syncthreads();
  double sums[kSums] = {};
  for (int64_t x = static_cast<int64_t>(threadIdx.x) * V; x < p.C; x += kBwdThreads * V) {
    float gv[kN][V], xv[V], rv[kN][V];
#pragma unroll
    for (int k = 0; k < kN; ++k) load_bf16<V>(g_tok + k * p.C + x, gv[k]);
    load_bf16<V>(x_tok + x, xv);
#pragma unroll
    for (int j = 0; j < kN; ++j) load_bf16<V>(r_tok + j * p.C + x, rv[j]);
    if (p.dX) {
      double d[V];
#pragma unroll
      for (int e = 0; e < V; ++e) {
        d[e] = 0.0;
#pragma unroll
        for (int k = 0; k < kN; ++k) d[e] = fma(pc[k], double{gv[k][e]}, d[e]);
      }
      store_grad_bf16<V>(p.dX + t * p.C + x, d, p.accumulate & MHC_GRAD_ACCUMULATE_LAYER_OUTPUT);
    }
    if (p.dR) {
#pragma unroll
      for (int j = 0; j < kN; ++j) {
        double d[V];
#pragma unroll
        for (int e = 0; e < V; ++e) {
          d[e] = 0.0;
#pragma unroll
          for (int k = 0; k < kN; ++k) d[e] = fma(cc[j * kN + k], double{gv[k][e]}, d[e]);
        }
        store_grad_bf16<V>(p.dR + (t * kN + j) * p.C + x, d, p.accumulate & MHC_GRAD_ACCUMULATE_RESIDUAL);
      }
    }
    // bf16 x bf16 products are exact in fp32: each group's dot in fp32 (4 terms), the groups
    // summed in fp64.
    auto dot = [](const float (&a)[V], const float (&b)[V]) {
      float d = a[0] * b[0];
#pragma unroll
      for (int e = 1; e < V; ++e) d = fmaf(a[e], b[e], d);
      return double{d};
    };
#pragma unroll
    for (int k = 0; k < kN; ++k) sums[k] += dot(gv[k], xv);
#pragma unroll
    for (int j = 0; j < kN; ++j)
#pragma unroll
      for (int k = 0; k < kN; ++k) sums[kN + j * kN + k] += dot(gv[k], rv[j]);
  }

  // Fixed-order reduction: a butterfly in each warp, then the warps in ascending order.
  __shared__ double s_sums[kBwdThreads / 32][kSums];
#pragma unroll
  for (int i = 0; i < kSums; ++i) {
#pragma unroll
    for (int o = 16; o >= 1; o /= 2) sums[i] += __shfl_xor_sync(kFull, sums[i], o);
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0)
#pragma unroll
    for (int i = 0; i < kSums; ++i) s_sums[warp][i] = sums[i];
  __syncthreads();
  for (int i = threadIdx.x; i < kSums; i += kBwdThreads) {
    double v = s_sums[0][i];
    for (int w = 1; w < kBwdThreads / 32; ++w) v += s_sums[w][i];
    const bool is_post = i < kN;
    float* dst = is_post ? p.dpost : p.dcomb;
    if (dst == nullptr) continue;
    dst += is_post ? t * kN + i : t * kN * kN + (i - kN);
    const uint32_t bit = is_post ? MHC_GRAD_ACCUMULATE_POST_MIX : MHC_GRAD_ACCUMULATE_COMB_MIX;
    *dst = __double2float_rn((p.accumulate & bit) ? double{*dst} + v : v);
  }
}

template <bool kVector>
__global__ void __launch_bounds__(kThreads) sm80_bf16_expand_backward_kernel(const ExpandBackwardParams p) {
  constexpr int V = kVector ? kBwdVec : 1;
  const int64_t t = blockIdx.y;
  const int64_t x = (static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x) * V;
  if (x >= p.C) return;
  double s[V] = {};
  for (int i = 0; i < p.n; ++i) {
    float g[V];
    load_bf16<V>(p.G + (t * p.n + i) * p.C + x, g);
#pragma unroll
    for (int e = 0; e < V; ++e) s[e] += double{g[e]};
  }
  store_grad_bf16<V>(p.dE + t * p.C + x, s, p.accumulate);
}

// f(std::integral_constant<int, n>): the kernels take n as a template argument.
template <typename F>
void with_streams(int n, const char* what, F&& f) {
  switch (n) {
    case 1: return f(std::integral_constant<int, 1>{});
    case 2: return f(std::integral_constant<int, 2>{});
    case 3: return f(std::integral_constant<int, 3>{});
    case 4: return f(std::integral_constant<int, 4>{});
    case 5: return f(std::integral_constant<int, 5>{});
    case 6: return f(std::integral_constant<int, 6>{});
    case 7: return f(std::integral_constant<int, 7>{});
    case kMaxN: return f(std::integral_constant<int, kMaxN>{});
    default: fail(MHC_STATUS_INTERNAL, "{}: n = {} exceeds {}", what, n, kMaxN);
  }
}

// f(t0, tokens) over chunks of at most 65535 tokens: the kernels put tokens on grid.y.
template <typename F>
void for_token_chunks(int64_t T, F&& f) {
  constexpr int64_t kMaxY = 65535;
  for (int64_t t0 = 0; t0 < T; t0 += kMaxY) f(t0, T - t0 < kMaxY ? T - t0 : kMaxY);
}

// grid.x: the CTAs across C of a column kernel of kThreads threads, `vec` columns each.
unsigned column_blocks(int64_t C, int vec) { return ceil_div_u(C, int64_t{kThreads} * vec); }

}  // namespace

void launch_post(const PostParams& p, bool vector_path, void* stream) {
  with_streams(p.n, "post", [&](auto n) {
    constexpr int kN = decltype(n)::value;
    for_token_chunks(p.T, [&](int64_t t0, int64_t tokens) {
      PostParams s = p;
      s.T = tokens;
      s.X += t0 * p.C, s.R += t0 * p.n * p.C, s.post += t0 * p.n, s.comb += t0 * p.n * p.n, s.out += t0 * p.n * p.C;
      const dim3 grid(column_blocks(p.C, vector_path ? kVec : 1), static_cast<unsigned>(tokens));
      if (vector_path)
        launch("sm80_bf16_post_kernel", sm80_bf16_post_kernel<true, kN>, grid, dim3(kThreads), 0, stream, false, s);
      else
        launch("sm80_bf16_post_kernel", sm80_bf16_post_kernel<false, kN>, grid, dim3(kThreads), 0, stream, false, s);
    });
  });
}

void launch_expand(const ExpandParams& p, bool vector_path, void* stream) {
  for_token_chunks(p.T, [&](int64_t t0, int64_t tokens) {
    ExpandParams s = p;
    s.T = tokens;
    s.E += t0 * p.C, s.out += t0 * p.n * p.C;
    const dim3 grid(column_blocks(p.C, vector_path ? kVec : 1), static_cast<unsigned>(tokens));
    if (vector_path)
      launch("sm80_bf16_expand_kernel", sm80_bf16_expand_kernel<true>, grid, dim3(kThreads), 0, stream, false, s);
    else
      launch("sm80_bf16_expand_kernel", sm80_bf16_expand_kernel<false>, grid, dim3(kThreads), 0, stream, false, s);
  });
}

void launch_post_backward(const PostBackwardParams& p, bool vector_path, void* stream) {
  if (p.T <= 0) return;
  with_streams(p.n, "post backward", [&](auto n) {
    constexpr int kN = decltype(n)::value;
    const dim3 grid(static_cast<unsigned>(p.T));
    if (vector_path)
      launch("sm80_bf16_post_backward_kernel", sm80_bf16_post_backward_kernel<true, kN>, grid, dim3(kBwdThreads), 0,
             stream, false, p);
    else
      launch("sm80_bf16_post_backward_kernel", sm80_bf16_post_backward_kernel<false, kN>, grid, dim3(kBwdThreads), 0,
             stream, false, p);
  });
}

void launch_expand_backward(const ExpandBackwardParams& p, bool vector_path, void* stream) {
  for_token_chunks(p.T, [&](int64_t t0, int64_t tokens) {
    ExpandBackwardParams s = p;
    s.T = tokens;
    s.G += t0 * p.n * p.C, s.dE += t0 * p.C;
    const dim3 grid(column_blocks(p.C, vector_path ? kBwdVec : 1), static_cast<unsigned>(tokens));
    if (vector_path)
      launch("sm80_bf16_expand_backward_kernel", sm80_bf16_expand_backward_kernel<true>, grid, dim3(kThreads), 0,
             stream, false, s);
    else
      launch("sm80_bf16_expand_backward_kernel", sm80_bf16_expand_backward_kernel<false>, grid, dim3(kThreads), 0,
             stream, false, s);
  });
}

}  // namespace mhc::cuda
