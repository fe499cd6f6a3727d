#include "../launch.cuh"
#include "../workspace_section.hpp"
#include "sm80_f32_pre_backward.cuh"

namespace mhc::cuda {
namespace {

constexpr unsigned kFull = 0xffffffffu;
constexpr int kMaxN = 8;

// ---- 1. token kernel --------------------------------------------------------------------------
constexpr int kTokMaxWarps = 8;                 // tokens (warps) per CTA at most
constexpr size_t kTokSmemLimit = 40 * 1024;     // one token's Sinkhorn iterates
constexpr size_t kTokCtaSmem = 48 * 1024;       // a CTA's scratch (no opt-in needed)

__device__ __forceinline__ int mix_group(int j, int n, bool head) { return head || j < n ? 0 : j < 2 * n ? 1 : 2; }
__device__ __forceinline__ double sigmoid_f64(double z) { return 1.0 / (1.0 + exp(-z)); }

// A warp's scratch in doubles: z, dz and two term rows [kMix] each, m and g [n x n], dpre [n],
// then the Sinkhorn iterates (the softmax and each step's input, n x n each).
__host__ __device__ constexpr int64_t token_scratch_doubles(int n, int repeat) {
  return 4 * int64_t{n} * (n + 2) + 2 * int64_t{n} * n + n + 2 * int64_t{repeat} * n * n;
}

// 4 bf16 at a (8-byte aligned when kVector), or one.
template <bool kVector>
__device__ __forceinline__ int load_cols(const uint16_t* a, float (&v)[4]) {
  if (kVector) {
    const uint2 w = __ldg(reinterpret_cast<const uint2*>(a));
    v[0] = bf16_lo(w.x), v[1] = bf16_hi(w.x), v[2] = bf16_lo(w.y), v[3] = bf16_hi(w.y);
    return 4;
  }
  v[0] = bf16_to_f32(*a);
  return 1;
}

// A CTA of W warps holds W tokens. First the whole CTA sums each token's dpre (every thread's
// columns ascending, a butterfly per warp, then the warps ascending: an order fixed by C and W,
// and W by n and the Sinkhorn steps alone), then each warp runs its token's fp64 coefficient
// reverse, so the latency-bound reverses of W tokens run side by side while other CTAs stream.
// (One CTA per token left 7 of 8 warps idle during the reverse; one warp per token streamed a
// lone token at T = 1 with one warp.)
template <int kN, bool kVector>
__global__ void __launch_bounds__(kTokMaxWarps * 32) sm80_f32_pre_backward_token_kernel(const PreBackwardParams p) {
  extern __shared__ double s_dyn[];
  constexpr int kMix = kN * (kN + 2);
  const int W = static_cast<int>(blockDim.x / 32);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t first = p.tok_begin + static_cast<int64_t>(blockIdx.x) * W;
  const int64_t per_warp = token_scratch_doubles(kN, p.head ? 0 : p.repeat);
  double* s_red = s_dyn + W * per_warp;  // [W tokens][W warps][kN]
  constexpr int V = kVector ? 4 : 1;

  // dpre[i] = sum_x dli[x] R[i,x]: bf16 x bf16 products are exact in fp32, summed in fp64.
  for (int s = 0; s < W; ++s) {
    const int64_t ts = first + s;
    if (ts >= p.tok_end) break;  // the same for the whole CTA
    double acc[kN] = {};
    const uint16_t* g_row = p.dli + ts * p.C;
    const uint16_t* a_row = p.A + ts * p.K;
#pragma unroll 4
    for (int64_t x = int64_t{threadIdx.x} * V; x < p.C; x += int64_t{blockDim.x} * V) {
      float g[4], a[4];
      const int m = load_cols<kVector>(g_row + x, g);
#pragma unroll
      for (int i = 0; i < kN; ++i) {
        load_cols<kVector>(a_row + i * p.C + x, a);
        for (int e = 0; e < m; ++e) acc[i] += double{g[e] * a[e]};
      }
    }
#pragma unroll
    for (int i = 0; i < kN; ++i) {
#pragma unroll
      for (int o = 16; o >= 1; o /= 2) acc[i] += __shfl_xor_sync(kFull, acc[i], o);
      if (lane == 0) s_red[(s * W + warp) * kN + i] = acc[i];
    }
  }
  pdl_wait();  // (a no-op unless chained) what follows reads and writes the run's workspace
  __syncthreads();
  pdl_launch_dependents();
  const int64_t t = first + warp;
  if (t >= p.tok_end) return;  // no block barrier below
  double* s_z = s_dyn + warp * per_warp;
  double* s_dz = s_z + kMix;
  double* s_term0 = s_dz + kMix;
  double* s_term1 = s_term0 + kMix;
  double* s_m = s_term1 + kMix;
  double* s_g = s_m + kN * kN;
  double* s_dpre = s_g + kN * kN;
  double* s_trace = s_dpre + kN;  // the softmax, then the input of each Sinkhorn step [kN * kN] each
  const int N = p.N;
  if (lane < kN) {
    double v = s_red[(warp * W) * kN + lane];
    for (int w = 1; w < W; ++w) v += s_red[(warp * W + w) * kN + lane];
    s_dpre[lane] = v;
  }
  __syncwarp();

  // The coefficient math in reverse, fp64, in the host reference's order (docs/numerics.md).
  const double r = 1.0 / sqrt(double{p.Q[t]} / static_cast<double>(p.K) + double{p.rms_eps});
  for (int j = lane; j < N; j += 32) {
    s_z[j] = double{p.D[t * N + j]} * r * double{p.scale[mix_group(j, kN, p.head)]} + double{p.base[j]};
    s_dz[j] = 0.0;
  }
  __syncwarp();
  double pre = 0.0;
  if (lane < kN) {  // pre = sigmoid(z) + pre_eps; post = post_mult * sigmoid(z)
    const double s = sigmoid_f64(s_z[lane]);
    pre = s + double{p.pre_eps};
    s_dz[lane] = s_dpre[lane] * s * (1.0 - s);
    if (!p.head) {
      const double sp = sigmoid_f64(s_z[kN + lane]);
      s_dz[kN + lane] = double{p.dpost[t * kN + lane]} * double{p.post_mult} * sp * (1.0 - sp);
    }
  }
  if (!p.head) {
    // Sinkhorn forward from the comb logits, each step's input kept; lane a owns line a.
    constexpr int nn = kN * kN;
    const double eps = p.sinkhorn_eps;
    const int steps = 2 * p.repeat - 1;
    double* soft = s_trace;
    double* before = s_trace + nn;
    if (lane < kN) {  // row softmax, max-subtracted, then + eps
      const double* z = &s_z[2 * kN + lane * kN];
      double mx = z[0];
      for (int k = 1; k < kN; ++k) mx = z[k] > mx ? z[k] : mx;
      double sum = 0.0;
      for (int k = 0; k < kN; ++k) sum += (s_m[lane * kN + k] = exp(z[k] - mx));
      const double inv = 1.0 / sum;  // one division per line: the chain below is latency-bound
      for (int k = 0; k < kN; ++k) {
        s_m[lane * kN + k] = s_m[lane * kN + k] * inv;
        soft[lane * kN + k] = s_m[lane * kN + k];
        s_m[lane * kN + k] += eps;
      }
    }
    __syncwarp();
    for (int step = 0; step < steps; ++step) {
      for (int e = lane; e < nn; e += 32) before[step * nn + e] = s_m[e];
      __syncwarp();
      if (lane < kN) {  // step s divides by the column sums (s even) or the row sums (s odd)
        const bool cols = step % 2 == 0;
        const int first = cols ? lane : lane * kN, stride = cols ? kN : 1;
        double s = 0.0;
        for (int b = 0; b < kN; ++b) s += s_m[first + b * stride];
        const double inv = 1.0 / (s + eps);
        for (int b = 0; b < kN; ++b) s_m[first + b * stride] *= inv;
      }
      __syncwarp();
    }
    // Reverse: Y = X / (s + eps) along a line gives dX = (dY - sum_line(dY * Y)) / (s + eps).
    for (int e = lane; e < nn; e += 32) s_g[e] = double{p.dcomb[t * nn + e]};
    __syncwarp();
    for (int step = steps - 1; step >= 0; --step) {
      if (lane < kN) {
        const double* X = before + step * nn;
        const bool cols = step % 2 == 0;
        const int first = cols ? lane : lane * kN, stride = cols ? kN : 1;
        double s = 0.0;
        for (int b = 0; b < kN; ++b) s += X[first + b * stride];
        const double inv = 1.0 / (s + eps);
        double dot = 0.0;
        for (int b = 0; b < kN; ++b) dot += s_g[first + b * stride] * (X[first + b * stride] * inv);
        for (int b = 0; b < kN; ++b) s_g[first + b * stride] = (s_g[first + b * stride] - dot) * inv;
      }
      __syncwarp();
    }
    if (lane < kN) {  // + eps passes the gradient through; the softmax: dz = (g - sum_row(g p)) p
      const double* pr = soft + lane * kN;
      const double* gr = s_g + lane * kN;
      double dot = 0.0;
      for (int k = 0; k < kN; ++k) dot += gr[k] * pr[k];
      for (int k = 0; k < kN; ++k) s_dz[2 * kN + lane * kN + k] = (gr[k] - dot) * pr[k];
    }
  }
  __syncwarp();
  // z = mix * scale + base, mix = D r: dD = dz scale r; dscale and dr summed over j ascending.
  for (int j = lane; j < N; j += 32) {
    const double Dj = p.D[t * N + j];
    const double mix = Dj * r, dmix = s_dz[j] * double{p.scale[mix_group(j, kN, p.head)]};
    s_term0[j] = s_dz[j] * mix;
    s_term1[j] = dmix * Dj;
    p.w_dD[t * p.dD_stride + j] = static_cast<float>(dmix * r);
    p.w_dz[t * N + j] = s_dz[j];
  }
  __syncwarp();
  if (lane == 0) {
    double dsc[3] = {0.0, 0.0, 0.0}, dr = 0.0;
    for (int j = 0; j < N; ++j) {
      dsc[mix_group(j, kN, p.head)] += s_term0[j];
      dr += s_term1[j];
    }
    const double dQ = dr * -0.5 * r * r * r / static_cast<double>(p.K);
    p.w_coef[t * (kN + 1) + kN] = static_cast<float>(dQ);
    for (int g = 0; g < 3; ++g) p.w_dsc[t * 3 + g] = dsc[g];
  }
  if (lane < kN) p.w_coef[t * (kN + 1) + lane] = static_cast<float>(pre);
}

// ---- 2. column kernel -------------------------------------------------------------------------
// Grid (K / kCols, lanes): a thread owns column k; the tokens are cut into blocks of kTokBlock,
// block b belongs to lane b % kLanes, and the CTA's kGroups thread groups take its tokens
// round-robin. No block barrier in the token loop: dD and the coefficients of a token are the same
// for every thread of the CTA, so they come as uniform (broadcast) loads through L1, and each
// thread keeps kUnroll tokens' loads in flight. dfn: each group sums its tokens ascending (fp32),
// the groups are added in ascending order, and each lane writes its partial; the finish kernel
// adds the lanes in ascending order (fp64). The order depends on T alone.
constexpr int kCols = 64;        // columns of K per CTA
constexpr int kTokBlock = 256;   // tokens per block
constexpr int kLanes = 8;        // token lanes (dfn partials)
constexpr int kUnroll = 8;       // tokens per thread in flight

__device__ __forceinline__ float weight_f32(float f, int precision) {
  if (precision == MHC_DTYPE_FP32) return f;
  const float hi = __uint_as_float(tf32_rne(f));
  if (precision == MHC_DTYPE_TF32) return hi;
  return hi + __uint_as_float(tf32_rne(f - hi));  // tf32x3: exact in fp32 (22 significant bits)
}

template <int kN, int kM, int kGroups>
__global__ void __launch_bounds__(kCols * kGroups, kM <= 24 ? 2 : 1)
    sm80_f32_pre_backward_column_kernel(const PreBackwardParams p) {
  __shared__ float s_part[kM][kCols];
  const int col = threadIdx.x % kCols, grp = threadIdx.x / kCols;
  const int64_t k0 = static_cast<int64_t>(blockIdx.x) * kCols, k = k0 + col;
  const int lane = blockIdx.y;
  const bool valid = k < p.K;
  const int stream = valid ? static_cast<int>(k / p.C) : 0;
  const int64_t x = valid ? k - stream * p.C : 0;
  const int64_t ds = p.dD_stride;

  float w[kM], acc[kM];
#pragma unroll
  for (int j = 0; j < kM; ++j) {
    w[j] = valid ? weight_f32(__ldg(p.fn + j * p.K + k), p.weight_precision) : 0.0f;
    acc[j] = 0.0f;
  }
  const bool acc_r = (p.accumulate & MHC_GRAD_ACCUMULATE_RESIDUAL) != 0;
  for (int64_t b0 = int64_t{lane} * kTokBlock; b0 < p.T; b0 += int64_t{kLanes} * kTokBlock) {
    const int64_t b1 = b0 + kTokBlock < p.T ? b0 + kTokBlock : p.T;
    for (int64_t t0 = b0 + grp; t0 < b1; t0 += int64_t{kGroups} * kUnroll) {
      float av[kUnroll], gv[kUnroll];
#pragma unroll
      for (int q = 0; q < kUnroll; ++q) {  // every load of the kUnroll tokens first
        const int64_t t = t0 + int64_t{q} * kGroups;
        av[q] = gv[q] = 0.0f;
        if (valid && t < b1) {
          av[q] = bf16_to_f32(__ldg(p.A + t * p.K + k));
          gv[q] = bf16_to_f32(__ldg(p.dli + t * p.C + x));
        }
      }
#pragma unroll
      for (int q = 0; q < kUnroll; ++q) {
        const int64_t t = t0 + int64_t{q} * kGroups;
        if (t >= b1) break;
        float d[kM];
        ldg_floats<kM>(p.w_dD + t * ds, d);
        const float pre = __ldg(p.w_coef + t * (kN + 1) + stream), dQ = __ldg(p.w_coef + t * (kN + 1) + kN);
        // dR = pre[i] dli[x] + sum_j dD[j] w(fn[j,k]) + 2 dQ A[k]
        float v = pre * gv[q];
#pragma unroll
        for (int j = 0; j < kM; ++j) v = fmaf(d[j], w[j], v);
        v = fmaf(2.0f * dQ, av[q], v);
#pragma unroll
        for (int j = 0; j < kM; ++j) acc[j] = fmaf(d[j], av[q], acc[j]);
        if (valid) {
          uint16_t* dst = p.dR + t * p.K + k;
          *dst = acc_r ? f64_to_bf16(double{bf16_to_f32(*dst)} + double{v}) : f32_to_bf16(v);
        }
      }
    }
  }
  // The lane's dfn partial: the groups' sums added in ascending group order.
  for (int g = 0; g < kGroups; ++g) {
    __syncthreads();
    if (grp == g)
#pragma unroll
      for (int j = 0; j < kM; ++j) s_part[j][col] = g == 0 ? acc[j] : s_part[j][col] + acc[j];
  }
  __syncthreads();
  float* part = p.w_part + static_cast<int64_t>(lane) * kM * p.K;
  for (int e = threadIdx.x; e < kM * kCols; e += kCols * kGroups) {
    const int j = e / kCols, c = e % kCols;
    if (k0 + c < p.K) part[j * p.K + k0 + c] = s_part[j][c];
  }
}

// ---- 2'. column kernel on tensor cores (C % 8 == 0, 16-byte aligned A, dli, dR) -----------------
// The same products as the column kernel above, as two skinny GEMMs per 32-token step of a
// 64-column tile (4 warps, 16 columns each):
//   dR^T [cols x tokens]  = w(fn)^T [cols x mixes] . dD^T [mixes x tokens]   (w(fn) in registers)
//   dfn^T [cols x mixes] += A^T [cols x tokens] . dD [tokens x mixes]         (accumulators)
// on mma.sync m16n8k8 tf32 with fp32 accumulation. Operands are split so the products keep about
// fp32 accuracy: dD = hi + lo (two tf32), w(fn) = hi (+ lo for fp32 and tf32x3 weights: the dR
// GEMM then adds dD_hi w_hi + dD_lo w_hi + dD_hi w_lo), A is bf16 (exact in tf32). The token-lane
// split, and so every order, depends on T alone as above; per-token dR depends on its token only.
// The step's A (fp32), dD (hi, lo) and dR sums sit in shared memory; the next step's loads (with
// each chunk's pre and dQ, so the epilogue waits on no global load) are in registers meanwhile.
// dR = sum + pre[i] dli[x] + 2 dQ A, rounded once to bf16.
constexpr int kMmaCols = 64;                    // columns per CTA
constexpr int kMmaWarps = kMmaCols / 16;        // a warp per 16 columns (one MMA m-tile)
constexpr int kMmaThreads = kMmaWarps * 32;
constexpr int kMmaTok = 32;                     // tokens per step
constexpr int kMmaChunks = kMmaTok * kMmaCols / 8 / kMmaThreads;  // 8-column chunks per thread
constexpr int kSA = kMmaCols + 8;               // sA row stride: rows tq (0..3) in distinct banks
constexpr int kSR = kMmaCols + 4;               // sR row stride: rows 2 tq in distinct banks

// The same split with the hardware conversion (ties away from zero: hi + lo still carries f to
// about 2^-22), one instruction each instead of the bit arithmetic: for dD, an internal operand
// (w(fn) keeps the round-to-nearest-even of docs/numerics.md).
__device__ __forceinline__ uint32_t tf32_rna(float f) {
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(f));
  return r & 0xffffe000u;  // the low 13 bits as zeros, whatever the conversion leaves there (lo = f - hi)
}
__device__ __forceinline__ void split_tf32_rna(float f, uint32_t& hi, uint32_t& lo) {
  hi = tf32_rna(f);
  lo = tf32_rna(f - __uint_as_float(hi));
}
// kOneBlock: the chunked schedule's kernel (p.col_block alone, chained; its own instantiation).
template <int kN, int kM, bool kWLo, bool kOneBlock = false>
__global__ void __launch_bounds__(kMmaThreads) sm80_tf32_pre_backward_column_mma_kernel(const PreBackwardParams p) {
  constexpr int kKS = (kM + 7) / 8;    // 8-mix steps (dR's K, dfn's N tiles)
  constexpr int kMW = (kKS + 1) / 2 * 16;  // mixes held per token (zero-padded)
  constexpr int kSD = kMW + 8;         // sD row stride (8 mod 16), swizzled below: both reads conflict-free
  constexpr int kDQ = kMW / 4;         // float4s of dD per token
  constexpr int kDL = (kMmaTok * kDQ + kMmaThreads - 1) / kMmaThreads;
  __shared__ __align__(16) float sA[kMmaTok][kSA];
  __shared__ __align__(16) float sR[kMmaTok][kSR];
  __shared__ __align__(16) uint32_t sDh[kMmaTok][kSD], sDl[kMmaTok][kSD];
  // Element (r, j) of the dD tile lives at column j ^ swz(r): rows g and g + 4 (the dR operand
  // reads) and rows tq, tq + 4 (the dfn operand reads) land in distinct banks.
  auto swz = [](int r) { return ((r >> 2) & 1) << 2; };

  const int tid = threadIdx.x, warp = tid / 32, ln = tid % 32, g = ln / 4, tq = ln % 4;
  const int64_t k0 = static_cast<int64_t>(blockIdx.x) * kMmaCols;
  const int64_t wc = k0 + warp * 16;  // the warp's first column
  const int lane = kOneBlock ? static_cast<int>(p.col_block % kLanes) : static_cast<int>(blockIdx.y);
  const int64_t ds = p.dD_stride;

  // w(fn)^T fragments: rows = columns wc + g (+ 8), cols = mixes ks * 8 + tq (+ 4).
  uint32_t wh[kKS][4], wl[kWLo ? kKS : 1][4];
#pragma unroll
  for (int ks = 0; ks < kKS; ++ks)
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      const int j = ks * 8 + tq + (q >= 2 ? 4 : 0);
      const int64_t k = wc + g + (q % 2 == 1 ? 8 : 0);
      const float f = j < kM && k < p.K ? __ldg(p.fn + j * p.K + k) : 0.0f;
      if constexpr (kWLo) {
        split_tf32(f, wh[ks][q], wl[ks][q]);
      } else {
        wh[ks][q] = tf32_rne(f);
      }
    }
  if constexpr (kOneBlock) {
    pdl_wait();  // the token kernel's coefficients, the lane's partial so far
    pdl_launch_dependents();
  }
  // The lane's dfn partial: zero, or (one block after the lane's first) the partial so far.
  float* part = p.w_part + static_cast<int64_t>(lane) * kM * p.K;
  float facc[kKS][4];
#pragma unroll
  for (int nt = 0; nt < kKS; ++nt)
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      const int j = nt * 8 + 2 * tq + q % 2;
      const int64_t k = wc + g + (q >= 2 ? 8 : 0);
      facc[nt][q] = kOneBlock && p.col_block >= kLanes && j < kM && k < p.K ? part[j * p.K + k] : 0.0f;
    }

  // This thread's chunks (loads and epilogue): token r, columns kc .. kc + 7 (one stream).
  int cr[kMmaChunks];
  int64_t ck[kMmaChunks], cx[kMmaChunks];
  int cs[kMmaChunks];
#pragma unroll
  for (int u = 0; u < kMmaChunks; ++u) {
    const int q = tid + u * kMmaThreads;
    cr[u] = q / (kMmaCols / 8);
    ck[u] = k0 + (q % (kMmaCols / 8)) * 8;
    cs[u] = ck[u] < p.K ? static_cast<int>(ck[u] / p.C) : 0;
    cx[u] = ck[u] - cs[u] * p.C;
  }
  uint4 na[kMmaChunks], ng[kMmaChunks], cg[kMmaChunks];
  float np[kMmaChunks], nq[kMmaChunks], cp[kMmaChunks], cq[kMmaChunks];  // pre[stream] and dQ of the chunk's token
  float4 nd[kDL];
  auto fetch = [&](int64_t t0, int64_t b1) {
#pragma unroll
    for (int u = 0; u < kMmaChunks; ++u) {
      const int64_t t = t0 + cr[u];
      na[u] = ng[u] = make_uint4(0u, 0u, 0u, 0u);
      np[u] = nq[u] = 0.0f;
      if (t < b1 && ck[u] < p.K) {
        na[u] = __ldg(reinterpret_cast<const uint4*>(p.A + t * p.K + ck[u]));
        ng[u] = __ldg(reinterpret_cast<const uint4*>(p.dli + t * p.C + cx[u]));
        np[u] = __ldg(p.w_coef + t * (kN + 1) + cs[u]);
        nq[u] = __ldg(p.w_coef + t * (kN + 1) + kN);
      }
    }
#pragma unroll
    for (int u = 0; u < kDL; ++u) {
      const int e = tid + u * kMmaThreads, r = e / kDQ, q = e % kDQ;
      const int64_t t = t0 + r;
      nd[u] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      if (e < kMmaTok * kDQ && t < b1 && 4 * q < kM) {
        nd[u] = __ldg(reinterpret_cast<const float4*>(p.w_dD + t * ds + 4 * q));
        if (4 * q + 1 >= kM) nd[u].y = 0.0f;  // the workspace row's padding is not written
        if (4 * q + 2 >= kM) nd[u].z = 0.0f;
        if (4 * q + 3 >= kM) nd[u].w = 0.0f;
      }
    }
  };

  const bool acc_r = (p.accumulate & MHC_GRAD_ACCUMULATE_RESIDUAL) != 0;
  int64_t b0 = (kOneBlock ? p.col_block : int64_t{lane}) * kTokBlock;
  int64_t b1 = b0 + kTokBlock < p.T ? b0 + kTokBlock : p.T, t0 = b0;
  fetch(t0, b1);
  while (true) {
    __syncthreads();  // the previous step's readers of sA, sD and sR are done
#pragma unroll
    for (int u = 0; u < kMmaChunks; ++u) {
      const int c = static_cast<int>(ck[u] - k0);
      const uint4 a = na[u];
      *reinterpret_cast<float4*>(&sA[cr[u]][c]) = make_float4(bf16_lo(a.x), bf16_hi(a.x), bf16_lo(a.y), bf16_hi(a.y));
      *reinterpret_cast<float4*>(&sA[cr[u]][c + 4]) = make_float4(bf16_lo(a.z), bf16_hi(a.z), bf16_lo(a.w), bf16_hi(a.w));
      cg[u] = ng[u];
      cp[u] = np[u];
      cq[u] = nq[u];
    }
#pragma unroll
    for (int u = 0; u < kDL; ++u) {
      const int e = tid + u * kMmaThreads, r = e / kDQ, q = e % kDQ;
      if (e < kMmaTok * kDQ) {
        uint4 h, l;
        split_tf32_rna(nd[u].x, h.x, l.x);
        split_tf32_rna(nd[u].y, h.y, l.y);
        split_tf32_rna(nd[u].z, h.z, l.z);
        split_tf32_rna(nd[u].w, h.w, l.w);
        const int c = (4 * q) ^ swz(r);
        *reinterpret_cast<uint4*>(&sDh[r][c]) = h;
        *reinterpret_cast<uint4*>(&sDl[r][c]) = l;
      }
    }
    __syncthreads();
    // The next step of this lane: the block's next 32 tokens, else the lane's next block.
    const int64_t cur_t0 = t0, cur_b1 = b1;
    t0 += kMmaTok;
    if (t0 >= b1) {
      b0 = kOneBlock ? p.T : b0 + int64_t{kLanes} * kTokBlock;
      t0 = b0;
      b1 = b0 + kTokBlock < p.T ? b0 + kTokBlock : p.T;
    }
    const bool more = t0 < p.T;
    if (more) fetch(t0, b1);

    // dR sums: 4 token tiles of 8; the B operand dD^T[j][t] = sD[t][j]. The swizzle only flips
    // bit 2 of the column, so every read below is a per-thread base plus a constant.
    const uint32_t* dh = &sDh[0][0];
    const uint32_t* dl = &sDl[0][0];
    const int rb0 = g * kSD + (tq ^ swz(g)), rb1 = g * kSD + ((tq ^ swz(g)) ^ 4);
#pragma unroll
    for (int nt = 0; nt < kMmaTok / 8; ++nt) {
      float d[4] = {0.0f, 0.0f, 0.0f, 0.0f};
#pragma unroll
      for (int ks = 0; ks < kKS; ++ks) {
        const int o = nt * 8 * kSD + ks * 8;
        const uint32_t h0 = dh[rb0 + o], h1 = dh[rb1 + o], l0 = dl[rb0 + o], l1 = dl[rb1 + o];
        mma_tf32_16x8x8(d, wh[ks], h0, h1);
        mma_tf32_16x8x8(d, wh[ks], l0, l1);
        if constexpr (kWLo) mma_tf32_16x8x8(d, wl[ks], h0, h1);
      }
      // C[col][token]: (g, 2tq), (g, 2tq + 1), (g + 8, 2tq), (g + 8, 2tq + 1)
      const int c = warp * 16 + g, t = nt * 8 + 2 * tq;
      sR[t][c] = d[0];
      sR[t + 1][c] = d[1];
      sR[t][c + 8] = d[2];
      sR[t + 1][c + 8] = d[3];
    }
    // dfn^T += A^T . dD over the step's 4 token tiles, ascending. Rows ks * 8 + tq are unswizzled,
    // rows ks * 8 + tq + 4 have bit 2 of the column flipped.
    const int fb0 = tq * kSD + g, fb1 = (tq + 4) * kSD + (g ^ 4);
#pragma unroll
    for (int ks = 0; ks < kMmaTok / 8; ++ks) {
      const int r0 = ks * 8 + tq, r1 = r0 + 4, c = warp * 16 + g;
      const uint32_t a[4] = {__float_as_uint(sA[r0][c]), __float_as_uint(sA[r0][c + 8]), __float_as_uint(sA[r1][c]),
                             __float_as_uint(sA[r1][c + 8])};
#pragma unroll
      for (int nt = 0; nt < kKS; ++nt) {
        const int o = ks * 8 * kSD + nt * 8;
        mma_tf32_16x8x8(facc[nt], a, dh[fb0 + o], dh[fb1 + o]);
        mma_tf32_16x8x8(facc[nt], a, dl[fb0 + o], dl[fb1 + o]);
      }
    }
    __syncthreads();  // sR complete
#pragma unroll
    for (int u = 0; u < kMmaChunks; ++u) {
      const int64_t t = cur_t0 + cr[u];
      if (t >= cur_b1 || ck[u] >= p.K) continue;
      const int c = static_cast<int>(ck[u] - k0);
      const float pre = cp[u], dq2 = 2.0f * cq[u];
      const uint32_t gw[4] = {cg[u].x, cg[u].y, cg[u].z, cg[u].w};
      float v[8], av[8];
      *reinterpret_cast<float4*>(&v[0]) = *reinterpret_cast<const float4*>(&sR[cr[u]][c]);
      *reinterpret_cast<float4*>(&v[4]) = *reinterpret_cast<const float4*>(&sR[cr[u]][c + 4]);
      *reinterpret_cast<float4*>(&av[0]) = *reinterpret_cast<const float4*>(&sA[cr[u]][c]);
      *reinterpret_cast<float4*>(&av[4]) = *reinterpret_cast<const float4*>(&sA[cr[u]][c + 4]);
#pragma unroll
      for (int e = 0; e < 8; ++e) {
        const float gv = e % 2 == 0 ? bf16_lo(gw[e / 2]) : bf16_hi(gw[e / 2]);
        v[e] = fmaf(dq2, av[e], fmaf(pre, gv, v[e]));
      }
      uint4* dst = reinterpret_cast<uint4*>(p.dR + t * p.K + ck[u]);
      uint32_t o[4];
      if (acc_r) {
        const uint4 old = *dst;
        const uint32_t ow[4] = {old.x, old.y, old.z, old.w};
#pragma unroll
        for (int h = 0; h < 4; ++h)
          o[h] = uint32_t{f64_to_bf16(double{bf16_lo(ow[h])} + double{v[2 * h]})} |
                 (uint32_t{f64_to_bf16(double{bf16_hi(ow[h])} + double{v[2 * h + 1]})} << 16);
      } else {
#pragma unroll
        for (int h = 0; h < 4; ++h) o[h] = pack_bf16_rn(v[2 * h], v[2 * h + 1]);
      }
      *dst = make_uint4(o[0], o[1], o[2], o[3]);
    }
    if (!more) break;
  }
  // The lane's dfn partial: C[col][mix] = (g, 2tq), (g, 2tq + 1), (g + 8, 2tq), (g + 8, 2tq + 1).
#pragma unroll
  for (int nt = 0; nt < kKS; ++nt)
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      const int j = nt * 8 + 2 * tq + q % 2;
      const int64_t k = wc + g + (q >= 2 ? 8 : 0);
      if (j < kM && k < p.K) part[j * p.K + k] = facc[nt][q];
    }
}

// ---- 3. finish: dfn from the lanes' partials; dbase and dscale over tokens ---------------------
// CTAs [0, fn_ctas): one thread per dfn entry, the used lanes added in ascending order in fp64.
// The next N + 3 (head: N + 1) CTAs: one output each; thread i sums tokens i, i + 256, ... in
// fp64, then a fixed tree over the 256 threads.
constexpr int kFinishThreads = 256;

__global__ void __launch_bounds__(kFinishThreads) sm80_f32_pre_backward_finish_kernel(const PreBackwardParams p,
                                                                                       unsigned fn_ctas, int lanes) {
  pdl_wait();  // (a no-op unless chained)
  if (blockIdx.x < fn_ctas) {
    const int64_t e = static_cast<int64_t>(blockIdx.x) * kFinishThreads + threadIdx.x;
    if (e >= int64_t{p.N} * p.K) return;
    double s = 0.0;
    for (int l = 0; l < lanes; ++l) s += double{p.w_part[int64_t{l} * p.N * p.K + e]};
    float* dst = p.dfn + e;
    *dst = static_cast<float>((p.accumulate & MHC_GRAD_ACCUMULATE_FN) != 0 ? double{*dst} + s : s);
    return;
  }
  __shared__ double s_red[kFinishThreads];
  const int o = static_cast<int>(blockIdx.x - fn_ctas);
  double s = 0.0;
  for (int64_t t = threadIdx.x; t < p.T; t += kFinishThreads) s += o < p.N ? p.w_dz[t * p.N + o] : p.w_dsc[t * 3 + (o - p.N)];
  s_red[threadIdx.x] = s;
  for (int h = kFinishThreads / 2; h >= 1; h /= 2) {
    __syncthreads();
    if (static_cast<int>(threadIdx.x) < h) s_red[threadIdx.x] += s_red[threadIdx.x + h];
  }
  if (threadIdx.x != 0) return;
  const bool is_base = o < p.N;
  float* dst = is_base ? p.dbase + o : p.dscale + (o - p.N);
  const bool acc = (p.accumulate & (is_base ? MHC_GRAD_ACCUMULATE_BASE : MHC_GRAD_ACCUMULATE_SCALE)) != 0;
  *dst = static_cast<float>(acc ? double{*dst} + s_red[0] : s_red[0]);
}

// The tensor-core column kernel takes 8-column chunks of one stream with 16-byte accesses.
bool pre_backward_column_mma(const PreBackwardParams& p) {
  return p.C % 8 == 0 && aligned(p.A, 16) && aligned(p.dli, 16) && aligned(p.dR, 16);
}

// The tensor-core column kernel of kM mixes: with fn's lo terms (weights other than tf32) or
// not, over every lane's blocks or one block (the chunked schedule).
template <int kN, int kM>
auto column_mma_kernel(bool lo, bool one_block) {
  if (lo)
    return one_block ? sm80_tf32_pre_backward_column_mma_kernel<kN, kM, true, true>
                     : sm80_tf32_pre_backward_column_mma_kernel<kN, kM, true>;
  return one_block ? sm80_tf32_pre_backward_column_mma_kernel<kN, kM, false, true>
                   : sm80_tf32_pre_backward_column_mma_kernel<kN, kM, false>;
}

template <int kN>
void launch_n(const PreBackwardParams& run, void* stream, bool chunked) {
  PreBackwardParams p = run;
  p.tok_begin = 0, p.tok_end = p.T, p.col_block = -1;
  const int repeat = p.head ? 0 : p.repeat;  // the head has no Sinkhorn iterates
  const size_t smem = pre_backward_token_smem(kN, repeat);
  if (!p.head && smem == 0)
    fail(MHC_STATUS_INTERNAL, "pre backward: the Sinkhorn iterates of n = {}, repeat = {} exceed shared memory", kN,
         p.repeat);
  const bool vec = p.C % 4 == 0 && aligned(p.A, 8) && aligned(p.dli, 8);
  const int warps = pre_backward_token_warps(kN, repeat);
  const dim3 tok_block(static_cast<unsigned>(32 * warps));
  const size_t tok_smem = static_cast<size_t>(warps) * (smem + static_cast<size_t>(warps) * kN * sizeof(double));
  // The token kernel over p's tokens (pdl: chained behind the previous kernel of the run).
  const auto token = [&](const PreBackwardParams& q, bool pdl) {
    const dim3 grid(ceil_div_u(q.tok_end - q.tok_begin, warps));
    if (vec)
      launch("sm80_f32_pre_backward_token_kernel", sm80_f32_pre_backward_token_kernel<kN, true>, grid, tok_block,
             tok_smem, stream, pdl, q);
    else
      launch("sm80_f32_pre_backward_token_kernel", sm80_f32_pre_backward_token_kernel<kN, false>, grid, tok_block,
             tok_smem, stream, pdl, q);
  };
  const int64_t blocks = (p.T + kTokBlock - 1) / kTokBlock;
  const int lanes = blocks < kLanes ? static_cast<int>(blocks) : kLanes;
  const dim3 col_grid(ceil_div_u(p.K, kCols), static_cast<unsigned>(lanes));
  constexpr int kMixes = kN * (kN + 2);
  constexpr int kGroupsFull = kMixes <= 24 ? 4 : 2;
  constexpr int kGroupsHead = 4;
  const bool mma_path = pre_backward_column_mma(p);
  const bool lo = p.weight_precision != MHC_DTYPE_TF32;
  // The tensor-core column kernel over q's blocks (every lane's, or q.col_block alone).
  const auto mma = [&](const PreBackwardParams& q, bool pdl) {
    const bool one = q.col_block >= 0;
    const dim3 grid(ceil_div_u(q.K, kMmaCols), one ? 1u : static_cast<unsigned>(lanes));
    launch("sm80_tf32_pre_backward_column_mma_kernel",
           q.head ? column_mma_kernel<kN, kN>(lo, one) : column_mma_kernel<kN, kMixes>(lo, one), grid,
           dim3(kMmaThreads), 0, stream, pdl, q);
  };
  const bool chain = chunked && mma_path && blocks > 1;
  if (chain) {
    for (int64_t b = 0; b < blocks; ++b) {
      PreBackwardParams q = p;
      q.tok_begin = b * kTokBlock;
      q.tok_end = q.tok_begin + kTokBlock < p.T ? q.tok_begin + kTokBlock : p.T;
      q.col_block = b;
      token(q, /*pdl=*/b > 0);  // the run's first kernel does not overlap the caller's work
      mma(q, true);
    }
  } else {
    token(p, false);
    if (mma_path)
      mma(p, false);
    else if (p.head)
      launch("sm80_f32_pre_backward_column_kernel", sm80_f32_pre_backward_column_kernel<kN, kN, kGroupsHead>, col_grid,
             dim3(kCols * kGroupsHead), 0, stream, false, p);
    else
      launch("sm80_f32_pre_backward_column_kernel", sm80_f32_pre_backward_column_kernel<kN, kMixes, kGroupsFull>,
             col_grid, dim3(kCols * kGroupsFull), 0, stream, false, p);
  }
  const unsigned fn_ctas = ceil_div_u(int64_t{p.N} * p.K, kFinishThreads);
  launch("sm80_f32_pre_backward_finish_kernel", sm80_f32_pre_backward_finish_kernel,
         dim3(fn_ctas + static_cast<unsigned>(p.N + (p.head ? 1 : 3))), dim3(kFinishThreads), 0, stream, chain, p,
         fn_ctas, lanes);
}

}  // namespace

PreBackwardWorkspace::PreBackwardWorkspace(int64_t T, int n, int N, int64_t K)
    : dD_stride((N + 3) / 4 * 4),
      dD(workspace_section(static_cast<size_t>(T * dD_stride) * sizeof(float))),
      coef(workspace_section(static_cast<size_t>(T * (n + 1)) * sizeof(float))),
      dz(workspace_section(static_cast<size_t>(T * N) * sizeof(double))),
      dsc(workspace_section(static_cast<size_t>(T * 3) * sizeof(double))),
      part(workspace_section(static_cast<size_t>(kLanes) * N * K * sizeof(float))),
      total(dD + coef + dz + dsc + part) {}

void PreBackwardWorkspace::carve(void* base, PreBackwardParams& p) const {
  char* b = static_cast<char*>(base);
  p.w_dD = reinterpret_cast<float*>(b);
  p.w_coef = reinterpret_cast<float*>(b + dD);
  p.w_dz = reinterpret_cast<double*>(b + dD + coef);
  p.w_dsc = reinterpret_cast<double*>(b + dD + coef + dz);
  p.w_part = reinterpret_cast<float*>(b + dD + coef + dz + dsc);
  p.dD_stride = dD_stride;
}

size_t pre_backward_token_smem(int n, int repeat) {
  if (static_cast<size_t>(2 * repeat) * n * n * sizeof(double) > kTokSmemLimit) return 0;
  return static_cast<size_t>(token_scratch_doubles(n, repeat)) * sizeof(double);
}

int pre_backward_token_warps(int n, int repeat) {
  // W warps need W scratch slices and W x W x n partial dpre sums.
  const size_t per_warp = pre_backward_token_smem(n, repeat);
  int w = kTokMaxWarps;
  while (w > 1 && static_cast<size_t>(w) * (per_warp + static_cast<size_t>(w) * n * sizeof(double)) > kTokCtaSmem) --w;
  return w;
}

void launch_pre_backward(const PreBackwardParams& p, void* stream, bool chunked) {
  switch (p.n) {
    case 1: return launch_n<1>(p, stream, chunked);
    case 2: return launch_n<2>(p, stream, chunked);
    case 3: return launch_n<3>(p, stream, chunked);
    case 4: return launch_n<4>(p, stream, chunked);
    case 5: return launch_n<5>(p, stream, chunked);
    case 6: return launch_n<6>(p, stream, chunked);
    case 7: return launch_n<7>(p, stream, chunked);
    case kMaxN: return launch_n<kMaxN>(p, stream, chunked);
    default: fail(MHC_STATUS_INTERNAL, "pre backward: n = {} exceeds {}", p.n, kMaxN);
  }
}

}  // namespace mhc::cuda
