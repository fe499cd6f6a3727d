// Exact conversions the reference needs: bf16 <-> double with one round-to-nearest-even (no
// double rounding through float), and fp32 -> tf32 round-to-nearest-even. Header-only so that
// tests can use the same definitions.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace mhc::num {

inline float bits_to_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline uint32_t float_to_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

inline double bf16_to_double(uint16_t b) { return bits_to_float(uint32_t{b} << 16); }

// bf16(v): round v (a double) once to the nearest bfloat16, ties to even; overflow gives inf.
inline uint16_t double_to_bf16(double v) {
  if (std::isnan(v)) return 0x7fc0;
  const double a = std::fabs(v);
  double r;
  if (std::isinf(a)) {
    r = a;
  } else if (a == 0.0) {
    r = 0.0;
  } else {
    int e = 0;
    std::frexp(a, &e);                      // a = m * 2^e, m in [0.5, 1): leading bit 2^(e-1)
    const int lead = e - 1 < -126 ? -126 : e - 1;  // below 2^-126 the spacing stays 2^-133
    const double ulp = std::ldexp(1.0, lead - 7);
    r = std::nearbyint(a / ulp) * ulp;      // a / ulp is exact; nearbyint rounds half to even
    if (r > 3.3895313892515355e38) r = INFINITY;  // past the largest bf16
  }
  const uint32_t u = float_to_bits(static_cast<float>(std::signbit(v) ? -r : r));  // exact
  return static_cast<uint16_t>(u >> 16);
}

inline float bf16_to_float(uint16_t b) { return bits_to_float(uint32_t{b} << 16); }

// tf32(x): keep 10 mantissa bits, round to nearest, ties to even.
inline float round_tf32(float x) {
  if (!std::isfinite(x)) return x;
  uint32_t u = float_to_bits(x);
  u += 0xfffu + ((u >> 13) & 1u);
  u &= 0xffffe000u;
  return bits_to_float(u);
}

inline double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

}  // namespace mhc::num
