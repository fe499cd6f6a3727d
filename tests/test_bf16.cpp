// src/host/numeric.hpp (the conversions every reference output goes through) against the
// independent bit-level implementations in test_numerics_oracle.hpp, plus hand-written values.
#include "test_numerics_oracle.hpp"

#include <sstream>
#include <string>

using mhc::num::bf16_to_double;
using mhc::num::double_to_bf16;
using mhc::num::round_tf32;

namespace {

// Mismatch counter: reports the count and the first offending input.
struct Tally {
  size_t bad = 0;
  std::string first;
  template <typename F>
  void expect(bool ok, F describe) {
    if (!ok && bad++ == 0) first = describe();
  }
};

// Both NaN, or the same bits.
bool same_bf16(uint16_t a, uint16_t b) {
  return (oracle::bf16_is_nan(a) && oracle::bf16_is_nan(b)) || a == b;
}

}  // namespace

TEST_CASE("bf16: the oracle's own rounding matches hand-written values", "[bf16]") {
  CHECK(oracle::to_bf16(1.0) == 0x3f80);
  CHECK(oracle::to_bf16(-2.0) == 0xc000);
  CHECK(oracle::to_bf16(1.0 + std::ldexp(1.0, -8)) == 0x3f80);       // tie, 1.0 is even
  CHECK(oracle::to_bf16(1.0 + 3 * std::ldexp(1.0, -8)) == 0x3f82);   // tie, 0x3f82 is even
  CHECK(oracle::to_bf16(3.3895313892515355e38) == 0x7f7f);           // largest finite
  CHECK(oracle::to_bf16(3.3961775292304611e38) == 0x7f80);           // its tie with 2^128: inf
  CHECK(oracle::to_bf16(std::ldexp(1.0, -133)) == 0x0001);           // least subnormal
  CHECK(oracle::to_bf16(std::ldexp(1.0, -134)) == 0x0000);           // tie with 0: even
  CHECK(oracle::to_bf16(-std::ldexp(1.0, -134)) == 0x8000);
  CHECK(oracle::to_bf16(std::ldexp(3.0, -134)) == 0x0002);           // 1.5 ulps: tie, to even
  CHECK(oracle::from_bf16(0x0001) == std::ldexp(1.0, -133));
  CHECK(oracle::from_bf16(0x7f7f) == 3.3895313892515355e38);
  CHECK(oracle::to_tf32(1.0f + std::ldexp(1.0f, -11)) == 1.0f);
  CHECK(oracle::to_tf32(1.0f + 3 * std::ldexp(1.0f, -11)) == 1.0f + std::ldexp(1.0f, -9));
}

TEST_CASE("bf16: bf16_to_double decodes every bf16 exactly", "[bf16]") {
  Tally tally;
  for (uint32_t b = 0; b < 0x10000; ++b) {
    const double got = bf16_to_double(static_cast<uint16_t>(b)), want = oracle::from_bf16(static_cast<uint16_t>(b));
    // NaN stays NaN; everything else the same double, the sign of zero included
    const bool ok = std::isnan(want) ? std::isnan(got) : oracle::dbits(got) == oracle::dbits(want);
    tally.expect(ok, [&] { return "bits 0x" + std::to_string(b); });
  }
  INFO(tally.first);
  CHECK(tally.bad == 0);
}

TEST_CASE("bf16: double_to_bf16 on every bf16, every midpoint and its neighbours", "[bf16]") {
  // For each finite non-negative bf16 b and its successor: b, the exact midpoint (a tie), the
  // doubles just below and just above the midpoint, and the quarter points; both signs.
  Tally tally;
  for (uint32_t b = 0; b < 0x7f80; ++b) {
    const double lo = oracle::from_bf16(static_cast<uint16_t>(b)), hi = oracle::from_bf16(static_cast<uint16_t>(b + 1));
    const double mid = 0.5 * (lo + hi);  // exact in double
    const double probes[] = {lo, mid, std::nextafter(mid, 0.0), std::nextafter(mid, INFINITY),
                             lo + 0.25 * (hi - lo), lo + 0.75 * (hi - lo)};
    for (double v : probes)
      for (double sgn : {1.0, -1.0}) {
        const uint16_t got = double_to_bf16(sgn * v), want = oracle::to_bf16(sgn * v);
        tally.expect(got == want, [&] {
          std::ostringstream o;
          o.precision(17);
          o << "v = " << sgn * v << " got 0x" << std::hex << got << " want 0x" << want;
          return o.str();
        });
      }
  }
  INFO(tally.first);
  CHECK(tally.bad == 0);
}

TEST_CASE("bf16: double_to_bf16 ties go to even, hand cases", "[bf16]") {
  const double u = std::ldexp(1.0, -7);  // bf16 ulp at 1.0
  CHECK(double_to_bf16(1.0 + 0.5 * u) == 0x3f80);   // tie between 0x3f80 (even) and 0x3f81
  CHECK(double_to_bf16(1.0 + 1.5 * u) == 0x3f82);   // tie between 0x3f81 and 0x3f82 (even)
  CHECK(double_to_bf16(1.0 + 0.5 * u + 1e-12) == 0x3f81);
  CHECK(double_to_bf16(-(1.0 + 1.5 * u)) == 0xbf82);
  // No double rounding through float: 1 + u/2 + 2^-30 rounds to float 1 + u/2 (a tie) and
  // then to 1.0, but its one correct rounding is 1 + u.
  CHECK(double_to_bf16(1.0 + 0.5 * u + std::ldexp(1.0, -30)) == 0x3f81);
  CHECK(double_to_bf16(255.5) == 0x4380);  // 255.5 -> 256: a carry into the exponent
}

TEST_CASE("bf16: subnormals, overflow, infinities, NaN, signed zero", "[bf16]") {
  const double tiny = std::ldexp(1.0, -133);  // least bf16 subnormal
  CHECK(double_to_bf16(tiny) == 0x0001);
  CHECK(double_to_bf16(0.5 * tiny) == 0x0000);          // tie with zero: even
  CHECK(double_to_bf16(0.5 * tiny * (1 + 1e-9)) == 0x0001);
  CHECK(double_to_bf16(1.5 * tiny) == 0x0002);          // tie: even
  CHECK(double_to_bf16(2.5 * tiny) == 0x0002);          // tie: even
  CHECK(double_to_bf16(127.5 * tiny) == 0x0080);        // largest subnormal + half: the least normal
  CHECK(double_to_bf16(std::ldexp(1.0, -126)) == 0x0080);
  CHECK(double_to_bf16(-3 * tiny) == 0x8003);
  CHECK(double_to_bf16(1e-300) == 0x0000);
  CHECK(double_to_bf16(-1e-300) == 0x8000);
  CHECK(double_to_bf16(0.0) == 0x0000);
  CHECK(double_to_bf16(-0.0) == 0x8000);
  const double max = 3.3895313892515355e38, ulp = std::ldexp(1.0, 120);
  CHECK(double_to_bf16(max) == 0x7f7f);
  CHECK(double_to_bf16(max + 0.5 * ulp * (1 - 1e-9)) == 0x7f7f);
  CHECK(double_to_bf16(max + 0.5 * ulp) == 0x7f80);     // tie: rounds to 2^128, i.e. inf
  CHECK(double_to_bf16(-(max + 0.5 * ulp)) == 0xff80);
  CHECK(double_to_bf16(1e300) == 0x7f80);
  CHECK(double_to_bf16(INFINITY) == 0x7f80);
  CHECK(double_to_bf16(-INFINITY) == 0xff80);
  CHECK(oracle::bf16_is_nan(double_to_bf16(std::nan(""))));
  CHECK(oracle::bf16_is_nan(double_to_bf16(-std::nan(""))));
}

TEST_CASE("bf16: double_to_bf16 on random doubles of every magnitude", "[bf16]") {
  std::mt19937_64 g(7);
  Tally tally;
  for (int i = 0; i < 400000; ++i) {
    // random sign, exponent across and beyond the bf16 range, random 52-bit mantissa
    const int e = static_cast<int>(g() % 300) - 150;
    const double v = std::ldexp(1.0 + static_cast<double>(g() >> 12) * std::ldexp(1.0, -52), e) * ((g() & 1) ? -1 : 1);
    tally.expect(same_bf16(double_to_bf16(v), oracle::to_bf16(v)), [&] {
      std::ostringstream o;
      o.precision(17);
      o << "v = " << v;
      return o.str();
    });
  }
  INFO(tally.first);
  CHECK(tally.bad == 0);
}

TEST_CASE("bf16: round_tf32 against an arithmetic rounding, ties and carries", "[bf16][tf32]") {
  std::mt19937_64 g(11);
  Tally tally;
  auto check_one = [&](uint32_t u) {
    const float x = oracle::bits_f(u);
    const uint32_t got = oracle::fbits(round_tf32(x)), want = oracle::fbits(oracle::to_tf32(x));
    // NaN stays NaN; otherwise the same bits, and a tf32 value (low 13 bits clear) when finite
    const bool ok = std::isnan(x) ? std::isnan(oracle::bits_f(got))
                                  : got == want && (!std::isfinite(x) || (got & 0x1fffu) == 0u);
    tally.expect(ok, [&] {
      std::ostringstream o;
      o << "x bits 0x" << std::hex << u << " got 0x" << got << " want 0x" << want;
      return o.str();
    });
  };
  const uint32_t lows[] = {0x0000, 0x0001, 0x0fff, 0x1000, 0x1001, 0x1fff, 0x0800, 0x17ff};
  for (uint32_t sign : {0u, 0x80000000u})
    for (uint32_t e = 0; e < 255; ++e)
      for (uint32_t low : lows)
        for (int r = 0; r < 6; ++r) {
          // upper 10 mantissa bits: all zero, all one (carry into the exponent), odd, random
          const uint32_t upper = r == 0 ? 0u : r == 1 ? 0x3ffu : r == 2 ? 1u : static_cast<uint32_t>(g() & 0x3ff);
          check_one(sign | (e << 23) | (upper << 13) | low);
        }
  for (int i = 0; i < 400000; ++i) check_one(static_cast<uint32_t>(g()));
  INFO(tally.first);
  CHECK(tally.bad == 0);
  // hand: ties to even at 1.0 (tf32 ulp 2^-10), the largest float rounds to infinity
  CHECK(round_tf32(1.0f + std::ldexp(1.0f, -11)) == 1.0f);
  CHECK(round_tf32(1.0f + 3 * std::ldexp(1.0f, -11)) == 1.0f + std::ldexp(1.0f, -9));
  CHECK(round_tf32(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -23)) == 1.0f + std::ldexp(1.0f, -10));
  CHECK(round_tf32(-(1.0f + 3 * std::ldexp(1.0f, -11))) == -(1.0f + std::ldexp(1.0f, -9)));
  CHECK(std::isinf(round_tf32(3.4028234663852886e38f)));
  CHECK(round_tf32(INFINITY) == INFINITY);
  CHECK(std::isnan(round_tf32(std::nanf(""))));
  CHECK(round_tf32(std::ldexp(1.0f, -149)) == 0.0f);  // least subnormal: a tie with 0
}
