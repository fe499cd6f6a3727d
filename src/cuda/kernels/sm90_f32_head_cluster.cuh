// a5_head in one launch on Hopper thread-block clusters: the residual is read from DRAM once.
// A cluster of 8 CTAs owns a block of 8 tokens at a time; CTA rank r owns the columns
// [r C/8, (r + 1) C/8) of every stream, 4 columns per thread, with fn of those columns in
// registers for the whole (persistent) kernel. Per block: the rank's slice of the residual arrives
// in shared memory through a cp.async ring (each thread copies exactly the bytes it later reads,
// so the ring needs no block barrier), the rank's partial mixes and square-sums are reduced in a
// fixed tree (lanes, then warps ascending), the 8 ranks' partials are added in rank order through
// distributed shared memory (every CTA adds them itself, in the same order: the same values),
// and each CTA applies the pre gates to its slice from shared memory.
// Per-token results depend on the token alone (batch-invariant); fp32 FMA products of bf16 and
// fn (tf32-rounded for tf32 weights), no atomics.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "../../runtime/device.hpp"
#include "sm80_f32_pre_fuse.cuh"

namespace mhc::cuda {

constexpr int kHeadClusterRanks = 8;   // CTAs per cluster (the portable cluster size)
constexpr int kHeadClusterTokens = 8;  // tokens per block
constexpr int kHeadClusterMaxN = 4;    // fn of a thread's columns in registers: n x n x 4 floats
// Plans of fewer tokens run faster on the two-pass engine: with few blocks of 8 tokens most SMs
// idle while each cluster reads all of fn (H100, C = 7168: 14.2 us against 13.3 at T = 128, 21.5
// against 22.6 at T = 256).
constexpr int64_t kHeadClusterMinTokens = 256;

struct HeadClusterParams {
  PreFuseParams f;      // R, layer_input (the head's output), D_out, Q_out, scale, base, T, C, K, n, eps
  const float* fn;      // [n, K]
  bool round_fn_tf32;   // tf32 weights: fn rounded to tf32 (RNE); else fp32 products
  bool pipelined;       // the cluster barrier split around the next block's partials (same bits)
};

// Empty when the kernel serves (n, C) on `dev`; else why not.
std::string head_cluster_limits(int n, int64_t C, const DeviceInfo& dev);
// Enqueues the kernel (16-byte aligned R and output; head_cluster_limits empty). T >= 1.
void launch_head_cluster(const HeadClusterParams& p, const DeviceInfo& dev, void* stream);

}  // namespace mhc::cuda
