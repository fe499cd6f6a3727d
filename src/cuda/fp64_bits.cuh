// fp32 -> fp64 and fp64 -> bf16 by integer operations, for the kernels that form bf16 results
// exactly in fp64 (one rounding, bit-identical to the host reference): conversions to and from
// 64-bit types issue at a quarter of the fp64 FMA rate on sm_80 / sm_90, and those kernels convert
// every element. Same values as the hardware conversions, which keep the rare cases. The bit logic
// is host code too, so that a host test checks it against the hardware conversions (every float
// for f32_to_f64; ties, carries and random doubles for the bf16 rounding).
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define MHC_BITS_FN __host__ __device__ __forceinline__
#else
#define MHC_BITS_FN inline
#endif

namespace mhc::bits {

MHC_BITS_FN uint32_t f32_as_u32(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
#endif
}

MHC_BITS_FN double f64_from_words(uint32_t hi, uint32_t lo) {
#if defined(__CUDA_ARCH__)
  return __hiloint2double(static_cast<int>(hi), static_cast<int>(lo));
#else
  const uint64_t b = (uint64_t{hi} << 32) | lo;
  double d;
  std::memcpy(&d, &b, 8);
  return d;
#endif
}

MHC_BITS_FN void f64_words(double d, uint32_t& hi, uint32_t& lo) {
#if defined(__CUDA_ARCH__)
  hi = static_cast<uint32_t>(__double2hiint(d)), lo = static_cast<uint32_t>(__double2loint(d));
#else
  uint64_t b;
  std::memcpy(&b, &d, 8);
  hi = static_cast<uint32_t>(b >> 32), lo = static_cast<uint32_t>(b);
#endif
}

// Exact. Zero and normal numbers by bits; subnormals, inf and NaN by the conversion.
MHC_BITS_FN double f32_to_f64(float f) {
  const uint32_t u = f32_as_u32(f), e = (u >> 23) & 0xffu, m = u & 0x7fffffu;
  if (e == 0xffu || (e == 0u && m != 0u)) return static_cast<double>(f);
  const uint32_t sign = u & 0x80000000u;
  return e == 0u ? f64_from_words(sign, 0u) : f64_from_words(sign | ((e + 896u) << 20) | (m >> 3), u << 29);
}

// Round-to-nearest-even fp64 -> bf16 bits where the result's exponent is a normal one before
// rounding (fp32 / bf16 exponents 1..254): the top 7 fraction bits, rounded by the 45 below them
// (a carry into the exponent, up to inf, is the rounding's). -1 elsewhere (zero, tiny, huge, inf,
// NaN): the caller converts those the slow way.
MHC_BITS_FN int32_t f64_to_bf16_normal(double d) {
  uint32_t hi, lo;
  f64_words(d, hi, lo);
  const uint32_t e = (hi >> 20) & 0x7ffu;
  if (e < 897u || e > 1150u) return -1;
  const uint32_t keep = ((hi & 0x80000000u) >> 16) | ((e - 896u) << 7) | ((hi >> 13) & 0x7fu);
  const uint32_t rem = hi & 0x1fffu;
  const bool up = rem > 0x1000u || (rem == 0x1000u && (lo != 0u || (keep & 1u) != 0u));
  return static_cast<int32_t>(keep + (up ? 1u : 0u));
}

}  // namespace mhc::bits

#if defined(__CUDACC__)
#include "launch.cuh"

namespace mhc::cuda {

using bits::f32_to_f64;

// f64_to_bf16 (launch.cuh), with the common case by bits.
__device__ __forceinline__ uint16_t f64_to_bf16_bits(double d) {
  const int32_t r = bits::f64_to_bf16_normal(d);
  return r >= 0 ? static_cast<uint16_t>(r) : f64_to_bf16(d);
}

}  // namespace mhc::cuda
#endif
