// a3_pre for decode-size runs in one launch on thread-block clusters of 16 CTAs: a cluster owns a
// block of up to 8 tokens, CTA rank r the columns [r C/16, (r + 1) C/16) of every stream. A CTA
// copies its slice of the block's residual and of fn (every mix's row) into shared memory with
// cp.async (warp j copies fn row j lane by lane and reads back only its own bytes, so the 170 KB
// stream needs no block barrier), warp j forms mix j of every token (warp N: the square-sum) in
// fp32 FMA (fn tf32-rounded for tf32 weights), the lanes reduce in a fixed tree, the 16 ranks'
// partials are added in rank order through distributed shared memory (every CTA the same sums in
// the same order), and each CTA applies the pre gates to its slice while rank 0 writes post and
// comb (Sinkhorn). No partial goes through global memory, and fn is spread over 16 SMs per block.
// Per-token results depend on the token alone; no atomics.
#pragma once

#include <cstdint>
#include <string>

#include "../../runtime/device.hpp"
#include "sm80_f32_pre_fuse.cuh"

namespace mhc::cuda {

constexpr int kPreClusterRanks = 16;  // CTAs per cluster (a non-portable size: sm_90 allows 16)
constexpr int kPreClusterTokens = 8;  // tokens per cluster
constexpr int kPreClusterMaxN = 4;    // a warp per mix: N + 1 <= 25 warps
// Plans of more tokens run on the two-pass engine: every cluster reads all of fn, and with more
// than 8 clusters the grid no longer fits one CTA per SM.
constexpr int64_t kPreClusterMaxTokens = 64;

struct PreClusterParams {
  PreFuseParams f;      // R, layer_input, post_mix, comb_mix, pre_out, D_out, Q_out, scale, base, sizes
  const float* fn;      // [N, K]
  bool round_fn_tf32;   // tf32 weights: fn rounded to tf32 (RNE); else fp32 products
  // The layer boundary in the same launch when Y != NULL (f.R unused): each rank forms its slice of
  // the new residual H = post(Y, H_prev) (fp64, rounded once: A4's bits) into shared memory and
  // H_out, mixes it as pre does, and writes the layer input u (the caller applies the RMSNorm):
  // the collapse of H with the new pre (V4: pre_in NULL; A3's fp32 chain) or with the carried pre
  // (V4.1 shifted: pre_in; fp64, rounded once: the collapse kernel's bits).
  const uint16_t* Y;       // [T, C]
  const uint16_t* H_prev;  // [T, n, C]
  const float* post_in;    // [T, n]
  const float* comb_in;    // [T, n, n]
  const float* pre_in;     // [T, n] the carried pre (shifted), or NULL
  uint16_t* H_out;         // [T, n, C]
};

// Empty when the kernel serves (n, C) on `dev` (`boundary`: with Y); else why not.
std::string pre_cluster_limits(int n, int64_t C, int64_t T, const DeviceInfo& dev, bool boundary = false);
// Enqueues the kernel (16-byte aligned R, fn and layer_input; pre_cluster_limits empty). T >= 1.
void launch_pre_cluster(const PreClusterParams& p, const DeviceInfo& dev, void* stream);

}  // namespace mhc::cuda
