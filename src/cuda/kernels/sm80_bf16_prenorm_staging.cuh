// The cp.async staging of the staged prenorm GEMM kernels (tf32 and bf16): a CTA's tokens and K
// range, and one 32-k chunk of its residual rows and fn rows copied into shared memory.
#pragma once

#include <cstdint>

#include "../cp_async.cuh"
#include "../launch.cuh"
#include "../smem_optin.hpp"
#include "sm80_tf32_prenorm_gemm.cuh"

namespace mhc::cuda::staging {

constexpr int kChunk = 32;  // k per stage: 16 bf16-pair words of a residual row

// A CTA's share of the launch: tokens [tb, tb + tokens) of partial slot `slot`, whose K range
// [k_begin, k_end) is nc >= 1 chunks (a slot is never empty), and the fn rows it copies (N, at
// most max_rows).
struct Slot {
  int slot, tokens, rows;
  int64_t tb, k_begin, k_end, nc;
};
template <int kCtaTokens>
__device__ __forceinline__ Slot cta_slot(const PrenormGemmParams& p, int max_rows) {
  Slot s;
  s.slot = blockIdx.y;
  s.tb = static_cast<int64_t>(blockIdx.x) * kCtaTokens;
  const SlotRange range = slot_k_range(p.G, p.K, p.S, p.U, s.slot);
  s.k_begin = range.begin, s.k_end = range.end;
  s.nc = (s.k_end - s.k_begin + kChunk - 1) / kChunk;
  s.tokens = static_cast<int>(p.T - s.tb < kCtaTokens ? p.T - s.tb : kCtaTokens);
  s.rows = p.N < max_rows ? p.N : max_rows;
  return s;
}

// Shared memory of a staged kernel: a ring of kStages stages of [residual rows | fn rows] words,
// as deep as a CTA's share of an sm_90 SM allows (at most 8), then kExtraWords of the kernel's own
// (converted fn, double-buffered).
constexpr int smem_budget(int ctas_per_sm) { return 233472 / ctas_per_sm - 1024; }  // 228 KB, 1 KB per CTA
template <int kAWords, int kFnWords, int kExtraWords, int kCtasPerSm>
struct Ring {
  static constexpr int kStageWords = kAWords + kFnWords;
  static constexpr int kFit = (smem_budget(kCtasPerSm) - kExtraWords * 4) / (kStageWords * 4);
  static constexpr int kStages = kFit < 8 ? kFit : 8;
  static_assert(kStages >= 3, "the ring needs a stage multiplied, one converted and one in flight");
  static constexpr size_t kBytes = (size_t{kStages} * kStageWords + kExtraWords) * 4;

  uint32_t* base;
  __device__ __forceinline__ uint32_t* a(int stage) const { return base + stage * kStageWords; }
  __device__ __forceinline__ uint32_t* fn(int stage) const { return a(stage) + kAWords; }
  __device__ __forceinline__ uint32_t* extra() const { return base + kStages * kStageWords; }
};

// Words [from, to) of w set to zero by the CTA's kThreads threads (rows no copy fills).
template <int kThreads>
__device__ __forceinline__ void zero_words(uint32_t* w, int from, int to) {
  for (int i = from + threadIdx.x; i < to; i += kThreads) w[i] = 0u;
}

// Chunk c of the slot copied: the CTA's residual rows into a ([token][16 words]) and fn rows as
// fp32 into fn ([row][fn_stride words]), in 16-byte pieces zero-filled past the slot's end (K % 8
// == 0 on this path: a piece is all in or all out). The caller commits.
template <int kThreads>
__device__ __forceinline__ void copy_chunk(const PrenormGemmParams& p, const Slot& s, int64_t c, uint32_t* a,
                                           uint32_t* fn, int fn_stride) {
  const int64_t k0 = s.k_begin + c * kChunk;
  for (int i = threadIdx.x; i < s.tokens * 4; i += kThreads) {
    const int row = i / 4, k = (i % 4) * 8;
    const uint16_t* src = p.A + (s.tb + row) * p.K;
    const bool in = k0 + k < s.k_end;
    cp_async16(a + row * (kChunk / 2) + k / 2, in ? src + k0 + k : src, in ? 16 : 0);
  }
  for (int i = threadIdx.x; i < s.rows * 8; i += kThreads) {
    const int row = i / 8, k = (i % 8) * 4;
    const float* src = p.fn + static_cast<int64_t>(row) * p.K;
    const bool in = k0 + k < s.k_end;
    cp_async16(fn + row * fn_stride + k, in ? src + k0 + k : src, in ? 16 : 0);
  }
}

// A staged kernel over (token blocks of kCtaTokens, the S * U slots), launched once the device
// has given it `smem` bytes of shared memory; false (nothing launched) when it cannot.
template <int kCtaTokens, int kThreads>
bool launch_ring(const char* name, void (*kernel)(PrenormGemmParams), size_t smem, const PrenormGemmParams& p,
                 const DeviceInfo& dev, void* stream, bool pdl) {
  if (!opt_in_dynamic_smem(reinterpret_cast<const void*>(kernel), smem, dev, name)) return false;
  launch(name, kernel, dim3(ceil_div_u(p.T, kCtaTokens), static_cast<unsigned>(p.S * p.U)), dim3(kThreads), smem,
         stream, pdl, p);
  return true;
}

}  // namespace mhc::cuda::staging
