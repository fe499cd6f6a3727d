// fp32 -> fp64 and fp64 -> bf16 by integer operations, for the kernels that form bf16 results
// exactly in fp64 (one rounding, bit-identical to the host reference): conversions to and from
// 64-bit types issue at a quarter of the fp64 FMA rate on sm_80 / sm_90, and those kernels convert
// every element. Same values as the hardware conversions, which take the rare cases.
#pragma once

#include "launch.cuh"

namespace mhc::cuda {

// Exact. Zero and normal numbers by bits; subnormals, inf and NaN by the hardware.
__device__ __forceinline__ double f32_to_f64(float f) {
  const uint32_t u = __float_as_uint(f), e = (u >> 23) & 0xffu, m = u & 0x7fffffu;
  if (e == 0xffu || (e == 0u && m != 0u)) return static_cast<double>(f);
  const uint32_t sign = u & 0x80000000u;
  return e == 0u ? __hiloint2double(static_cast<int>(sign), 0)
                 : __hiloint2double(static_cast<int>(sign | ((e + 896u) << 20) | (m >> 3)), static_cast<int>(u << 29));
}

// Round-to-nearest-even fp64 -> bf16, as f64_to_bf16. Where the result is a normal bf16 before
// rounding: the top 7 fraction bits, rounded by the 45 below them; elsewhere f64_to_bf16.
__device__ __forceinline__ uint16_t f64_to_bf16_bits(double d) {
  const uint32_t hi = static_cast<uint32_t>(__double2hiint(d)), lo = static_cast<uint32_t>(__double2loint(d));
  const uint32_t e = (hi >> 20) & 0x7ffu;
  if (e < 897u || e > 1150u) return f64_to_bf16(d);  // outside fp32 / bf16 exponents 1..254
  const uint32_t keep = ((hi & 0x80000000u) >> 16) | ((e - 896u) << 7) | ((hi >> 13) & 0x7fu);
  const uint32_t rem = hi & 0x1fffu;
  const bool up = rem > 0x1000u || (rem == 0x1000u && (lo != 0u || (keep & 1u) != 0u));
  return static_cast<uint16_t>(keep + (up ? 1u : 0u));
}

}  // namespace mhc::cuda
