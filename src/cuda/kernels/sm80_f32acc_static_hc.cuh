// Family B (static hyper-connections, docs/numerics.md B1-B3) on sm_80+: one persistent row kernel per op.
//
// Design (docs/performance_static.md has the numbers):
// - One pass over the activations. A row (token) is owned by `tpr` threads of one CTA; a CTA owns
//   `rpc` rows at a time and walks the batch with a grid stride (persistent grid). B3 keeps the
//   row's x [n, C] in shared memory (cp.async straight from global, double-buffered where two
//   rows fit), so x is read from DRAM once and out written once; B1 keeps y [C] (fp32) there; B2
//   needs no row state.
// - The coefficients (s_pre, s_post and the n x n Sinkhorn M) are computed once per CTA, not per
//   token, by warp 0 in registers while the first row's copy is in flight. Nothing is kept in the
//   plan and no workspace is used: runs of one plan are reentrant.
// - Deterministic, no atomics, and the same bits whatever the batch size, the grid or the pointer
//   alignment: the row reduction's order is fixed by (C, dtype, n bucket) alone (group_elems,
//   tpr, row_sumsq), and every output element is one fixed chain of fp32 roundings (explicit
//   __fmul_rn / fmaf), the same in B1, B2 and B3.
#pragma once

#include <cstdint>

#include "../cp_async.cuh"
#include "../launch.cuh"

namespace mhc::cuda::static_hc {

enum Mode : int { kPre = 0, kPost = 1, kLayer = 2 };

struct Params {
  const void* x;          // [B, n, C] act: residual streams
  const uint16_t* w;      // [C] bf16: RMSNorm weight (B1, B3)
  const float* h_pre;     // [n] (B1, B3)
  const float* h_post;    // [n] (B2, B3)
  const float* h_res;     // [n, n] (B2, B3)
  const void* f;          // [B, C] act: sublayer output F (B2)
  void* out;              // [B, n, C] act (B2, B3)
  void* out_li;           // [B, C] act: layer input yn (B1)
  float* out_rms;         // [B] fp32 or null (B1)
  int64_t rows;           // B
  int C;
  int n;
  int iters;              // Sinkhorn iterations
  float eps;              // RMS eps and Sinkhorn guard
  int tpr_log2;           // threads per row = 1 << tpr_log2 (1 .. 512)
  int rpc;                // rows per CTA; blockDim.x = rpc << tpr_log2, a multiple of 32
  int stages;             // B3 resident: row buffers per row slot (2: the next row loads meanwhile)
  int copy_bytes;         // B3 resident: global -> shared copy granule: 16, 4 (cp.async) or 2
};

// Elements per group, the unit of the thread <-> column mapping: 16 bytes of activations, fewer
// for large n so that a thread's NB x group values stay at 32 registers. Thread lt of a row owns
// groups lt, lt + tpr, ...: a warp touches consecutive bytes (coalesced, bank-conflict free).
__host__ __device__ constexpr int group_elems(int act_bytes, int nb) {
  return 16 / act_bytes < 32 / nb ? 16 / act_bytes : 32 / nb;
}
// Floats of the coefficient area at the start of dynamic shared memory (16-byte multiple):
// s_pre[NB], s_post[NB], M[NB*NB], reduction slots [2*32].
__host__ __device__ constexpr int coef_floats(int nb) { return ((2 * nb + nb * nb + 64) + 3) / 4 * 4; }
// Bytes of one row's resident buffer: B3 keeps x [n, C] (act), B1 keeps y [C] (fp32).
__host__ __device__ constexpr int64_t row_buffer_bytes(int mode, int act_bytes, int n, int64_t C) {
  const int64_t b = mode == kLayer ? int64_t{n} * C * act_bytes : mode == kPre ? C * 4 : 0;
  return (b + 15) / 16 * 16;
}

// ---- element access -------------------------------------------------------------------------
// Act<T>: T = float (fp32 activations) or uint16_t (bf16 bits). load<W> reads W consecutive
// elements (W * sizeof(T) bytes, aligned to that) as floats; store<W> writes them rounded.
template <typename T>
struct Act;

template <>
struct Act<float> {
  template <int W>
  static __device__ __forceinline__ void load(const float* p, float (&v)[W]) {
    if constexpr (W == 4) {
      const float4 q = *reinterpret_cast<const float4*>(p);
      v[0] = q.x; v[1] = q.y; v[2] = q.z; v[3] = q.w;
    } else if constexpr (W == 2) {
      const float2 q = *reinterpret_cast<const float2*>(p);
      v[0] = q.x; v[1] = q.y;
    } else {
      static_assert(W == 1, "W");
      v[0] = *p;
    }
  }
  template <int W>
  static __device__ __forceinline__ void store(float* p, const float (&v)[W]) {
    if constexpr (W == 4) {
      *reinterpret_cast<float4*>(p) = make_float4(v[0], v[1], v[2], v[3]);
    } else if constexpr (W == 2) {
      *reinterpret_cast<float2*>(p) = make_float2(v[0], v[1]);
    } else {
      static_assert(W == 1, "W");
      *p = v[0];
    }
  }
};

template <>
struct Act<uint16_t> {
  template <int W>
  static __device__ __forceinline__ void load(const uint16_t* p, float (&v)[W]) {
    if constexpr (W == 8) {
      const uint4 q = *reinterpret_cast<const uint4*>(p);
      v[0] = bf16_lo(q.x); v[1] = bf16_hi(q.x); v[2] = bf16_lo(q.y); v[3] = bf16_hi(q.y);
      v[4] = bf16_lo(q.z); v[5] = bf16_hi(q.z); v[6] = bf16_lo(q.w); v[7] = bf16_hi(q.w);
    } else if constexpr (W == 4) {
      const uint2 q = *reinterpret_cast<const uint2*>(p);
      v[0] = bf16_lo(q.x); v[1] = bf16_hi(q.x); v[2] = bf16_lo(q.y); v[3] = bf16_hi(q.y);
    } else if constexpr (W == 2) {
      const uint32_t q = *reinterpret_cast<const uint32_t*>(p);
      v[0] = bf16_lo(q); v[1] = bf16_hi(q);
    } else {
      static_assert(W == 1, "W");
      v[0] = bf16_to_f32(*p);
    }
  }
  template <int W>
  static __device__ __forceinline__ void store(uint16_t* p, const float (&v)[W]) {
    if constexpr (W == 8) {
      *reinterpret_cast<uint4*>(p) =
          make_uint4(pack_bf16(v[0], v[1]), pack_bf16(v[2], v[3]), pack_bf16(v[4], v[5]), pack_bf16(v[6], v[7]));
    } else if constexpr (W == 4) {
      *reinterpret_cast<uint2*>(p) = make_uint2(pack_bf16(v[0], v[1]), pack_bf16(v[2], v[3]));
    } else if constexpr (W == 2) {
      *reinterpret_cast<uint32_t*>(p) = pack_bf16(v[0], v[1]);
    } else {
      static_assert(W == 1, "W");
      *p = f32_to_bf16(v[0]);
    }
  }
};

// The bf16 RMSNorm weight, W elements.
template <int W>
__device__ __forceinline__ void load_weight(const uint16_t* p, float (&v)[W]) {
  Act<uint16_t>::load<W>(p, v);
}

// ---- asynchronous global -> shared copies (sm_80; 16-byte ones from ../cp_async.cuh) -----------
__device__ __forceinline__ void cp_async_16(void* dst, const void* src) { cp_async16(dst, src, 16); }
__device__ __forceinline__ void cp_async_4(void* dst, const void* src) { cp_async_small<4>(dst, src); }
// ---- coefficients: once per CTA, by warp 0, in registers -------------------------------------
// Lane l (< NB) owns column l of M: c[i] = M[i][l]. Row reductions go through a transpose-reduce
// (NB - 1 shuffles; lane l ends with row l's result, each row reduced in one lane, so every lane
// sees the same bits), column reductions stay in the lane (a fixed pairwise tree).
template <int NB, typename Op>
__device__ __forceinline__ float reduce_rows(const float (&c)[NB], Op op) {
  const int lane = threadIdx.x & 31;
  float t[NB];
#pragma unroll
  for (int i = 0; i < NB; ++i) t[i] = c[i];
#pragma unroll
  for (int o = NB / 2; o >= 1; o >>= 1) {
    const bool upper = (lane & o) != 0;
#pragma unroll
    for (int k = 0; k < o; ++k) {
      const float send = upper ? t[k] : t[k + o];
      const float keep = upper ? t[k + o] : t[k];
      t[k] = op(keep, __shfl_xor_sync(0xffffffffu, send, o));
    }
  }
  return t[0];
}

template <int NB>
__device__ __forceinline__ float sum_column(const float (&c)[NB]) {
  float t[NB];
#pragma unroll
  for (int i = 0; i < NB; ++i) t[i] = c[i];
#pragma unroll
  for (int o = NB / 2; o >= 1; o >>= 1)
#pragma unroll
    for (int k = 0; k < o; ++k) t[k] = t[k] + t[k + o];
  return t[0];
}

struct AddOp {
  __device__ float operator()(float a, float b) const { return a + b; }
};
struct MaxOp {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

// expf overflows above ~88.72.
constexpr float kExpShiftAboveF = 80.0f;

// s_pre = sigmoid(h_pre); s_post = 2 sigmoid(h_post); M = Sinkhorn(exp(h_res)) with the
// guard "normalize only if the sum > eps" (docs/numerics.md, B), row step then column step, `iters` times.
// A normalization multiplies by the correctly rounded reciprocal (x 1.0 where the guard skips).
// M[NB][NB] in shared memory is zero outside [n, n]. Called by all 32 lanes of warp 0.
template <int NB, bool kPreCoef, bool kPostCoef>
__device__ void compute_coefficients(const Params& p, float* s_pre, float* s_post, float* M) {
  const int lane = threadIdx.x;
  const int n = p.n;
  if (kPreCoef && lane < NB) s_pre[lane] = lane < n ? 1.0f / (1.0f + expf(-p.h_pre[lane])) : 0.0f;
  if constexpr (kPostCoef) {
    if (lane < NB) s_post[lane] = lane < n ? 2.0f / (1.0f + expf(-p.h_post[lane])) : 0.0f;
    const bool col = lane < n;
    float c[NB];
#pragma unroll
    for (int i = 0; i < NB; ++i) c[i] = (col && i < n) ? p.h_res[i * n + lane] : -INFINITY;
    // exp(h) itself (the guard leaves rows with sum <= eps as they are, so exp(h - rowmax) would
    // differ there); only a row whose exp would overflow fp32 is shifted by its max. Its first
    // guard is then taken on the unshifted sum (log(sum) + max > log(eps)); where that fails, the
    // row is the unshifted exp after all (representable: its sum is <= eps).
    const float rowmax = reduce_rows<NB>(c, MaxOp{});
    const float my_shift = rowmax > kExpShiftAboveF ? rowmax : 0.0f;  // lane i: row i
#pragma unroll
    for (int i = 0; i < NB; ++i) {
      const float shift = __shfl_sync(0xffffffffu, my_shift, i);
      c[i] = (col && i < n) ? expf(c[i] - shift) : 0.0f;
    }
    const float eps = p.eps;
    for (int it = 0; it < p.iters; ++it) {
      const float rs = reduce_rows<NB>(c, AddOp{});
      bool norm = rs > eps;
      int restore = 0;
      if (it == 0 && my_shift != 0.0f) {
        norm = logf(rs) + my_shift > logf(eps);
        restore = !norm;
      }
      const float rmul = norm ? __frcp_rn(rs) : 1.0f;
#pragma unroll
      for (int i = 0; i < NB; ++i) {
        const float mul = __shfl_sync(0xffffffffu, rmul, i);
        if (__shfl_sync(0xffffffffu, restore, i))
          c[i] = (col && i < n) ? expf(p.h_res[i * n + lane]) : 0.0f;
        else
          c[i] = __fmul_rn(c[i], mul);
      }
      const float cs = sum_column<NB>(c);
      const float cmul = cs > eps ? __frcp_rn(cs) : 1.0f;
#pragma unroll
      for (int i = 0; i < NB; ++i) c[i] = __fmul_rn(c[i], cmul);
    }
    if (lane < NB)
#pragma unroll
      for (int i = 0; i < NB; ++i) M[i * NB + lane] = c[i];
  }
}

// ---- per-element math: one fixed chain of roundings, shared by B1, B2 and B3 -----------------
// y = sum_j s_pre[j] x[j] (j ascending, first term a product, then fmaf).
template <int NB, int W>
__device__ __forceinline__ void aggregate(const float (&xr)[NB][W], const float* s_pre, int n, float (&y)[W]) {
#pragma unroll
  for (int v = 0; v < W; ++v) y[v] = __fmul_rn(s_pre[0], xr[0][v]);
#pragma unroll
  for (int j = 1; j < NB; ++j) {
    if (j < n) {
      const float s = s_pre[j];
#pragma unroll
      for (int v = 0; v < W; ++v) y[v] = fmaf(s, xr[j][v], y[v]);
    }
  }
}

// out[i] = s_post[i] F + sum_j M[i][j] x[j] (a product, then fmaf over j ascending); stores row i.
template <typename T, int NB, int W>
__device__ __forceinline__ void mix_store(const float (&xr)[NB][W], const float (&F)[W], const float* s_post,
                                          const float* M, int n, T* out_c, int64_t C) {
  const float4* M4 = reinterpret_cast<const float4*>(M);
  constexpr int kUnrollI = NB <= 8 ? NB : 1;  // n x n fully unrolled only for small n: code size
#pragma unroll kUnrollI
  for (int i = 0; i < (NB <= 8 ? NB : n); ++i) {
    if (i < n) {
      float acc[W];
      const float sp = s_post[i];
#pragma unroll
      for (int v = 0; v < W; ++v) acc[v] = __fmul_rn(sp, F[v]);
#pragma unroll
      for (int jq = 0; jq < NB / 4; ++jq) {
        const float4 m = M4[i * (NB / 4) + jq];
        const float mj[4] = {m.x, m.y, m.z, m.w};
#pragma unroll
        for (int k = 0; k < 4; ++k) {
          if (jq * 4 + k < n) {
#pragma unroll
            for (int v = 0; v < W; ++v) acc[v] = fmaf(mj[k], xr[jq * 4 + k][v], acc[v]);
          }
        }
      }
      Act<T>::template store<W>(out_c + i * C, acc);
    }
  }
}

// The row's sum of squares, reduced over its tpr threads: xor-butterfly inside the warp (segments
// of tpr lanes when tpr < 32), then the warp totals in ascending warp order. Every thread of the
// row gets the same value. `red` holds 2 x 32 slots, used alternately by successive rows.
__device__ __forceinline__ float row_sumsq(float acc, const Params& p, float* red, int parity) {
  const int tpr = 1 << p.tpr_log2;
  const int width = tpr < 32 ? tpr : 32;
  for (int o = width >> 1; o > 0; o >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, o);
  if (tpr <= 32) return acc;
  const int warp = threadIdx.x >> 5;
  float* slots = red + parity * 32;
  if ((threadIdx.x & 31) == 0) slots[warp] = acc;
  __syncthreads();
  const int wpr = tpr >> 5;
  const int first = (warp / wpr) * wpr;
  float s = slots[first];
  for (int k = 1; k < wpr; ++k) s += slots[first + k];
  return s;
}

// ---- the kernel -------------------------------------------------------------------------------
// T: float or uint16_t (bf16). NB: n rounded up to 4, 8, 16 or 32. VEC: C % GS == 0 and every
// pointer aligned for GS-element vectors (else element by element, same order, same bits). RES:
// the row buffer fits in shared memory (B1, B3); otherwise phase 2 reads x from global again.
//
// Phase 1 builds y and the thread's sum of squares (one accumulator, its elements ascending);
// row_sumsq fixes the rest of the order. Phase 2 writes. B3 resident: the row's tpr threads copy
// x [n, C] into a row buffer with cp.async (any thread any granule, then a barrier); with two
// stages the next row's copy is in flight while this row is computed.
template <typename T, int MODE, int NB, bool VEC, bool RES>
__global__ void __launch_bounds__(512) static_rows_kernel(const Params p) {
  constexpr int GS = group_elems(sizeof(T), NB);
  constexpr int W = VEC ? GS : 1;  // elements per access
  constexpr bool kNeedsPre = MODE != kPost;
  constexpr bool kNeedsPost = MODE != kPre;
  constexpr bool kLayerRes = MODE == kLayer && RES;
  // Two groups' global loads in flight where registers allow (B3 resident reads shared memory).
  constexpr int kUnrollG = (NB <= 8 && !kLayerRes) ? 2 : 1;
  using A = Act<T>;

  extern __shared__ __align__(16) float smem[];
  float* s_pre = smem;
  float* s_post = s_pre + NB;
  float* M = s_post + NB;  // offset 2*NB floats: 16-byte aligned (NB % 4 == 0)
  float* red = M + NB * NB;
  unsigned char* rowbuf = reinterpret_cast<unsigned char*>(smem + coef_floats(NB));

  const int tpr_log2 = p.tpr_log2;
  const int tid = threadIdx.x;
  const int rloc = tid >> tpr_log2;
  const int lt = tid & ((1 << tpr_log2) - 1);
  const int tpr = 1 << tpr_log2;
  const int n = p.n;
  const int64_t C = p.C;
  const int groups = static_cast<int>((C + GS - 1) / GS);
  const int64_t row_elems = int64_t{n} * C;
  const int64_t buf_bytes = row_buffer_bytes(MODE, sizeof(T), n, C);
  const T* xg = static_cast<const T*>(p.x);
  // This row slot's buffers: [stages] for B3, one y buffer for B1.
  unsigned char* slot = rowbuf + int64_t{rloc} * (kLayerRes ? p.stages : 1) * buf_bytes;
  float* ys = reinterpret_cast<float*>(slot);
  const int64_t row_step = int64_t{gridDim.x} * p.rpc;

  // Everything read here may be written by the previous kernel of the stream.
  pdl_wait();

  auto copy_row = [&](int64_t row, int stage) {
    if (row >= p.rows) return;
    const char* src = reinterpret_cast<const char*>(xg + row * row_elems);
    char* dst = reinterpret_cast<char*>(slot + stage * buf_bytes);
    const int64_t bytes = row_elems * static_cast<int64_t>(sizeof(T));
    if (p.copy_bytes == 16) {
      for (int64_t k = lt; k < bytes / 16; k += tpr) cp_async_16(dst + 16 * k, src + 16 * k);
    } else if (p.copy_bytes == 4) {
      for (int64_t k = lt; k < bytes / 4; k += tpr) cp_async_4(dst + 4 * k, src + 4 * k);
    } else {
      for (int64_t k = lt; k < row_elems; k += tpr) reinterpret_cast<T*>(dst)[k] = reinterpret_cast<const T*>(src)[k];
    }
  };

  int64_t row = int64_t{blockIdx.x} * p.rpc + rloc;
  if constexpr (kLayerRes) {
    copy_row(row, 0);
    cp_async_commit();
  }
  if (tid < 32) compute_coefficients<NB, kNeedsPre, kNeedsPost>(p, s_pre, s_post, M);
  __syncthreads();
  pdl_launch_dependents();

  int parity = 0;
  for (int64_t base = int64_t{blockIdx.x} * p.rpc; base < p.rows; base += row_step, parity ^= 1) {
    row = base + rloc;
    const bool active = row < p.rows;
    const T* xrow = xg + (active ? row : 0) * row_elems;
    const T* xs = xrow;  // where the phases read x: the row buffer (B3 resident) or global
    if constexpr (kLayerRes) {
      const int stage = p.stages == 2 ? parity : 0;
      if (p.stages == 2) {
        copy_row(row + row_step, parity ^ 1);
        cp_async_commit();
        cp_async_wait<1>();
      } else {
        cp_async_wait<0>();
      }
      __syncthreads();
      xs = reinterpret_cast<const T*>(slot + stage * buf_bytes);
    }
    float rms = 0.0f;

    // ---- phase 1: y and its sum of squares (B1, B3) ----
    if constexpr (kNeedsPre) {
      float acc = 0.0f;
      if (active) {
#pragma unroll kUnrollG
        for (int g = lt; g < groups; g += tpr) {
#pragma unroll
          for (int s = 0; s < GS / W; ++s) {
            const int64_t c = int64_t{g} * GS + s * W;
            if (!VEC && c >= C) break;
            float xr[NB][W];
#pragma unroll
            for (int j = 0; j < NB; ++j)
              if (j < n) A::template load<W>(xs + j * C + c, xr[j]);
            float y[W];
            aggregate<NB, W>(xr, s_pre, n, y);
#pragma unroll
            for (int v = 0; v < W; ++v) acc = fmaf(y[v], y[v], acc);
            if constexpr (MODE == kPre && RES) {
#pragma unroll
              for (int v = 0; v < W; ++v) ys[c + v] = y[v];
            }
          }
        }
      }
      const float total = row_sumsq(acc, p, red, parity);
      rms = 1.0f / sqrtf(total / static_cast<float>(C) + p.eps);
    }

    // ---- phase 2: write ----
    if (active) {
      if constexpr (MODE == kPre) {
        T* out = static_cast<T*>(p.out_li) + row * C;
#pragma unroll kUnrollG
        for (int g = lt; g < groups; g += tpr) {
#pragma unroll
          for (int s = 0; s < GS / W; ++s) {
            const int64_t c = int64_t{g} * GS + s * W;
            if (!VEC && c >= C) break;
            float y[W];
            if constexpr (RES) {
#pragma unroll
              for (int v = 0; v < W; ++v) y[v] = ys[c + v];
            } else {
              float xr[NB][W];
#pragma unroll
              for (int j = 0; j < NB; ++j)
                if (j < n) A::template load<W>(xrow + j * C + c, xr[j]);
              aggregate<NB, W>(xr, s_pre, n, y);
            }
            float wv[W];
            load_weight<W>(p.w + c, wv);
#pragma unroll
            for (int v = 0; v < W; ++v) y[v] = __fmul_rn(__fmul_rn(y[v], rms), wv[v]);
            A::template store<W>(out + c, y);
          }
        }
        if (lt == 0 && p.out_rms != nullptr) p.out_rms[row] = rms;
      } else {
        T* out = static_cast<T*>(p.out) + row * row_elems;
        const T* frow = static_cast<const T*>(p.f) + row * C;
#pragma unroll kUnrollG
        for (int g = lt; g < groups; g += tpr) {
#pragma unroll
          for (int s = 0; s < GS / W; ++s) {
            const int64_t c = int64_t{g} * GS + s * W;
            if (!VEC && c >= C) break;
            float xr[NB][W];
#pragma unroll
            for (int j = 0; j < NB; ++j)
              if (j < n) A::template load<W>(xs + j * C + c, xr[j]);
            float F[W];
            if constexpr (MODE == kPost) {
              A::template load<W>(frow + c, F);
            } else {
              aggregate<NB, W>(xr, s_pre, n, F);
              float wv[W];
              load_weight<W>(p.w + c, wv);
#pragma unroll
              for (int v = 0; v < W; ++v) F[v] = __fmul_rn(__fmul_rn(F[v], rms), wv[v]);
            }
            mix_store<T, NB, W>(xr, F, s_post, M, n, out + c, C);
          }
        }
      }
    }
    if constexpr (kLayerRes) {
      __syncthreads();  // every thread is done with this stage's buffer
      if (p.stages == 1) {
        copy_row(row + row_step, 0);
        cp_async_commit();
      }
    }
  }
}

using KernelFn = void (*)(Params);

// Every variant of one activation type, looked up at run time (one .cu file per type).
template <typename T, int MODE, int NB>
KernelFn pick_variant(bool vec, bool res) {
  if constexpr (MODE == kPost) {
    return vec ? static_rows_kernel<T, MODE, NB, true, false> : static_rows_kernel<T, MODE, NB, false, false>;
  } else {
    if (vec) return res ? static_rows_kernel<T, MODE, NB, true, true> : static_rows_kernel<T, MODE, NB, true, false>;
    return res ? static_rows_kernel<T, MODE, NB, false, true> : static_rows_kernel<T, MODE, NB, false, false>;
  }
}
template <typename T, int MODE>
KernelFn pick_nb(int nb, bool vec, bool res) {
  switch (nb) {
    case 4: return pick_variant<T, MODE, 4>(vec, res);
    case 8: return pick_variant<T, MODE, 8>(vec, res);
    case 16: return pick_variant<T, MODE, 16>(vec, res);
    case 32: return pick_variant<T, MODE, 32>(vec, res);
    default: return nullptr;
  }
}
template <typename T>
KernelFn pick_kernel(int mode, int nb, bool vec, bool res) {
  switch (mode) {
    case kPre: return pick_nb<T, kPre>(nb, vec, res);
    case kPost: return res ? nullptr : pick_nb<T, kPost>(nb, vec, false);
    case kLayer: return pick_nb<T, kLayer>(nb, vec, res);
    default: return nullptr;
  }
}

// The instantiation for one configuration (sm80_f32_static_hc.cu, sm80_bf16_static_hc.cu);
// nullptr for a combination that does not exist (B2 has no resident variant).
KernelFn static_kernel_f32(int mode, int nb, bool vec, bool res);
KernelFn static_kernel_bf16(int mode, int nb, bool vec, bool res);

}  // namespace mhc::cuda::static_hc
