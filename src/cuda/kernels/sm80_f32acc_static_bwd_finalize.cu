// Family B backward, the finalize: the parameters' gradients from the row (or tile) kernel's
// partials, in fp64. CTA 0: each coefficient entry summed over the partials (lanes over L1 groups,
// a fixed butterfly), dh_pre and dh_post through the sigmoids, and dh_res through the guarded
// Sinkhorn in reverse: the forward recomputed from h_res as the host does it (before waiting for
// the row kernel), every step's result and 1/s per line recorded (shared memory when small, else
// the workspace), then each step reversed, last first; one thread per line sum, one per element.
// CTAs 1..: dw, 32 columns each, their partials folded in ascending order.
//
// Speed: every fold is a chain of dependent fp64 adds, so the loads feeding it are issued in
// batches (registers, or cp.async chunks in shared memory for dw) rather than one per add; a
// dependent load per add (L2 or DRAM latency) made the finalize cost hundreds of microseconds at
// B = 8192 (512 partials per column) and tens at B = 320. The order of the adds is unchanged.
#include <algorithm>

#include "../cp_async.cuh"
#include "../launch.cuh"
#include "sm80_f32acc_static_bwd.cuh"

namespace mhc::cuda::static_bwd {
namespace {

// The host's shift threshold (src/host/static_coeffs.cpp): exp overflows fp64 above ~709.78.
constexpr double kExpShiftAbove = 700.0;
constexpr int kBatch = 16;     // loads in flight per fold step (registers)
constexpr int kDwCols = 32;    // dw: columns per CTA (a warp's coalesced 256 bytes per partial)
constexpr int kDwChunk = 32;   // dw: partials per cp.async chunk (two chunks: 16 KiB; with CTA 0's
                               // static arrays below the 48 KiB that needs no opt-in)
constexpr int kDwSmem = 2 * kDwChunk * kDwCols * 8;
// Coefficient entries at or above this many, over L1 partials (the tile kernel's): one thread per
// entry (the warp's order emulated) instead of one warp per entry.
constexpr int kThreadPerEntry = 64;

__device__ __forceinline__ void store_param_grad(float* dst, double g, int accumulate) {
  *dst = __double2float_rn(accumulate ? __dadd_rn(static_cast<double>(*dst), g) : g);
}

// An L1 group's value: the left fold of its partials [b0, b1), loads kBatch at a time.
__device__ __forceinline__ double fold_group(const double* parts, int64_t b0, int64_t b1, int64_t stride, int64_t e) {
  double v = 0.0;
  for (int64_t s = b0; s < b1; s += kBatch) {
    double x[kBatch];
#pragma unroll
    for (int u = 0; u < kBatch; ++u) x[u] = s + u < b1 ? parts[(s + u) * stride + e] : 0.0;
#pragma unroll
    for (int u = 0; u < kBatch; ++u)
      if (s + u < b1) v = s + u == b0 ? x[u] : __dadd_rn(v, x[u]);
  }
  return v;
}

// Entry e summed over `count` partials: lane l folds the L1 groups l, l + 32, ... in ascending
// order, then an xor butterfly over the warp (every lane gets the same value). Whole warp.
__device__ double sum_entry(const double* parts, int64_t count, int group, int64_t stride, int64_t e) {
  const int lane = threadIdx.x & 31;
  const int64_t groups = (count + group - 1) / group;
  double v = 0.0;
  if (group == 1) {  // L1 partials: the lane's kBatch next ones in flight at once
    for (int64_t q0 = lane; q0 < groups; q0 += 32 * kBatch) {
      double x[kBatch];
#pragma unroll
      for (int u = 0; u < kBatch; ++u) x[u] = q0 + 32 * u < groups ? parts[(q0 + 32 * u) * stride + e] : 0.0;
#pragma unroll
      for (int u = 0; u < kBatch; ++u)
        if (q0 + 32 * u < groups) v = q0 + 32 * u == lane ? x[u] : __dadd_rn(v, x[u]);
    }
  } else {
    for (int64_t q = lane; q < groups; q += 32) {
      const int64_t b0 = q * group, b1 = b0 + group < count ? b0 + group : count;
      const double l1 = fold_group(parts, b0, b1, stride, e);
      v = q == lane ? l1 : __dadd_rn(v, l1);
    }
  }
  for (int o = 16; o > 0; o >>= 1) v = __dadd_rn(v, __shfl_xor_sync(kFull, v, o));
  return v;
}

// The same value as sum_entry over L1 partials (group 1), by one thread: the 32 lanes' folds side
// by side (their loads independent, so in flight together; consecutive entries are consecutive
// addresses across the CTA's threads), then the butterfly's tree (lane 0's adds: commutative, so
// every lane's value).
__device__ double sum_entry_thread(const double* parts, int64_t count, int64_t stride, int64_t e) {
  double v[32];
  const int first = count < 32 ? static_cast<int>(count) : 32;
#pragma unroll
  for (int l = 0; l < 32; ++l) v[l] = l < first ? parts[l * stride + e] : 0.0;
  for (int64_t r = 32; r < count; r += 32) {
    const int m = count - r < 32 ? static_cast<int>(count - r) : 32;
    double x[32];
#pragma unroll
    for (int l = 0; l < 32; ++l) x[l] = l < m ? parts[(r + l) * stride + e] : 0.0;
#pragma unroll
    for (int l = 0; l < 32; ++l) v[l] = l < m ? __dadd_rn(v[l], x[l]) : v[l];
  }
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
#pragma unroll
    for (int l = 0; l < 16; ++l)
      if (l < o) v[l] = __dadd_rn(v[l], v[l + o]);
  return v[0];
}

// The Sinkhorn's record: per step (row step, column step, ... 2 iters of them) the matrix after
// the step [n * n] and, per line, 1/s where the step normalized the line (s its sum) or 0 where
// the guard left it; then M0 = exp(h_res) [n * n] (slot 2 iters). In shared memory when it fits.
__host__ __device__ constexpr int64_t record_stride(int n) { return int64_t{n} * n + n; }

// M = exp(h_res) (a row whose max is above 700: exp(h - max)), then `iters` times the row step and
// the column step, each line divided by its sum where the sum is > eps (a shifted row: always, in
// its first row step): the host's operations in the host's order. Thread a (< n) sums line a (a
// left fold, as the host), then every thread divides its elements (k = tid, tid + 256, ...): one
// division per element and step in parallel instead of n per line in sequence. Whole CTA.
__device__ void sinkhorn_forward(const FinalizeParams& p, double (*m)[33], double* line_s, int* line_f, double* rec) {
  const int tid = threadIdx.x;
  const int n = p.n;
  const int nn = n * n;
  const int64_t stride = record_stride(n);
  __shared__ int shifted[32];
  if (tid < n) {
    const int a = tid;
    float mx = p.h_res[a * n];
    for (int j = 1; j < n; ++j) mx = mx < p.h_res[a * n + j] ? p.h_res[a * n + j] : mx;  // std::max_element
    shifted[a] = static_cast<double>(mx) > kExpShiftAbove;
    const double shift = shifted[a] ? static_cast<double>(mx) : 0.0;
    for (int j = 0; j < n; ++j) {
      m[a][j] = exp(__dsub_rn(static_cast<double>(p.h_res[a * n + j]), shift));
      rec[2 * int64_t{p.iters} * stride + a * n + j] = m[a][j];
    }
  }
  __syncthreads();
  for (int it = 0; it < p.iters; ++it)
    for (int cols = 0; cols < 2; ++cols) {
      double* r = rec + (2 * int64_t{it} + cols) * stride;
      if (tid < n) {
        const int a = tid;
        double s = 0.0;
        for (int b = 0; b < n; ++b) s = __dadd_rn(s, cols ? m[b][a] : m[a][b]);
        const bool scaled = s > p.eps || (!cols && it == 0 && shifted[a]);
        line_s[a] = s;
        line_f[a] = scaled;
        r[nn + a] = scaled ? __ddiv_rn(1.0, s) : 0.0;
      }
      __syncthreads();
      for (int k = tid; k < nn; k += kThreads) {
        const int i = k / n, j = k % n, l = cols ? j : i;
        if (line_f[l]) m[i][j] = __ddiv_rn(m[i][j], line_s[l]);
        r[k] = m[i][j];
      }
      __syncthreads();
    }
}

// g [n, n] = dL/dM in, dL/dh out: every step reversed, last first (a normalized line Y = X / s,
// the record's matrix, gives dX = (dY - sum_line(dY * Y)) / s, here times the record's 1/s; a line
// the guard left passes dY through), then exp: dh = dM0 * M0. Thread a (< n) forms line a's dot
// (a left fold), then every thread updates its elements. Whole CTA; with warp_reverse and n <= 5 (n x n <= 32
// elements, all of them and every line on warp 0 anyway): warp 0 alone with warp barriers, the same
// threads doing the same operations, the other warps waiting at the final block barrier.
__device__ void sinkhorn_reverse(const FinalizeParams& p, double (*g)[33], double* line_s, const double* rec) {
  const int tid = threadIdx.x;
  const int n = p.n;
  const int nn = n * n;
  const int64_t stride = record_stride(n);
  const bool one_warp = p.warp_reverse && nn <= 32;
  auto sync = [one_warp] {
    if (one_warp) __syncwarp();
    else __syncthreads();
  };
  if (!one_warp || tid < 32) {
    for (int step = 2 * p.iters - 1; step >= 0; --step) {
      const int cols = step & 1;
      const double* r = rec + int64_t{step} * stride;
      if (tid < n) {
        const int a = tid;
        double dot = 0.0;
        if (r[nn + a] != 0.0)
          for (int b = 0; b < n; ++b)
            dot = __dadd_rn(dot, __dmul_rn(cols ? g[b][a] : g[a][b], r[cols ? b * n + a : a * n + b]));
        line_s[a] = dot;
      }
      sync();
      for (int k = tid; k < nn; k += kThreads) {
        const int i = k / n, j = k % n, l = cols ? j : i;
        const double inv = r[nn + l];
        if (inv != 0.0) g[i][j] = __dmul_rn(__dsub_rn(g[i][j], line_s[l]), inv);
      }
      sync();
    }
    const double* m0 = rec + 2 * int64_t{p.iters} * stride;
    for (int k = tid; k < nn; k += kThreads) g[k / n][k % n] = __dmul_rn(g[k / n][k % n], m0[k]);
  }
  __syncthreads();
}

// dw's columns [c0, c0 + 32): chunks of kDwChunk partials copied (cp.async, 8 warps, a partial's
// 32 columns per warp load) while warp 0 folds the previous chunk, one lane per column, in
// ascending order: L1 = the left fold of a group of dw_group partials, dw = the left fold of the
// L1 values.
__device__ void dw_columns(const FinalizeParams& p, int64_t c0, double* buf) {
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int64_t c = c0 + lane;
  const bool col = c < p.C;
  const int64_t count = p.dw_count, group = p.dw_group;
  const int64_t chunks = (count + kDwChunk - 1) / kDwChunk;
  auto issue = [&](int64_t k) {
    double* dst = buf + (k & 1) * kDwChunk * kDwCols;
    for (int r = warp; r < kDwChunk; r += kWarps) {
      const int64_t b = k * kDwChunk + r;
      if (b < count && col) cp_async_small<8>(dst + r * kDwCols + lane, p.dw_parts + b * p.C + c);
    }
    cp_async_commit();
  };
  double v = 0.0, l1 = 0.0;
  issue(0);
  for (int64_t k = 0; k < chunks; ++k) {
    if (k + 1 < chunks) {
      issue(k + 1);
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    if (warp == 0 && col) {
      const double* src = buf + (k & 1) * kDwChunk * kDwCols;
      const int64_t rows = count - k * kDwChunk < kDwChunk ? count - k * kDwChunk : kDwChunk;
#pragma unroll 8
      for (int r = 0; r < rows; ++r) {
        const int64_t b = k * kDwChunk + r;
        const double x = src[r * kDwCols + lane];
        const int64_t pos = b % group;
        l1 = pos == 0 ? x : __dadd_rn(l1, x);
        if (pos == group - 1 || b == count - 1) v = b < group ? l1 : __dadd_rn(v, l1);
      }
    }
    __syncthreads();
  }
  if (warp == 0 && col) store_param_grad(p.dw + c, v, p.acc_w);
}

__global__ void __launch_bounds__(kThreads) static_bwd_finalize_kernel(const FinalizeParams p) {
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int n = p.n;
  extern __shared__ __align__(16) double dyn_smem[];
  if (blockIdx.x > 0) {  // dw
    pdl_wait();
    dw_columns(p, (int64_t{blockIdx.x} - 1) * kDwCols, dyn_smem);
    return;
  }
  __shared__ double m[32][33];
  __shared__ double tot[32 * 32 + 2 * 32];
  __shared__ double line_s[32];
  __shared__ int line_f[32];
  double* rec = p.record_in_smem ? dyn_smem : p.trace;
  // The Sinkhorn's forward reads only h_res, which the kernels before the row kernel wrote (every
  // CTA of the kernels of this run waited for them before letting this one launch): it runs
  // before the wait, overlapping the row kernel.
  if (p.post) sinkhorn_forward(p, m, line_s, line_f, rec);
  pdl_wait();
  const int E = entries(n);
  const int e_lo = p.pre ? 0 : n, e_hi = p.post ? E : n;
  if (e_hi - e_lo >= kThreadPerEntry && p.coef_group == 1) {
    for (int e = e_lo + tid; e < e_hi; e += kThreads) tot[e] = sum_entry_thread(p.coef_parts, p.coef_count, E, e);
  } else {
    for (int e = e_lo + warp; e < e_hi; e += kWarps) {
      const double v = sum_entry(p.coef_parts, p.coef_count, p.coef_group, E, e);
      if (lane == 0) tot[e] = v;
    }
  }
  __syncthreads();
  if (tid < n) {
    if (p.pre) {  // d sigmoid = s (1 - s)
      const double s = 1.0 / (1.0 + exp(-static_cast<double>(p.h_pre[tid])));
      store_param_grad(p.dh_pre + tid, __dmul_rn(__dmul_rn(tot[tid], s), 1.0 - s), p.acc_pre);
    }
    if (p.post) {  // s_post = 2 sigmoid: d/dh = s_post (1 - s_post / 2)
      const double s = 2.0 * (1.0 / (1.0 + exp(-static_cast<double>(p.h_post[tid]))));
      store_param_grad(p.dh_post + tid, __dmul_rn(__dmul_rn(tot[n + tid], s), 1.0 - s / 2.0), p.acc_post);
    }
  }
  if (p.post) {
    const int nn = n * n;
    for (int k = tid; k < nn; k += kThreads) m[k / n][k % n] = tot[2 * n + k];
    __syncthreads();
    sinkhorn_reverse(p, m, line_s, rec);
    for (int k = tid; k < nn; k += kThreads) store_param_grad(p.dh_res + k, m[k / n][k % n], p.acc_res);
  }
}

}  // namespace

int64_t finalize_record_bytes(int n, int iters) { return (2 * int64_t{iters} + 1) * record_stride(n) * 8; }

void launch_static_bwd_finalize(FinalizeParams p, void* stream, bool pdl) {
  const int64_t dw_ctas = p.pre ? (p.C + kDwCols - 1) / kDwCols : 0;
  const int64_t bytes = p.post ? finalize_record_bytes(p.n, p.iters) : 0;
  p.record_in_smem = p.post && bytes <= kFinalizeRecordSmem;
  // Dynamic shared memory: CTA 0's record, or CTAs 1..'s dw chunks (at most 30 KiB: no opt-in).
  const int64_t smem = std::max<int64_t>(p.record_in_smem ? bytes : 0, p.pre ? kDwSmem : 0);
  launch("sm80_static_bwd_finalize", static_bwd_finalize_kernel, dim3(static_cast<unsigned>(1 + dw_ctas)),
         dim3(kThreads), static_cast<size_t>(smem), stream, pdl, p);
}

}  // namespace mhc::cuda::static_bwd
