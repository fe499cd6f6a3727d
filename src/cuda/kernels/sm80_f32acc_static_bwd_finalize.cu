// Family B backward, the finalize: the parameters' gradients from the row (or tile) kernel's
// partials, in fp64. CTA 0: each coefficient entry summed over the partials (lanes over L1 groups,
// a fixed butterfly), dh_pre and dh_post through the sigmoids, and dh_res through the guarded
// Sinkhorn in reverse on one warp: the forward recomputed from h_res as the host does it (before
// waiting for the row kernel), every step's result and 1/s per line recorded (shared memory when
// small, else the workspace), then each step reversed, last first. CTAs 1..: dw, one column per
// thread, its partials folded in ascending order.
#include "../launch.cuh"
#include "sm80_f32acc_static_bwd.cuh"

namespace mhc::cuda::static_bwd {
namespace {

// The host's shift threshold (src/host/static_coeffs.cpp): exp overflows fp64 above ~709.78.
constexpr double kExpShiftAbove = 700.0;

__device__ __forceinline__ void store_param_grad(float* dst, double g, int accumulate) {
  *dst = __double2float_rn(accumulate ? __dadd_rn(static_cast<double>(*dst), g) : g);
}

// An L1 group's value: the left fold of its partials [b0, b1).
__device__ __forceinline__ double fold_group(const double* parts, int64_t b0, int64_t b1, int64_t stride, int64_t e) {
  double v = parts[b0 * stride + e];
  for (int64_t b = b0 + 1; b < b1; ++b) v = __dadd_rn(v, parts[b * stride + e]);
  return v;
}

// Entry e summed over `count` partials: lane l folds the L1 groups l, l + 32, ... in ascending
// order, then an xor butterfly over the warp (every lane gets the same value). Whole warp.
__device__ double sum_entry(const double* parts, int64_t count, int group, int64_t stride, int64_t e) {
  const int lane = threadIdx.x & 31;
  const int64_t groups = (count + group - 1) / group;
  double v = 0.0;
  for (int64_t q = lane; q < groups; q += 32) {
    const int64_t b0 = q * group, b1 = b0 + group < count ? b0 + group : count;
    const double l1 = fold_group(parts, b0, b1, stride, e);
    v = q == lane ? l1 : __dadd_rn(v, l1);
  }
  for (int o = 16; o > 0; o >>= 1) v = __dadd_rn(v, __shfl_xor_sync(kFull, v, o));
  return v;
}

// The Sinkhorn's record: per step (row step, column step, ... 2 iters of them) the matrix after
// the step [n * n] and, per line, 1/s where the step normalized the line (s its sum) or 0 where
// the guard left it; then M0 = exp(h_res) [n * n] (slot 2 iters). In shared memory when it fits.
__host__ __device__ constexpr int64_t record_stride(int n) { return int64_t{n} * n + n; }

// M = exp(h_res) (a row whose max is above 700: exp(h - max)), then `iters` times the row step and
// the column step, each line divided by its sum where the sum is > eps (a shifted row: always, in
// its first row step): the host's operations in the host's order. Lane a owns row a in row steps
// and column a in column steps. Warp 0; returns whether the lane's row was shifted.
__device__ bool sinkhorn_forward(const FinalizeParams& p, double (*m)[33], double* rec) {
  const int a = threadIdx.x & 31;
  const int n = p.n;
  const int nn = n * n;
  const int64_t stride = record_stride(n);
  bool shifted = false;
  if (a < n) {
    float mx = p.h_res[a * n];
    for (int j = 1; j < n; ++j) mx = mx < p.h_res[a * n + j] ? p.h_res[a * n + j] : mx;  // std::max_element
    shifted = static_cast<double>(mx) > kExpShiftAbove;
    const double shift = shifted ? static_cast<double>(mx) : 0.0;
    for (int j = 0; j < n; ++j) {
      m[a][j] = exp(__dsub_rn(static_cast<double>(p.h_res[a * n + j]), shift));
      rec[2 * int64_t{p.iters} * stride + a * n + j] = m[a][j];
    }
  }
  __syncwarp();
  for (int it = 0; it < p.iters; ++it)
    for (int cols = 0; cols < 2; ++cols) {
      double* r = rec + (2 * int64_t{it} + cols) * stride;
      if (a < n) {
        double s = 0.0;
        for (int b = 0; b < n; ++b) s = __dadd_rn(s, cols ? m[b][a] : m[a][b]);
        const bool scaled = s > p.eps || (!cols && it == 0 && shifted);
        if (scaled)
          for (int b = 0; b < n; ++b) {
            double& v = cols ? m[b][a] : m[a][b];
            v = __ddiv_rn(v, s);
          }
        r[nn + a] = scaled ? __ddiv_rn(1.0, s) : 0.0;
      }
      __syncwarp();
      for (int k = a; k < nn; k += 32) r[k] = m[k / n][k % n];
      __syncwarp();
    }
  return shifted;
}

// g [n, n] = dL/dM in, dL/dh out: every step reversed, last first (a normalized line Y = X / s,
// the record's matrix, gives dX = (dY - sum_line(dY * Y)) / s, here times the record's 1/s; a line
// the guard left passes dY through), then exp: dh = dM0 * M0. Warp 0.
__device__ void sinkhorn_reverse(const FinalizeParams& p, double (*g)[33], const double* rec) {
  const int a = threadIdx.x & 31;
  const int n = p.n;
  const int nn = n * n;
  const int64_t stride = record_stride(n);
  for (int step = 2 * p.iters - 1; step >= 0; --step) {
    const int cols = step & 1;
    const double* r = rec + int64_t{step} * stride;
    if (a < n) {
      const double inv = r[nn + a];
      if (inv != 0.0) {
        double dot = 0.0;
        for (int b = 0; b < n; ++b)
          dot = __dadd_rn(dot, __dmul_rn(cols ? g[b][a] : g[a][b], r[cols ? b * n + a : a * n + b]));
        for (int b = 0; b < n; ++b) {
          double& v = cols ? g[b][a] : g[a][b];
          v = __dmul_rn(__dsub_rn(v, dot), inv);
        }
      }
    }
    __syncwarp();
  }
  const double* m0 = rec + 2 * int64_t{p.iters} * stride;
  for (int k = a; k < nn; k += 32) g[k / n][k % n] = __dmul_rn(g[k / n][k % n], m0[k]);
  __syncwarp();
}

__global__ void __launch_bounds__(kThreads) static_bwd_finalize_kernel(const FinalizeParams p) {
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int n = p.n;
  if (blockIdx.x > 0) {  // dw
    pdl_wait();
    const int64_t c = (int64_t{blockIdx.x} - 1) * kThreads + tid;
    if (c >= p.C) return;
    const int64_t groups = (p.dw_count + p.dw_group - 1) / p.dw_group;
    double v = 0.0;
    for (int64_t q = 0; q < groups; ++q) {
      const int64_t b0 = q * p.dw_group, b1 = b0 + p.dw_group < p.dw_count ? b0 + p.dw_group : p.dw_count;
      const double l1 = fold_group(p.dw_parts, b0, b1, p.C, c);
      v = q == 0 ? l1 : __dadd_rn(v, l1);
    }
    store_param_grad(p.dw + c, v, p.acc_w);
    return;
  }
  __shared__ double m[32][33];
  __shared__ double tot[32 * 32 + 2 * 32];
  extern __shared__ double rec_smem[];
  double* rec = p.record_in_smem ? rec_smem : p.trace;
  // The Sinkhorn's forward reads only h_res, which the kernels before the row kernel wrote (every
  // CTA of the kernels of this run waited for them before letting this one launch): it runs
  // before the wait, overlapping the row kernel.
  if (p.post && warp == 0) sinkhorn_forward(p, m, rec);
  pdl_wait();
  const int E = entries(n);
  const int e_lo = p.pre ? 0 : n, e_hi = p.post ? E : n;
  for (int e = e_lo + warp; e < e_hi; e += kWarps) {
    const double v = sum_entry(p.coef_parts, p.coef_count, p.coef_group, E, e);
    if (lane == 0) tot[e] = v;
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
  if (p.post && warp == 0) {
    const int nn = n * n;
    for (int k = lane; k < nn; k += 32) m[k / n][k % n] = tot[2 * n + k];
    __syncwarp();
    sinkhorn_reverse(p, m, rec);
    for (int k = lane; k < nn; k += 32) store_param_grad(p.dh_res + k, m[k / n][k % n], p.acc_res);
  }
}

}  // namespace

int64_t finalize_record_bytes(int n, int iters) { return (2 * int64_t{iters} + 1) * record_stride(n) * 8; }

void launch_static_bwd_finalize(FinalizeParams p, void* stream, bool pdl) {
  const int64_t dw_ctas = p.pre ? (p.C + kThreads - 1) / kThreads : 0;
  const int64_t bytes = p.post ? finalize_record_bytes(p.n, p.iters) : 0;
  p.record_in_smem = p.post && bytes <= kFinalizeRecordSmem;
  launch("sm80_static_bwd_finalize", static_bwd_finalize_kernel, dim3(static_cast<unsigned>(1 + dw_ctas)),
         dim3(kThreads), p.record_in_smem ? static_cast<size_t>(bytes) : 0, stream, pdl, p);
}

}  // namespace mhc::cuda::static_bwd
