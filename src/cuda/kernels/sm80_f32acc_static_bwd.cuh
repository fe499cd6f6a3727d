// Family B backward (B1', B2', B3'; docs/numerics.md "Backward (training): B1', B2', B3'") on
// sm_80+: a persistent row kernel, for n > 4 a tile kernel for the coefficient partials, and a
// one-CTA-row finalize (sm80_f32acc_static_bwd_finalize.cu).
//
// Design (docs/performance_static.md, "Backward"):
// - The row kernel owns a row (token) with `tpr` threads of a CTA of 256, `rpc` rows at a time (a
//   row step), exactly as the forward maps columns to threads (tpr and rpc are functions of C, the
//   dtype and the n bucket alone). Per row: phase 1 (B1', B3') sums y^2 and S = sum dyn w y over
//   the row (a fixed-order row reduction in fp64 gives rms and k = rms^3 S / C); phase 2 writes dx
//   (and B2's dF) in one fixed chain of fp32 roundings, and adds the row's terms of the parameter
//   gradients to per-thread fp32 partials. B1' and B3' keep the row (x and the arriving gradient)
//   in shared memory when it fits (cp.async, one or two buffers), so it is read from DRAM once.
// - The parameters' gradients reduce over rows in an order fixed by (C, dtype, n) alone: the L0
//   partial of a row step (fp64: the threads' fp32 partials in a fixed tree, dw's slots in
//   ascending order), then the L1 partial of 16 consecutive steps (a left fold), then the L1
//   partials in ascending order (the finalize). A CTA either writes each L0 partial (few rows:
//   every step its own unit of work) or folds 16 of them itself and writes the L1 partial (many
//   rows: 16x less partial traffic); the finalize folds L0 partials into L1 ones in the same
//   order, so both give the same bits, independent of B, the grid and the device. No atomics.
// - n > 4 (NB >= 8): the n x n dM and the 2n ds partials do not fit in registers; the row kernel
//   writes dx, dw and (B1', B3') each row's (rms, k), and the tile kernel forms the coefficient
//   partials over blocks of 16 rows from 32-column tiles in shared memory (one thread per entry).
#pragma once

#include <cstdint>

#include "sm80_f32acc_static_hc.cuh"

namespace mhc::cuda::static_bwd {

using static_hc::Act;
using static_hc::kLayer;
using static_hc::kPost;
using static_hc::kPre;

constexpr int kThreads = 256;       // every kernel's CTA
constexpr int kWarps = kThreads / 32;
constexpr int kFold = 16;           // row steps per L1 partial
constexpr int kTileRows = 16;       // rows per partial of the tile kernel (n > 4)
constexpr int kTileCols = 32;       // columns per tile of the tile kernel
constexpr unsigned kFull = 0xffffffffu;

// Elements per group: at most 16 bytes of activations and 16 values per row set, so that x and
// the arriving gradient of a group (2 x NB x group values) stay at 32 registers each at most.
__host__ __device__ constexpr int group_elems(int act_bytes, int nb) {
  return 16 / act_bytes < (nb >= 16 ? 1 : 16 / nb) ? 16 / act_bytes : (nb >= 16 ? 1 : 16 / nb);
}
// Coefficient entries of one partial: ds_pre [n], ds_post [n], dM [n, n] (row-major).
__host__ __device__ constexpr int entries(int n) { return 2 * n + n * n; }
// The register path's entries (NB == 4), padded to the bucket: pre [NB], post [NB], dM [NB, NB].
constexpr int kRegEntries = 2 * 4 + 4 * 4;

// Shared memory of the row kernel, in order: the coefficients (s_pre [NB], s_post [NB], M and its
// transpose [NB, NB], floats), the row reduction's slots (2 x kWarps x 2 doubles), the entry tree
// (NB == 4: kRegEntries x (64 + 8) doubles); then, at offsets the host computes, dw's slot stage
// [rpc][C] (rpc > 1), dw's L1 accumulator [C] (folding CTAs, when it fits) and the row buffers.
__host__ __device__ constexpr int coef_bytes(int nb) { return ((2 * nb + 2 * nb * nb) * 4 + 15) / 16 * 16; }
constexpr int kRowRedBytes = 2 * kWarps * 2 * 8;
__host__ __device__ constexpr int tree_bytes(int nb) { return nb == 4 ? kRegEntries * (64 + 8) * 8 : 0; }
__host__ __device__ constexpr int fixed_bytes(int nb) { return coef_bytes(nb) + kRowRedBytes + tree_bytes(nb); }

struct RowParams {
  const void* x;            // [B, n, C] act: residual streams
  const void* g;            // [B, n, C] act: grad_residual (B2', B3'); [B, C] grad_layer_input (B1')
  const void* f;            // [B, C] act: layer_output F (B2')
  const uint16_t* w;        // [C] bf16 (B1', B3')
  const float* h_pre;       // [n] (B1', B3')
  const float* h_post;      // [n] (B2', B3')
  const float* h_res;       // [n, n] (B2', B3')
  void* dx;                 // [B, n, C] act
  void* df;                 // [B, C] act (B2')
  double* coef_parts;       // NB == 4: [parts][entries(n)]
  double* dw_parts;         // B1', B3': [parts][C]
  double* rk;               // B1', B3' with NB >= 8: [B][2] = (rms, k) per row
  int64_t rows;             // B (the run's)
  int64_t steps;            // ceil(B / rpc)
  int C;
  int n;
  int iters;                // Sinkhorn iterations (M for dx)
  float eps;
  int tpr_log2;             // threads per row = 1 << tpr_log2 (1 .. 256)
  int rpc;                  // rows per step = 256 >> tpr_log2
  int stages;               // resident: row buffers per row slot (1 or 2)
  int copy_bytes;           // resident: cp.async granule 16, 4, or 2 (plain copies)
  int fold;                 // 1: one partial per step; kFold: one per 16 steps
  int acc_dx, acc_df;       // MHC_GRAD_ACCUMULATE_RESIDUAL / _LAYER_OUTPUT set
  int64_t xbuf_bytes;       // resident: one row's x buffer (16-byte multiple)
  int64_t gbuf_bytes;       // resident: one row's gradient buffer (16-byte multiple)
  int64_t off_stage;        // byte offsets in dynamic shared memory (see fixed_bytes)
  int64_t off_acc;          // -1: the fold accumulates dw in its partial row in global memory
  int64_t off_rows;
  int refill_bytes;         // resident, one stage: the streamed refill's granule (16, 8, 4; 0: none)
};

struct TileParams {
  const void* x;
  const void* g;
  const void* f;
  const uint16_t* w;
  const float* h_pre;
  const float* h_post;
  const double* rk;         // B1', B3': (rms, k) per row, from the row kernel
  double* coef_parts;       // [ceil(B / kTileRows)][entries(n)]
  int64_t rows;
  int64_t blocks;           // ceil(B / kTileRows)
  int C;
  int n;
};

struct FinalizeParams {
  const double* coef_parts;  // [coef_count][entries(n)]
  int64_t coef_count;
  int coef_group;            // consecutive partials folded first (kFold: L0 partials; 1: L1)
  const double* dw_parts;    // [dw_count][C]
  int64_t dw_count;
  int dw_group;
  double* trace;             // B2', B3': the Sinkhorn's record (finalize_record_bytes) when not in shared memory
  const float* h_pre;
  const float* h_post;
  const float* h_res;
  float* dh_pre;
  float* dh_post;
  float* dh_res;
  float* dw;
  int64_t C;
  int n;
  int iters;
  double eps;
  int pre, post;             // which parts the op has
  int acc_pre, acc_post, acc_res, acc_w;  // MHC_GRAD_ACCUMULATE_* bits set
  int record_in_smem;        // set by the launch
  int warp_reverse;          // the Sinkhorn reverse on one warp where n x n <= 32
};

// ---- helpers ------------------------------------------------------------------------------------
template <typename T, int W, int NB>
__device__ __forceinline__ void load_rows(const T* base, int64_t stride, int n, float (&v)[NB][W]) {
#pragma unroll
  for (int j = 0; j < NB; ++j)
    if (j < n) Act<T>::template load<W>(base + j * stride, v[j]);
}

// out = round(v) or round(old + v) (the sum in fp32).
template <typename T, int W>
__device__ __forceinline__ void store_grad(T* p, float (&v)[W], bool accumulate) {
  if (accumulate) {
    float old[W];
    Act<T>::template load<W>(p, old);
#pragma unroll
    for (int e = 0; e < W; ++e) v[e] = __fadd_rn(old[e], v[e]);
  }
  Act<T>::template store<W>(p, v);
}

// dyn = sum_i s_post[i] G[i] (a product, then fmaf over i ascending).
template <int NB, int W>
__device__ __forceinline__ void gather_dyn(const float (&G)[NB][W], const float* s_post, int n, float (&d)[W]) {
#pragma unroll
  for (int v = 0; v < W; ++v) d[v] = __fmul_rn(s_post[0], G[0][v]);
#pragma unroll
  for (int i = 1; i < NB; ++i)
    if (i < n) {
      const float s = s_post[i];
#pragma unroll
      for (int v = 0; v < W; ++v) d[v] = fmaf(s, G[i][v], d[v]);
    }
}

// The row's two sums (fp64) over its tpr threads: xor butterfly inside the warp (segments of tpr
// lanes when tpr < 32), then the warp totals in ascending warp order. Every thread of the row gets
// the same values. Called by every thread of the CTA (a barrier when tpr > 32).
__device__ __forceinline__ void row_sum2(double& a, double& b, int tpr_log2, double* slots2, int parity) {
  const int tpr = 1 << tpr_log2;
  const int width = tpr < 32 ? tpr : 32;
  for (int o = width >> 1; o > 0; o >>= 1) {
    a = __dadd_rn(a, __shfl_xor_sync(kFull, a, o));
    b = __dadd_rn(b, __shfl_xor_sync(kFull, b, o));
  }
  if (tpr <= 32) return;
  const int warp = threadIdx.x >> 5;
  double* slots = slots2 + parity * kWarps * 2;
  if ((threadIdx.x & 31) == 0) slots[2 * warp] = a, slots[2 * warp + 1] = b;
  __syncthreads();
  const int wpr = tpr >> 5;
  const int first = (warp / wpr) * wpr;
  a = slots[2 * first];
  b = slots[2 * first + 1];
  for (int k = 1; k < wpr; ++k) a = __dadd_rn(a, slots[2 * (first + k)]), b = __dadd_rn(b, slots[2 * (first + k) + 1]);
}

// Global index of padded register entry t (NB == 4 layout) in entries(n), or -1 (padding).
__device__ __forceinline__ int entry_of(int t, int n) {
  if (t < 4) return t < n ? t : -1;
  if (t < 8) return t - 4 < n ? n + (t - 4) : -1;
  const int i = (t - 8) / 4, j = (t - 8) % 4;
  return i < n && j < n ? 2 * n + i * n + j : -1;
}

// Asynchronous copy of `bytes` (a multiple of the granule) from global to shared memory by the
// row's threads; granule 2: plain element copies (bf16 rows of odd alignment).
__device__ __forceinline__ void copy_async(void* dst, const void* src, int64_t bytes, int granule, int lt, int tpr) {
  char* d = static_cast<char*>(dst);
  const char* s = static_cast<const char*>(src);
  if (granule == 16) {
    for (int64_t k = lt; k < bytes / 16; k += tpr) static_hc::cp_async_16(d + 16 * k, s + 16 * k);
  } else if (granule == 4) {
    for (int64_t k = lt; k < bytes / 4; k += tpr) static_hc::cp_async_4(d + 4 * k, s + 4 * k);
  } else {
    for (int64_t k = lt; k < bytes / 2; k += tpr)
      reinterpret_cast<uint16_t*>(d)[k] = reinterpret_cast<const uint16_t*>(s)[k];
  }
}

// ---- the row kernel -------------------------------------------------------------------------------
// T: float or uint16_t (bf16). NB: n rounded up to 4, 8, 16 or 32. VEC: C % GS == 0 and every
// pointer aligned for GS-element vectors (else element by element: the same bits). RES: the row
// (x and the arriving gradient) is copied to shared memory (B1', B3'; otherwise phase 2 reads it
// from global memory again).
// REFILL (RES, the streamed SKUs): one row buffer refilled group by group (below); its own
// instantiations, so the default kernels keep their code. B1' with it at n <= 8: at most 128
// registers, two CTAs per SM as the default B1' kernel (the refill costs registers).
template <typename T, int MODE, int NB, bool VEC, bool RES, bool REFILL = false>
__global__ void __launch_bounds__(kThreads, REFILL && MODE == kPre && NB <= 8 ? 2 : 1)
    static_bwd_rows_kernel(const RowParams p) {
  constexpr int GS = group_elems(sizeof(T), NB);
  constexpr int W = VEC ? GS : 1;
  constexpr bool kPreM = MODE != kPost;
  constexpr bool kPostM = MODE != kPre;
  constexpr bool kRegCoef = NB == 4;
  // Register entries this op forms: pre [0, 4), post and dM [4, 24).
  constexpr int kE0 = kPreM ? 0 : 4;
  constexpr int kE1 = kPostM ? kRegEntries : 4;
  constexpr bool kNeedX = kPreM || kRegCoef;  // B2' with n > 4 needs only G
  using A = Act<T>;

  extern __shared__ __align__(16) unsigned char smem[];
  float* s_pre = reinterpret_cast<float*>(smem);
  float* s_post = s_pre + NB;
  float* M = s_post + NB;
  float* MT = M + NB * NB;  // MT[j][i] = M[i][j]: dx_j = sum_i M[i][j] G_i
  double* rslots = reinterpret_cast<double*>(smem + coef_bytes(NB));
  double* tree = rslots + 2 * kWarps * 2;  // [kRegEntries][64], then [kRegEntries][8]
  double* tree2 = tree + kRegEntries * 64;
  double* stage = reinterpret_cast<double*>(smem + p.off_stage);
  double* acc_s = p.off_acc >= 0 ? reinterpret_cast<double*>(smem + p.off_acc) : nullptr;

  const int tid = threadIdx.x;
  const int lane = tid & 31, warp = tid >> 5;
  const int tpr_log2 = p.tpr_log2;
  const int tpr = 1 << tpr_log2;
  const int rloc = tid >> tpr_log2;
  const int lt = tid & (tpr - 1);
  const int n = p.n;
  const int64_t C = p.C;
  const int groups = static_cast<int>((C + GS - 1) / GS);
  const int64_t x_elems = int64_t{n} * C;
  const int64_t g_elems = kPostM ? x_elems : C;
  const T* xg = static_cast<const T*>(p.x);
  const T* gg = static_cast<const T*>(p.g);
  const int64_t slot_bytes = p.xbuf_bytes + p.gbuf_bytes;
  unsigned char* slot = smem + p.off_rows + int64_t{rloc} * p.stages * slot_bytes;
  // dw's columns are committed by the threads of row slot 0 (all threads when rpc = 1), each
  // for the columns it owns in every row.
  const bool dw_owner = rloc == 0;

  // The CTA's k-th row step, or -1 after its last. One partial per step: steps bid, bid + grid,
  // ...; folding: units of 16 consecutive steps, units bid, bid + grid, ...
  auto step_of = [&](int64_t k) -> int64_t {
    const int64_t s = p.fold == 1 ? blockIdx.x + k * gridDim.x
                                  : (blockIdx.x + (k / kFold) * int64_t{gridDim.x}) * kFold + k % kFold;
    return s < p.steps ? s : -1;
  };
  auto copy_row = [&](int64_t step, int stg) {
    if (step < 0) return;
    const int64_t row = step * p.rpc + rloc;
    if (row >= p.rows) return;
    unsigned char* dst = slot + stg * slot_bytes;
    copy_async(dst, xg + row * x_elems, x_elems * static_cast<int64_t>(sizeof(T)), p.copy_bytes, lt, tpr);
    copy_async(dst + p.xbuf_bytes, gg + row * g_elems, g_elems * static_cast<int64_t>(sizeof(T)), p.copy_bytes, lt, tpr);
  };
  // The streamed refill (REFILL: the host takes it for one stage where a granule fits,
  // p.refill_bytes): a thread copies exactly the bytes it reads, its groups of every stream of x
  // and of the gradient, one commit per group. So it refills a group with the next row's as soon as
  // phase 2 is done with it, phase 1 waits for its own copies group by group, and the buffer needs
  // no block barrier. The granule divides a group's bytes and every stream's start (the host checks
  // the pointers' alignment and C).
  constexpr bool kRefill = REFILL && RES;
  // Group g of `streams` rows of C elements (x or the gradient) from src to dst; copy_group
  // commits x's and the gradient's together. VEC: the granule is the group's GS x sizeof(T) bytes
  // (the host's alignment checks imply it).
  auto copy_streams = [&](const T* dst, const T* src, int streams, int g) {
    constexpr int kGroupBytes = GS * static_cast<int>(sizeof(T));
    const int64_t c0 = int64_t{g} * GS;
#pragma unroll 1
    for (int j = 0; j < streams; ++j) {
      char* d = reinterpret_cast<char*>(const_cast<T*>(dst + j * C + c0));
      const char* s = reinterpret_cast<const char*>(src + j * C + c0);
      if constexpr (VEC && kGroupBytes >= 4) {
        if constexpr (kGroupBytes == 16) static_hc::cp_async_16(d, s);
        else cp_async_small<kGroupBytes>(d, s);
      } else {
        const int bytes = static_cast<int>((c0 + GS <= C ? GS : C - c0) * static_cast<int64_t>(sizeof(T)));
        const int q = p.refill_bytes;
        for (int b = 0; b < bytes; b += q) {
          if (q == 16) static_hc::cp_async_16(d + b, s + b);
          else if (q == 8) cp_async_small<8>(d + b, s + b);
          else static_hc::cp_async_4(d + b, s + b);
        }
      }
    }
  };
  auto copy_group = [&](const T* xdst, const T* gdst, int64_t row, int g) {
    copy_streams(xdst, xg + row * x_elems, n, g);
    copy_streams(gdst, gg + row * g_elems, kPostM ? n : 1, g);
    cp_async_commit();
  };
  // Commits dw's value of column c for this step (rpc = 1: the row's term; else the slots' sum).
  auto dw_commit = [&](int64_t part, bool first, int64_t c, double v) {
    if (p.fold == 1) {
      p.dw_parts[part * C + c] = v;
    } else {
      double* a = acc_s ? acc_s : p.dw_parts + part * C;
      a[c] = first ? v : __dadd_rn(a[c], v);
    }
  };

  // Everything read here may be written by the previous kernel of the stream.
  pdl_wait();
  if constexpr (RES) {
    if constexpr (kRefill) {
      const int64_t row0 = step_of(0) * p.rpc + rloc;
      const T* xd = reinterpret_cast<const T*>(slot);
      const T* gd = reinterpret_cast<const T*>(slot + p.xbuf_bytes);
      if (row0 < p.rows)
        for (int g = lt; g < groups; g += tpr) copy_group(xd, gd, row0, g);
    } else {
      copy_row(step_of(0), 0);
      cp_async_commit();
    }
  }
  if (tid < 32) {
    static_hc::Params cp{};
    cp.h_pre = p.h_pre, cp.h_post = p.h_post, cp.h_res = p.h_res;
    cp.n = n, cp.iters = p.iters, cp.eps = p.eps;
    static_hc::compute_coefficients<NB, kPreM, kPostM>(cp, s_pre, s_post, M);
  }
  __syncthreads();
  if (kPostM)
    for (int t = tid; t < NB * NB; t += kThreads) MT[(t / NB) * NB + t % NB] = M[(t % NB) * NB + t / NB];
  __syncthreads();
  pdl_launch_dependents();

  double cacc = 0.0;  // NB == 4, folding: entry tid's L1 accumulator
  int parity = 0;
  for (int64_t k = 0;; ++k, parity ^= 1) {
    const int64_t step = step_of(k);
    if (step < 0) break;
    const int64_t row = step * p.rpc + rloc;
    const bool active = row < p.rows;
    const bool first = p.fold == 1 || k % kFold == 0;
    const bool last = p.fold == 1 || k % kFold == kFold - 1 || step + 1 == p.steps;
    const int64_t part = p.fold == 1 ? step : step / kFold;
    const T* xs = xg + (active ? row : 0) * x_elems;
    const T* gs = gg + (active ? row : 0) * g_elems;
    int64_t next_row = -1;  // the refill's row: this slot's row of the next step
    if constexpr (RES) {
      const int stg = p.stages == 2 ? parity : 0;
      if constexpr (kRefill) {
        const int64_t ns = step_of(k + 1);
        if (ns >= 0 && ns * p.rpc + rloc < p.rows) next_row = ns * p.rpc + rloc;
      } else if (p.stages == 2) {
        copy_row(step_of(k + 1), parity ^ 1);
        cp_async_commit();
        cp_async_wait<1>();
        __syncthreads();
      } else {
        cp_async_wait<0>();
        __syncthreads();
      }
      const unsigned char* b = slot + stg * slot_bytes;
      xs = reinterpret_cast<const T*>(b);
      gs = reinterpret_cast<const T*>(b + p.xbuf_bytes);
    }

    // ---- phase 1 (B1', B3'): sum y^2 and S = sum dyn w y; rms and k ----
    double r = 0.0, kk = 0.0;
    float rf = 0.0f, kf = 0.0f;
    if constexpr (kPreM) {
      float sq = 0.0f, S = 0.0f;
      if (active) {
        for (int g = lt; g < groups; g += tpr) {
          // This group's copy has landed: at most this thread's later groups are in flight.
          if constexpr (RES)
            if constexpr (kRefill) cp_async_wait_upto((groups - 1 - g) >> tpr_log2);
#pragma unroll
          for (int s = 0; s < GS / W; ++s) {
            const int64_t c = int64_t{g} * GS + s * W;
            if (!VEC && c >= C) break;
            float xr[NB][W], y[W], dyn[W], wv[W];
            load_rows<T, W, NB>(xs + c, C, n, xr);
            static_hc::aggregate<NB, W>(xr, s_pre, n, y);
            if constexpr (kPostM) {
              float G[NB][W];
              load_rows<T, W, NB>(gs + c, C, n, G);
              gather_dyn<NB, W>(G, s_post, n, dyn);
            } else {
              A::template load<W>(gs + c, dyn);
            }
            static_hc::load_weight<W>(p.w + c, wv);
#pragma unroll
            for (int v = 0; v < W; ++v) {
              sq = fmaf(y[v], y[v], sq);
              S = fmaf(__fmul_rn(dyn[v], wv[v]), y[v], S);
            }
          }
        }
      }
      double a = sq, b = S;
      row_sum2(a, b, tpr_log2, rslots, parity);
      r = 1.0 / sqrt(__dadd_rn(a / static_cast<double>(C), static_cast<double>(p.eps)));
      kk = __dmul_rn(__dmul_rn(__dmul_rn(r, r), r) / static_cast<double>(C), b);
      rf = static_cast<float>(r);
      kf = static_cast<float>(kk);
      if (!kRegCoef && lt == 0 && active) p.rk[2 * row] = r, p.rk[2 * row + 1] = kk;
    }

    // ---- phase 2: dx (dF), the parameters' partials, dw's terms ----
    float ppre[NB], ppost[NB], pdm[NB][NB];
    if constexpr (kRegCoef) {
#pragma unroll
      for (int i = 0; i < NB; ++i) {
        ppre[i] = 0.0f, ppost[i] = 0.0f;
#pragma unroll
        for (int j = 0; j < NB; ++j) pdm[i][j] = 0.0f;
      }
    }
    for (int g = lt; g < groups; g += tpr) {
#pragma unroll
      for (int s = 0; s < GS / W; ++s) {
        const int64_t c = int64_t{g} * GS + s * W;
        if (!VEC && c >= C) break;
        if (!active) {  // dw's slot stage still needs this row's (zero) terms
          if (kPreM && p.rpc > 1)
#pragma unroll
            for (int v = 0; v < W; ++v) stage[rloc * C + c + v] = 0.0;
          continue;
        }
        float xr[NB][W], G[NB][W], dyn[W], y[W], wv[W], dy[W], F[W];
        if constexpr (kNeedX) load_rows<T, W, NB>(xs + c, C, n, xr);
        if constexpr (kPostM) {
          load_rows<T, W, NB>(gs + c, C, n, G);
          gather_dyn<NB, W>(G, s_post, n, dyn);
        } else {
          A::template load<W>(gs + c, dyn);
        }
        if constexpr (kPreM) {
          static_hc::aggregate<NB, W>(xr, s_pre, n, y);
          static_hc::load_weight<W>(p.w + c, wv);
#pragma unroll
          for (int v = 0; v < W; ++v) dy[v] = fmaf(-y[v], kf, __fmul_rn(__fmul_rn(rf, wv[v]), dyn[v]));
        }
        if constexpr (MODE == kLayer) {
#pragma unroll
          for (int v = 0; v < W; ++v) F[v] = __fmul_rn(__fmul_rn(y[v], rf), wv[v]);  // the forward's yn
        } else if constexpr (MODE == kPost && kRegCoef) {
          A::template load<W>(static_cast<const T*>(p.f) + row * C + c, F);
        }
        // dx_j = sum_i M[i][j] G_i (i ascending) + s_pre[j] dy
        T* dxr = static_cast<T*>(p.dx) + row * x_elems + c;
        const float4* MT4 = reinterpret_cast<const float4*>(MT);
        constexpr int kUnrollJ = NB <= 8 ? NB : 1;
#pragma unroll kUnrollJ
        for (int j = 0; j < (NB <= 8 ? NB : n); ++j) {
          if (j < n) {
            float acc[W];
            if constexpr (kPostM) {
#pragma unroll
              for (int v = 0; v < W; ++v) acc[v] = __fmul_rn(MT[j * NB], G[0][v]);
#pragma unroll
              for (int iq = 0; iq < NB / 4; ++iq) {
                const float4 m = MT4[j * (NB / 4) + iq];
                const float mi[4] = {m.x, m.y, m.z, m.w};
#pragma unroll
                for (int q = 0; q < 4; ++q) {
                  const int i = iq * 4 + q;
                  if (i > 0 && i < n) {
#pragma unroll
                    for (int v = 0; v < W; ++v) acc[v] = fmaf(mi[q], G[i][v], acc[v]);
                  }
                }
              }
              if constexpr (kPreM) {
                const float sp = s_pre[j];
#pragma unroll
                for (int v = 0; v < W; ++v) acc[v] = fmaf(sp, dy[v], acc[v]);
              }
            } else {
              const float sp = s_pre[j];
#pragma unroll
              for (int v = 0; v < W; ++v) acc[v] = __fmul_rn(sp, dy[v]);
            }
            store_grad<T, W>(dxr + j * C, acc, p.acc_dx);
          }
        }
        if constexpr (MODE == kPost) store_grad<T, W>(static_cast<T*>(p.df) + row * C + c, dyn, p.acc_df);
        if constexpr (kRegCoef) {
#pragma unroll
          for (int i = 0; i < NB; ++i) {
            if (i < n) {
#pragma unroll
              for (int v = 0; v < W; ++v) {
                if constexpr (kPreM) ppre[i] = fmaf(dy[v], xr[i][v], ppre[i]);
                if constexpr (kPostM) {
                  ppost[i] = fmaf(G[i][v], F[v], ppost[i]);
#pragma unroll
                  for (int j = 0; j < NB; ++j)
                    if (j < n) pdm[i][j] = fmaf(G[i][v], xr[j][v], pdm[i][j]);
                }
              }
            }
          }
        }
        if constexpr (kPreM) {
          // dw's term of this row: dyn y rms (the product in fp32, times rms in fp64)
#pragma unroll
          for (int v = 0; v < W; ++v) {
            const double t = __dmul_rn(static_cast<double>(__fmul_rn(dyn[v], y[v])), r);
            if (p.rpc > 1) stage[rloc * C + c + v] = t;
            else dw_commit(part, first, c + v, t);
          }
        }
      }
      // This thread's last read of group g of this row is above (phase 1 read it before).
      if constexpr (kRefill)
        if (next_row >= 0) copy_group(xs, gs, next_row, g);
    }

    // ---- the step's L0 partials ----
    if constexpr (kPreM) {
      if (p.rpc > 1) {  // dw: the slots' terms in ascending slot order
        __syncthreads();
        if (dw_owner)
          for (int g = lt; g < groups; g += tpr)
            for (int e = 0; e < GS; ++e) {
              const int64_t c = int64_t{g} * GS + e;
              if (c >= C) break;
              double v = stage[c];
              for (int q = 1; q < p.rpc; ++q) v = __dadd_rn(v, stage[q * C + c]);
              dw_commit(part, first, c, v);
            }
        __syncthreads();
      }
      if (last && acc_s != nullptr && p.fold != 1 && dw_owner)
        for (int g = lt; g < groups; g += tpr)
          for (int e = 0; e < GS; ++e) {
            const int64_t c = int64_t{g} * GS + e;
            if (c >= C) break;
            p.dw_parts[part * C + c] = acc_s[c];
          }
    }
    if constexpr (kRegCoef) {
      // Every thread's fp32 partials in fp64: a butterfly over lanes 1, 2, then 64 slots per entry
      // summed 8 by 8 in ascending order, then the 8 sums in ascending order.
      double d[kRegEntries];
#pragma unroll
      for (int e = kE0; e < kE1; ++e) {
        const float v = e < 4 ? ppre[e & 3] : e < 8 ? ppost[(e - 4) & 3] : pdm[((e - 8) & 15) >> 2][(e - 8) & 3];
        d[e] = static_cast<double>(v);
        d[e] = __dadd_rn(d[e], __shfl_xor_sync(kFull, d[e], 1));
        d[e] = __dadd_rn(d[e], __shfl_xor_sync(kFull, d[e], 2));
      }
      if ((lane & 3) == 0)
#pragma unroll
        for (int e = kE0; e < kE1; ++e) tree[e * 64 + warp * 8 + (lane >> 2)] = d[e];
      __syncthreads();
      if (tid >= kE0 * 8 && tid < kE1 * 8) {
        const int e = tid >> 3, q = tid & 7;
        double v = tree[e * 64 + q * 8];
        for (int m = 1; m < 8; ++m) v = __dadd_rn(v, tree[e * 64 + q * 8 + m]);
        tree2[e * 8 + q] = v;
      }
      __syncthreads();
      if (tid >= kE0 && tid < kE1) {
        double v = tree2[tid * 8];
        for (int q = 1; q < 8; ++q) v = __dadd_rn(v, tree2[tid * 8 + q]);
        const int e = entry_of(tid, n);
        const int64_t E = entries(n);
        if (e >= 0) {
          if (p.fold == 1) {
            p.coef_parts[part * E + e] = v;
          } else {
            cacc = first ? v : __dadd_rn(cacc, v);
            if (last) p.coef_parts[part * E + e] = cacc;
          }
        }
      }
    }
    if constexpr (RES && !kRefill) {
      __syncthreads();  // every thread is done with this stage's buffer
      if (p.stages == 1) {
        copy_row(step_of(k + 1), 0);
        cp_async_commit();
      }
    }
  }
}

// ---- the tile kernel (n > 4): coefficient partials over blocks of kTileRows rows ------------------
// Per block: the rows in ascending order, each in tiles of kTileCols columns (ascending); x and the
// arriving gradient of a tile in shared memory (fp32), dy and F per column; each entry (ds_pre[i],
// ds_post[i], dM[i][j]) owned by one thread: the tile's 32 products in an fp32 chain, added to an
// fp64 accumulator. y, dyn, dy and F are the row kernel's chains, rms and k its values.
// Speed (the order above is unchanged): a unit of work is a block and a slice of 256 entries (n = 32:
// five CTAs share a block's tiles, L2 hits, instead of one CTA forming 1088 entries alone), and the
// next tile's loads are in flight (registers) while the current one is formed: at B = 128 there are
// only 8 blocks, each 16 rows x C / 32 tiles long, and a global round trip per tile made it ~3 ms.
template <typename T, int MODE>
__global__ void __launch_bounds__(kThreads) static_bwd_tile_kernel(const TileParams p) {
  constexpr bool kPreM = MODE != kPost;
  constexpr bool kPostM = MODE != kPre;
  constexpr int kLoads = 32 * kTileCols / kThreads;  // tile elements per thread (n <= 32)
  using A = Act<T>;
  __shared__ float xs[32][kTileCols + 1], gs[32][kTileCols + 1];
  __shared__ float dys[kTileCols], Fs[kTileCols], s_pre[32], s_post[32];
  const int tid = threadIdx.x;
  const int n = p.n;
  const int64_t C = p.C;
  const int E = entries(n);
  const T* xg = static_cast<const T*>(p.x);
  const T* gg = static_cast<const T*>(p.g);
  pdl_wait();
  if (tid < n) {  // as compute_coefficients forms them
    if (kPreM) s_pre[tid] = 1.0f / (1.0f + expf(-p.h_pre[tid]));
    if (kPostM) s_post[tid] = 2.0f / (1.0f + expf(-p.h_post[tid]));
  }
  __syncthreads();
  pdl_launch_dependents();
  // The entries this op forms: pre [0, n), post [n, 2n), dM [2n, E).
  const int e_lo = kPreM ? 0 : n, e_hi = kPostM ? E : n;
  const int slices = (e_hi - e_lo + kThreads - 1) / kThreads;
  const int64_t tiles_per_row = (C + kTileCols - 1) / kTileCols;
  for (int64_t unit = blockIdx.x; unit < p.blocks * slices; unit += gridDim.x) {
    const int64_t blk = unit / slices;
    const int e = e_lo + static_cast<int>(unit % slices) * kThreads + tid;
    double acc = 0.0;
    const int64_t row0 = blk * kTileRows;
    const int64_t row_end = row0 + kTileRows < p.rows ? row0 + kTileRows : p.rows;
    const int64_t tiles = (row_end - row0) * tiles_per_row;
    // Tile t's values: x and G (every thread, kLoads each), w, the pre gradient and F (threads < 32).
    float nx[kLoads], ng[kLoads], nw = 0.0f, nd = 0.0f, nf = 0.0f, nr = 0.0f, nk = 0.0f;
    auto fetch = [&](int64_t t) {
      const int64_t row = row0 + t / tiles_per_row, c0 = (t % tiles_per_row) * kTileCols;
      const T* xr = xg + row * n * C;
      const T* gr = gg + row * (kPostM ? n * C : C);
#pragma unroll
      for (int q = 0; q < kLoads; ++q) {
        const int idx = tid + q * kThreads, i = idx / kTileCols;
        const int64_t c = c0 + idx % kTileCols;
        nx[q] = 0.0f, ng[q] = 0.0f;
        if (i < n && c < C) {
          float t1[1];
          A::template load<1>(xr + i * C + c, t1);
          nx[q] = t1[0];
          if constexpr (kPostM) {
            A::template load<1>(gr + i * C + c, t1);
            ng[q] = t1[0];
          }
        }
      }
      if (tid < kTileCols && c0 + tid < C) {
        const int64_t c = c0 + tid;
        float t1[1];
        if constexpr (kPreM) {
          static_hc::load_weight<1>(p.w + c, t1);
          nw = t1[0];
          nr = static_cast<float>(p.rk[2 * row]), nk = static_cast<float>(p.rk[2 * row + 1]);
        }
        if constexpr (!kPostM) {
          A::template load<1>(gr + c, t1);
          nd = t1[0];
        }
        if constexpr (MODE == kPost) {
          A::template load<1>(static_cast<const T*>(p.f) + row * C + c, t1);
          nf = t1[0];
        }
      }
    };
    fetch(0);
    for (int64_t t = 0; t < tiles; ++t) {
      const int64_t c0 = (t % tiles_per_row) * kTileCols;
#pragma unroll
      for (int q = 0; q < kLoads; ++q) {
        const int idx = tid + q * kThreads;
        if (idx / kTileCols < n) xs[idx / kTileCols][idx % kTileCols] = nx[q], gs[idx / kTileCols][idx % kTileCols] = ng[q];
      }
      const float wv = nw, d1 = nd, f1 = nf, rf = nr, kf = nk;
      __syncthreads();
      if (t + 1 < tiles) fetch(t + 1);  // in flight while this tile is formed
      if (tid < kTileCols) {
        const int cc = tid;
        float dy = 0.0f, F = 0.0f;
        if (c0 + cc < C) {
          float y = 0.0f, dyn;
          if constexpr (kPreM) {
            y = __fmul_rn(s_pre[0], xs[0][cc]);
            for (int j = 1; j < n; ++j) y = fmaf(s_pre[j], xs[j][cc], y);
          }
          if constexpr (kPostM) {
            dyn = __fmul_rn(s_post[0], gs[0][cc]);
            for (int i = 1; i < n; ++i) dyn = fmaf(s_post[i], gs[i][cc], dyn);
          } else {
            dyn = d1;
          }
          if constexpr (kPreM) dy = fmaf(-y, kf, __fmul_rn(__fmul_rn(rf, wv), dyn));
          if constexpr (MODE == kLayer) {
            F = __fmul_rn(__fmul_rn(y, rf), wv);
          } else if constexpr (MODE == kPost) {
            F = f1;
          }
        }
        dys[cc] = dy;
        Fs[cc] = F;
      }
      __syncthreads();
      if (e < e_hi) {
        float s;
        if (e < n) {
          s = __fmul_rn(dys[0], xs[e][0]);
          for (int cc = 1; cc < kTileCols; ++cc) s = fmaf(dys[cc], xs[e][cc], s);
        } else if (e < 2 * n) {
          const int i = e - n;
          s = __fmul_rn(gs[i][0], Fs[0]);
          for (int cc = 1; cc < kTileCols; ++cc) s = fmaf(gs[i][cc], Fs[cc], s);
        } else {
          const int i = (e - 2 * n) / n, j = (e - 2 * n) % n;
          s = __fmul_rn(gs[i][0], xs[j][0]);
          for (int cc = 1; cc < kTileCols; ++cc) s = fmaf(gs[i][cc], xs[j][cc], s);
        }
        acc = __dadd_rn(acc, static_cast<double>(s));
      }
      __syncthreads();
    }
    if (e < e_hi) p.coef_parts[blk * E + e] = acc;
  }
}

using RowKernelFn = void (*)(RowParams);
using TileKernelFn = void (*)(TileParams);

template <typename T, int MODE, int NB, bool VEC>
RowKernelFn pick_rows_res(bool res, bool refill) {
  if (!res) return static_bwd_rows_kernel<T, MODE, NB, VEC, false>;
  return refill ? static_bwd_rows_kernel<T, MODE, NB, VEC, true, true> : static_bwd_rows_kernel<T, MODE, NB, VEC, true>;
}
template <typename T, int MODE, int NB>
RowKernelFn pick_rows_variant(bool vec, bool res, bool refill) {
  if constexpr (MODE == kPost) {
    return vec ? static_bwd_rows_kernel<T, MODE, NB, true, false> : static_bwd_rows_kernel<T, MODE, NB, false, false>;
  } else {
    return vec ? pick_rows_res<T, MODE, NB, true>(res, refill) : pick_rows_res<T, MODE, NB, false>(res, refill);
  }
}
template <typename T, int MODE>
RowKernelFn pick_rows_nb(int nb, bool vec, bool res, bool refill) {
  switch (nb) {
    case 4: return pick_rows_variant<T, MODE, 4>(vec, res, refill);
    case 8: return pick_rows_variant<T, MODE, 8>(vec, res, refill);
    case 16: return pick_rows_variant<T, MODE, 16>(vec, res, refill);
    case 32: return pick_rows_variant<T, MODE, 32>(vec, res, refill);
    default: return nullptr;
  }
}
template <typename T>
RowKernelFn pick_rows_kernel(int mode, int nb, bool vec, bool res, bool refill) {
  switch (mode) {
    case kPre: return pick_rows_nb<T, kPre>(nb, vec, res, refill);
    case kPost: return res ? nullptr : pick_rows_nb<T, kPost>(nb, vec, false, false);
    case kLayer: return pick_rows_nb<T, kLayer>(nb, vec, res, refill);
    default: return nullptr;
  }
}
template <typename T>
TileKernelFn pick_tile_kernel(int mode) {
  switch (mode) {
    case kPre: return static_bwd_tile_kernel<T, kPre>;
    case kPost: return static_bwd_tile_kernel<T, kPost>;
    case kLayer: return static_bwd_tile_kernel<T, kLayer>;
    default: return nullptr;
  }
}

// The instantiations (sm80_f32_static_bwd.cu, sm80_bf16_static_bwd.cu); nullptr for a combination
// that does not exist (B2' has no resident variant). `refill`: the streamed refill's kernel (res).
RowKernelFn rows_kernel_f32(int mode, int nb, bool vec, bool res, bool refill);
RowKernelFn rows_kernel_bf16(int mode, int nb, bool vec, bool res, bool refill);
TileKernelFn tile_kernel_f32(int mode);
TileKernelFn tile_kernel_bf16(int mode);

// The finalize (sm80_f32acc_static_bwd_finalize.cu): CTA 0 sums the coefficient partials and runs
// the Sinkhorn's reverse; CTAs 1.. sum dw's partials, 32 columns each.
// The Sinkhorn's record: per step the matrix after it and 1/s per line, then M0 (fp64). In the
// finalize's shared memory up to kFinalizeRecordSmem bytes, else in the workspace (`trace`).
constexpr int64_t kFinalizeRecordSmem = 30 << 10;
int64_t finalize_record_bytes(int n, int iters);
void launch_static_bwd_finalize(FinalizeParams p, void* stream, bool pdl);

}  // namespace mhc::cuda::static_bwd
