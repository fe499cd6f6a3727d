// The CUDA kernels' conversions by bits (src/cuda/fp64_bits.cuh, compiled here as host code: the
// same source the kernels use) against the language's float -> double conversion and the host
// reference's bf16 rounding (src/host/numeric.hpp), which the GPU results are compared with.
#include <cmath>
#include <random>

#include "../src/cuda/fp64_bits.cuh"
#include "support.hpp"

namespace {

uint64_t f64_bits(double d) {
  uint64_t b;
  std::memcpy(&b, &d, 8);
  return b;
}

// The same value (NaN: any NaN), compared by bits so that the sign of zero counts.
bool same(double got, double want) {
  return std::isnan(want) ? std::isnan(got) : f64_bits(got) == f64_bits(want);
}

}  // namespace

TEST_CASE("f32_to_f64 is the exact conversion: every 251st float and every exponent's edges") {
  int64_t bad = 0;
  uint32_t first = 0;
  auto check = [&](uint32_t u) {
    const float f = mhc::num::bits_to_float(u);
    if (!same(mhc::bits::f32_to_f64(f), static_cast<double>(f)) && bad++ == 0) first = u;
  };
  for (uint64_t u = 0; u < (uint64_t{1} << 32); u += 251) check(static_cast<uint32_t>(u));
  for (uint32_t sign : {0u, 0x80000000u})
    for (uint32_t e = 0; e < 256; ++e)
      for (uint32_t m : {0u, 1u, 2u, 7u, 8u, 0x400000u, 0x7ffff8u, 0x7ffffeu, 0x7fffffu}) check(sign | (e << 23) | m);
  INFO("first mismatch: float bits 0x" << std::hex << first);
  CHECK(bad == 0);
}

TEST_CASE("f64_to_bf16_normal rounds as the reference wherever it applies, and applies on the normal range") {
  std::mt19937_64 rng(7);
  int64_t bad = 0, coverage_bad = 0;
  double first = 0;
  auto check = [&](double d) {
    const int32_t r = mhc::bits::f64_to_bf16_normal(d);
    const double a = std::fabs(d);
    const bool normal = a >= std::ldexp(1.0, -126) && a < std::ldexp(1.0, 128);
    if ((r >= 0) != normal) ++coverage_bad;
    if (r >= 0 && static_cast<uint16_t>(r) != mhc::num::double_to_bf16(d) && bad++ == 0) first = d;
  };
  // Random doubles over the range and beyond it, both signs.
  std::uniform_real_distribution<double> mant(1.0, 2.0);
  std::uniform_int_distribution<int> ex(-140, 140);
  for (int i = 0; i < 2000000; ++i) {
    const double d = std::ldexp(mant(rng), ex(rng));
    check(rng() & 1 ? -d : d);
  }
  // Ties and their neighbours: the midpoint of two adjacent bf16 values (exact in fp64), one fp64
  // ulp either side; every bf16 with a normal exponent, so carries into the exponent (0x..7f) and
  // the overflow of the largest finite value to inf are among them.
  for (uint32_t b = 0x0080; b < 0x7f80; ++b)
    for (uint32_t sign : {0u, 0x8000u}) {
      const double lo = mhc::num::bf16_to_double(static_cast<uint16_t>(sign | b));
      const double hi = b + 1 < 0x7f80 ? mhc::num::bf16_to_double(static_cast<uint16_t>(sign | (b + 1)))
                                       : (sign ? -1.0 : 1.0) * std::ldexp(1.0, 128);
      const double mid = lo + (hi - lo) / 2;
      check(mid);
      check(std::nextafter(mid, 0.0));
      check(std::nextafter(mid, mid * 2));
      check(lo);
    }
  // Outside the range: zero, tiny, huge, inf, NaN are left to the slow path.
  for (double d : {0.0, -0.0, 1e-300, -1e-40, 1e39, -1e300, double(INFINITY), double(NAN)})
    CHECK(mhc::bits::f64_to_bf16_normal(d) == -1);
  INFO("first mismatch at " << first);
  CHECK(bad == 0);
  CHECK(coverage_bad == 0);
}
