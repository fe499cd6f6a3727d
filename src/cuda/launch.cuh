// Device-side building blocks shared by every kernel family: bf16/tf32 conversions, the tf32
// tensor-core MMA, programmatic dependent launch (PDL) controls, and the host launch helper.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "../common/error.hpp"

namespace mhc::cuda {

// ---- numbers --------------------------------------------------------------------------------
__device__ __forceinline__ float bf16_lo(uint32_t w) { return __uint_as_float(w << 16); }
__device__ __forceinline__ float bf16_hi(uint32_t w) { return __uint_as_float(w & 0xffff0000u); }
__device__ __forceinline__ float bf16_to_f32(uint16_t b) { return __uint_as_float(uint32_t{b} << 16); }

// 8 bf16 (one 16-byte vector) to fp32, lowest address first; and 8 bf16 bit patterns packed back.
__device__ __forceinline__ void unpack_bf16x8(const uint4& v, float (&f)[8]) {
  const uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
  for (int e = 0; e < 4; ++e) f[2 * e] = bf16_lo(w[e]), f[2 * e + 1] = bf16_hi(w[e]);
}
__device__ __forceinline__ uint4 pack_bf16x8(const uint16_t (&h)[8]) {
  return {h[0] | (uint32_t{h[1]} << 16), h[2] | (uint32_t{h[3]} << 16), h[4] | (uint32_t{h[5]} << 16),
          h[6] | (uint32_t{h[7]} << 16)};
}

// Round-to-nearest-even fp32 -> bf16 (finite inputs; NaN stays NaN).
__device__ __forceinline__ uint16_t f32_to_bf16(float f) {
  const uint32_t u = __float_as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  return uint32_t{f32_to_bf16(lo)} | (uint32_t{f32_to_bf16(hi)} << 16);
}
// Two fp32 -> bf16 round-to-nearest-even in one instruction (lo in the low half); finite values
// round exactly as f32_to_bf16, a NaN becomes the canonical NaN.
__device__ __forceinline__ uint32_t pack_bf16_rn(float lo, float hi) {
  uint32_t r;
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}
// Round-to-nearest-even fp64 -> bf16 in one rounding. sm_90 converts in one instruction; before
// it: truncate to fp32 and keep "inexact" in the last bit (round to odd: fp32 has 16 bits more
// than bf16, so the second rounding is exact), two fp64 conversions and the bit work.
__device__ __forceinline__ uint16_t f64_to_bf16(double d) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  uint16_t r;
  asm("cvt.rn.bf16.f64 %0, %1;" : "=h"(r) : "d"(d));
  return r;
#else
  float f = __double2float_rz(d);
  if (static_cast<double>(f) != d && !isinf(f) && !isnan(f)) f = __uint_as_float(__float_as_uint(f) | 1u);
  return f32_to_bf16(f);
#endif
}

// Round-to-nearest-even fp32 -> tf32 (10 mantissa bits), as w() = tf32 in docs/numerics.md.
__device__ __forceinline__ uint32_t tf32_rne(float x) {
  const uint32_t u = __float_as_uint(x);
  if ((u & 0x7f800000u) == 0x7f800000u) return u;
  return (u + 0xfffu + ((u >> 13) & 1u)) & 0xffffe000u;
}

// f as two tf32 words (the 3xTF32 split): hi = w(f), lo = w(f - hi); f - hi is exact in fp32.
__device__ __forceinline__ void split_tf32(float f, uint32_t& hi, uint32_t& lo) {
  hi = tf32_rne(f);
  lo = tf32_rne(f - __uint_as_float(hi));
}

__device__ __forceinline__ float sigmoidf_acc(float z) { return 1.0f / (1.0f + expf(-z)); }

// kCount floats into registers through the read-only path: 16-byte loads when kCount % 4 == 0
// (src 16-byte aligned then), else one at a time.
template <int kCount>
__device__ __forceinline__ void ldg_floats(const float* src, float (&dst)[kCount]) {
  if constexpr (kCount % 4 == 0) {
#pragma unroll
    for (int i = 0; i < kCount; i += 4) {
      const float4 v = __ldg(reinterpret_cast<const float4*>(src + i));
      dst[i] = v.x, dst[i + 1] = v.y, dst[i + 2] = v.z, dst[i + 3] = v.w;
    }
  } else {
#pragma unroll
    for (int i = 0; i < kCount; ++i) dst[i] = __ldg(src + i);
  }
}

// D += A(16x8, tf32, row) * B(8x8, tf32, col), fp32 accumulate (sm_80+).
__device__ __forceinline__ void mma_tf32_16x8x8(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// D += A(16x16, bf16, row) * B(16x8, bf16, col), fp32 accumulate (sm_80+).
__device__ __forceinline__ void mma_bf16_16x8x16(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// ---- programmatic dependent launch (sm_90; no-ops before) -------------------------------------
// A kernel launched with PDL may start before the previous kernel of the stream ends. It must call
// pdl_wait() before touching anything that kernel writes or reads; every CTA calls it.
__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void pdl_launch_dependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

// ---- host side --------------------------------------------------------------------------------
inline void check_cuda(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    // The last-error state is restored by the run's CudaErrorStateScope (src/runtime/device.hpp).
    fail(MHC_STATUS_EXECUTION_FAILED_CUDA, "{}: {} ({})", what, cudaGetErrorString(e), cudaGetErrorName(e));
  }
}

// A launch configuration: clusters of `cluster` CTAs along x when cluster > 1 (sm_90), and with
// pdl a launch that may overlap the previous kernel's tail (the kernel then orders itself with
// pdl_wait()). `cfg` points into the object: not copyable.
struct LaunchConfig {
  cudaLaunchConfig_t cfg{};
  cudaLaunchAttribute attr[2];
  LaunchConfig(dim3 grid, dim3 block, size_t smem, void* stream, bool pdl, unsigned cluster = 1) {
    cfg.gridDim = grid;
    cfg.blockDim = block;
    cfg.dynamicSmemBytes = smem;
    cfg.stream = static_cast<cudaStream_t>(stream);
    cfg.attrs = attr;
    if (cluster > 1) {
      attr[cfg.numAttrs].id = cudaLaunchAttributeClusterDimension;
      attr[cfg.numAttrs].val.clusterDim.x = cluster, attr[cfg.numAttrs].val.clusterDim.y = 1;
      attr[cfg.numAttrs++].val.clusterDim.z = 1;
    }
    if (pdl) {
      attr[cfg.numAttrs].id = cudaLaunchAttributeProgrammaticStreamSerialization;
      attr[cfg.numAttrs++].val.programmaticStreamSerializationAllowed = 1;
    }
  }
  LaunchConfig(const LaunchConfig&) = delete;
  LaunchConfig& operator=(const LaunchConfig&) = delete;
};

// Launches `kernel` on `stream` with `lc`'s configuration.
template <typename... KArgs, typename... Args>
void launch(const char* name, void (*kernel)(KArgs...), const LaunchConfig& lc, Args&&... args) {
  const cudaError_t e = cudaLaunchKernelEx(&lc.cfg, kernel, std::forward<Args>(args)...);
  if (e != cudaSuccess) {
    const dim3 g = lc.cfg.gridDim;
    fail(MHC_STATUS_EXECUTION_FAILED_LAUNCH, "launching {} (grid {}x{}x{}, block {}): {} ({})", name, g.x, g.y, g.z,
         lc.cfg.blockDim.x, cudaGetErrorString(e), cudaGetErrorName(e));
  }
}

// Launches `kernel` on `stream`; with pdl the launch may overlap the previous kernel's tail.
template <typename... KArgs, typename... Args>
void launch(const char* name, void (*kernel)(KArgs...), dim3 grid, dim3 block, size_t smem, void* stream, bool pdl,
            Args&&... args) {
  launch(name, kernel, LaunchConfig(grid, block, smem, stream, pdl), std::forward<Args>(args)...);
}

inline unsigned ceil_div_u(int64_t a, int64_t b) { return static_cast<unsigned>((a + b - 1) / b); }
// Whether ptr is a multiple of `bytes` (the vector paths' precondition on every tensor they touch).
inline bool aligned(const void* ptr, size_t bytes) { return reinterpret_cast<uintptr_t>(ptr) % bytes == 0; }

}  // namespace mhc::cuda
