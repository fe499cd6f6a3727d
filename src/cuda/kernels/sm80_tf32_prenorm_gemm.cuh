// A1: D[s,t,j] = sum_{k in K_s} A[t,k] w(fn[j,k]), Q[s,t] = sum_{k in K_s} A[t,k]^2 on tf32 tensor
// cores (mma.sync m16n8k8, sm_80+). Mixes are the MMA's M (16-row tiles), tokens its N (8-column
// tiles), so decode (T = 1) wastes little. bf16 A is exact in tf32; fn is rounded to tf32 (RNE),
// or split hi + lo for fp32 weight precision (3xTF32-style, error ~2^-22).
#pragma once

#include <cstdint>

#include "../../runtime/device.hpp"

namespace mhc::cuda {

struct PrenormGemmParams {
  const uint16_t* A;       // [T, K] bf16 bits (this launch's tokens)
  const float* fn;         // [N, K]
  float* D;                // split s, token t, mix j at D[s * d_split_stride + t * N + j]
  float* Q;                // Q[s * q_split_stride + t]
  int64_t T, K, G;         // tokens, K, K granules (ceil(K / 64))
  int64_t d_split_stride, q_split_stride;
  int N, S;
  int U;                   // sub-splits per split: partial slot s*U+u covers part u of split s
  bool preload;            // PDL: may read A and fn before pdl_wait (not the run's first kernel)
};

// The K range [begin, end) of partial slot s * U + u: split s covers granules [s*per + min(s, extra),
// ...) of ceil(K / 64) (DeepGEMM's rule); sub-split u cuts that range the same way; the last
// granule may be short. Shared by every GEMM kernel so that their slots agree.
struct SlotRange {
  int64_t begin, end;
};
__host__ __device__ inline SlotRange slot_k_range(int64_t G, int64_t K, int S, int U, int slot) {
  const int64_t s = slot / U, u = slot % U;
  const int64_t per = G / S, extra = G % S;
  const int64_t g0 = s * per + (s < extra ? s : extra), g1 = (s + 1) * per + (s + 1 < extra ? s + 1 : extra);
  const int64_t uper = (g1 - g0) / U, uextra = (g1 - g0) % U;
  const int64_t begin = (g0 + u * uper + (u < uextra ? u : uextra)) * 64;
  const int64_t end = (g0 + (u + 1) * uper + (u + 1 < uextra ? u + 1 : uextra)) * 64;
  return {begin, end < K ? end : K};
}

// Launch shape chosen by the host heuristic: mix tiles (ceil(N/16)), token tiles of 8 per CTA.
// Launches of at least kWideMinTokens tokens take a wide kernel (16 token tiles per CTA, the
// warps splitting tokens instead of K): the staged one (A and fn through a cp.async ring in shared
// memory) on the vector path where the device has the shared memory, else the one that holds A in
// registers. Every kernel's partials are the narrow kernel's bit for bit.
struct PrenormGemmShape {
  int mix_tiles;
  int token_tiles;
};
constexpr int64_t kWideMinTokens = 1024;

// kAuto: the above. kBf16: the bf16 tensor-core kernel (sm80_bf16_prenorm_gemm.cuh) at every T
// on the vector path, kAuto elsewhere: other bits than the tf32 kernels, so a caller takes it for
// a whole run (gemm_kernel_of_run), never for part of one. The others keep an earlier kernel for
// the before/after SKUs: kNarrow the narrow kernel at every T, kWideRegisters the
// register-pipelined wide kernel from kWideMinTokens.
enum class GemmKernel { kAuto, kNarrow, kWideRegisters, kBf16 };

PrenormGemmShape prenorm_gemm_shape(int N, int64_t T, GemmKernel kernel = GemmKernel::kAuto);
// Enqueues the kernel on `dev` (the plan's device); `fp32_weights` selects the hi + lo split of fn.
void launch_prenorm_gemm(const PrenormGemmParams& p, bool fp32_weights, bool vector_path, const DeviceInfo& dev,
                         void* stream, bool pdl, GemmKernel kernel = GemmKernel::kAuto);

// Sums split partials in ascending s into reduced D [T, N] and Q [T] (A1 with reduced output).
struct SplitReduceParams {
  const float* D;
  const float* Q;
  float* D_out;
  float* Q_out;
  int64_t T, d_split_stride, q_split_stride;
  int N, S;
};
void launch_split_reduce(const SplitReduceParams& p, void* stream, bool pdl);

}  // namespace mhc::cuda
