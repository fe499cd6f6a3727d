// A3' (pre backward) and A5' (head backward) in three launches, every reduction in a fixed order:
//   1. token kernel, W tokens per CTA of W warps: dpre[i] = sum_x dli[x] R[i,x] (fp64, each token
//      summed by the whole CTA), then the coefficient math in reverse, a warp per token, in fp64
//      (RMS, gates, every Sinkhorn step recomputed from the saved D and Q, its iterates kept in
//      shared memory; line-parallel lanes): dD [T,N], dQ, pre [T,n]
//      to workspace, and the dbase / dscale terms of the token (dz [T,N], dsc [T,3], fp64).
//   2. column kernel, a CTA per 64 columns k of K and token lane (blocks of 256 tokens, 8 lanes):
//      dR[t,k] = pre[i] dli[x] + sum_j dD[t,j] w(fn[j,k]) + 2 dQ[t] A[t,k] (fp32, one rounding to
//      bf16), and the lane's partial of dfn[j,k] = sum_t dD[t,j] A[t,k] (fp32: each of the CTA's
//      token groups ascending in t, then the groups ascending). Where C % 8 == 0 and A, dli, dR
//      are 16-byte aligned, both products run on tensor cores instead (tf32 operands split
//      hi + lo, fp32 accumulation, the dfn partial ascending in t).
//   3. finish kernel: dfn = the lanes' partials added in ascending order (fp64, one rounding);
//      dbase[j] = sum_t dz[t,j], dscale[g] = sum_t dsc[t,g] (fp64, a fixed split over 256 threads).
//      No atomics anywhere; every order depends on T alone.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mhc::cuda {

struct PreBackwardParams {
  const uint16_t* A;       // residual [T, K]
  const uint16_t* dli;     // dL/d layer_input [T, C]
  const float* dpost;      // [T, n]; NULL for the head
  const float* dcomb;      // [T, n, n]; NULL for the head
  const float* D;          // the forward's saved D [T, N]
  const float* Q;          // the forward's saved Q [T]
  const float* fn;         // [N, K]
  const float* scale;      // [3]; the head: [1]
  const float* base;       // [N]
  uint16_t* dR;            // [T, K]
  float* dfn;              // [N, K]
  float* dscale;           // [3]; the head: [1]
  float* dbase;            // [N]
  uint32_t accumulate;     // MHC_GRAD_ACCUMULATE_* bits
  // workspace (PreBackwardWorkspace below carves it)
  float* w_dD;             // [T, dD_stride] (rows padded to 16 bytes)
  float* w_coef;           // [T, n + 1]: pre[0 .. n-1], dQ
  double* w_dz;            // [T, N]
  double* w_dsc;           // [T, 3]
  float* w_part;           // [lanes, N, K]: dfn partials
  int64_t dD_stride;
  int64_t T, C, K;
  int n, N;
  bool head;               // A5': the pre gate only, one scale
  int weight_precision;    // MHC_DTYPE_TF32, _TF32X3 or _FP32: w() of the dR GEMM term
  float rms_eps, pre_eps, sinkhorn_eps, post_mult;
  int repeat;              // sinkhorn_repeat
  // Set by launch_pre_backward: the token kernel's tokens [tok_begin, tok_end) (chained with PDL,
  // it streams its dpre sums, which read only the inputs, before it waits); the column kernel's
  // block (-1: every lane's blocks; b: block b alone, its lane's dfn partial carried through
  // w_part).
  int64_t tok_begin, tok_end, col_block;
};

// Workspace of a run of up to T tokens: one layout that both sizes and carves it.
struct PreBackwardWorkspace {
  int64_t dD_stride;
  size_t dD, coef, dz, dsc, part, total;
  PreBackwardWorkspace(int64_t T, int n, int N, int64_t K);
  void carve(void* base, PreBackwardParams& p) const;
};

// Shared memory the token kernel needs per token (warp) for n and repeat (the Sinkhorn iterates
// and the coefficient scratch); 0 if the iterates are too large. And the tokens per CTA.
size_t pre_backward_token_smem(int n, int repeat);
int pre_backward_token_warps(int n, int repeat);
// Enqueues the three kernels (T >= 1). `chunked` (sm_90, the tensor-core column kernel): per block
// of 256 tokens the token kernel then the column kernel, chained with programmatic dependent
// launch, so the column kernel re-reads the block's residual and dli from L2 and the next block's
// dpre sums stream while it runs; the same operations in the same orders, the same bits.
void launch_pre_backward(const PreBackwardParams& p, void* stream, bool chunked = false);

}  // namespace mhc::cuda
