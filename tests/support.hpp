// Test helpers shared by the host and CUDA suites: random data (never zeros), poison, status
// checks that also read the message, and bf16 views.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../src/host/numeric.hpp"
#include "catch.hpp"
#include "mhc/mhc.h"

namespace mhc_test {

using mhc::num::bf16_to_double;
using mhc::num::double_to_bf16;

inline std::mt19937_64& rng() {
  static thread_local std::mt19937_64 g(0x6d6863u);
  return g;
}

inline std::vector<uint16_t> random_bf16(size_t count, double lo = -2.0, double hi = 2.0) {
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<uint16_t> v(count);
  for (auto& x : v) {
    do x = double_to_bf16(d(rng()));
    while (x == 0 || x == 0x8000);
  }
  return v;
}

inline std::vector<float> random_f32(size_t count, double lo = -1.0, double hi = 1.0) {
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<float> v(count);
  for (auto& x : v) {
    do x = static_cast<float>(d(rng()));
    while (x == 0.0f);
  }
  return v;
}

// Poison values: a NaN bit pattern that no op produces from finite inputs.
constexpr uint16_t kPoisonBf16 = 0x7fa5;
constexpr uint32_t kPoisonF32 = 0x7fa5a5a5u;

template <typename T>
void poison(std::vector<T>& v) {
  if constexpr (sizeof(T) == 2) {
    for (auto& x : v) std::memcpy(&x, &kPoisonBf16, 2);
  } else {
    for (auto& x : v) std::memcpy(&x, &kPoisonF32, 4);
  }
}

template <typename T>
bool any_poison(const std::vector<T>& v) {
  for (const auto& x : v) {
    if constexpr (sizeof(T) == 2) {
      if (std::memcmp(&x, &kPoisonBf16, 2) == 0) return true;
    } else {
      if (std::memcmp(&x, &kPoisonF32, 4) == 0) return true;
    }
  }
  return false;
}

inline std::string last_error() {
  std::string s(mhc_get_last_error(nullptr, 0) + 1, '\0');
  mhc_get_last_error(&s[0], s.size());
  s.resize(s.size() - 1);
  return s;
}

// The call returned `expected` and the thread's message contains `needle`.
#define REQUIRE_STATUS(call, expected, needle)                                         \
  do {                                                                                 \
    const mhc_status_t status_ = (call);                                               \
    INFO("status " << status_ << " (" << mhc_status_string(status_) << "): " << mhc_test::last_error()); \
    REQUIRE(status_ == (expected));                                                    \
    REQUIRE(mhc_test::last_error().find(needle) != std::string::npos);                 \
  } while (0)

#define REQUIRE_OK(call)                                                               \
  do {                                                                                 \
    const mhc_status_t status_ = (call);                                               \
    INFO("status " << status_ << " (" << mhc_status_string(status_) << "): " << mhc_test::last_error()); \
    REQUIRE(status_ == MHC_STATUS_SUCCESS);                                            \
  } while (0)

inline mhc_desc_t make_desc(mhc_op_t op, int64_t T, int32_t n, int64_t C) {
  mhc_desc_t d;
  mhc_desc_init(&d, op);
  d.tokens = T;
  d.n = n;
  d.hidden = C;
  return d;
}

inline mhc_preference_t host_only() {
  mhc_preference_t p;
  mhc_preference_init(&p);
  p.backends = MHC_BACKEND_HOST;
  return p;
}

}  // namespace mhc_test
