// A3 (and A1, A5) in one launch: a persistent split-K GEMM whose CTAs each keep one K slot of fn
// in shared memory (tf32, staged once), stream token blocks of the residual through it, and the
// CTA that finishes a token block's last slot sums the block's partials in slot order and applies
// the fuse (coefficients, Sinkhorn, layer_input) while the block's residual is still in L2.
// The residual is read once from DRAM; fn once per CTA instead of once per token tile.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../../runtime/device.hpp"
#include "sm80_f32_pre_fuse.cuh"

namespace mhc::cuda {

enum class OnepassMode : int {
  kPartials = 0,  // A1: the slot partials are the output
  kReduce = 1,    // A1: partials in workspace, the block's last CTA writes reduced D and Q
  kFuse = 2,      // A3 / A5: the block's last CTA runs the fuse
};

struct OnepassParams {
  const uint16_t* A;  // [T, K] bf16 bits (this launch's tokens)
  const float* fn;    // [N, K]
  float* D;           // slot s, token t, mix j at D[s * d_split_stride + t * N + j]
  float* Q;           // Q[s * q_split_stride + t]
  int64_t d_split_stride, q_split_stride;
  int* tickets;       // one per token block, zero at launch (kReduce, kFuse)
  int64_t T, K, G;
  int N, S, U;        // slots: S splits x U sub-splits, cut as the two-pass GEMM cuts them
  OnepassMode mode;
  PreFuseParams fuse; // kFuse: the fuse (D, Q, S as above); kReduce: D_out, Q_out
};

// Tokens per block: 16 or 32 (one or two m16 tiles of tokens).
int onepass_tile_tokens(int64_t plan_tokens);
// Longest slot in K elements (what the CTA stages of fn).
int64_t onepass_max_slot_k(int64_t G, int S, int U);
// Shared memory of the kernel (dynamic + static); the SKU refuses problems above the device's
// opt-in limit.
size_t onepass_smem_bytes(int N, int64_t max_slot_k, bool fp32_weights, int tile_tokens);
// CTAs of one launch: slots x (CTAs per slot), the CTAs of a slot splitting the token blocks.
int64_t onepass_ctas(int64_t T, int S, int U, int tile_tokens, int sm_count, size_t smem_bytes);

// Enqueues the kernel (16-byte path: K % 8 == 0, C % 8 == 0, every tensor 16-byte aligned).
// `n`: the streams of the fuse (any value 1..8 for the A1 modes).
void launch_onepass(const OnepassParams& p, int n, bool fp32_weights, int tile_tokens, const DeviceInfo& dev,
                    void* stream);

}  // namespace mhc::cuda
