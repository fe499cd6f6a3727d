// One problem's tensors on the host: inputs random (never zero, in ranges that keep the mixes
// O(1)), outputs poisoned; and the comparison of an output against the host reference under the
// docs/numerics.md tolerances. Shared by the CUDA tests and the benchmark (no test framework inside).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../../src/host/numeric.hpp"
#include "../../src/ops/problem.hpp"
#include "../../src/ops/tensors.hpp"
#include "mhc/mhc.h"

namespace mhc_test {

constexpr uint16_t kPoison16 = 0x7fa5;
constexpr uint32_t kPoison32 = 0x7fa5a5a5u;

struct OpData {
  mhc::Problem problem;
  std::vector<mhc::TensorSpec> specs;
  std::vector<std::vector<unsigned char>> host;  // one buffer per spec

  // args pointing at `ptrs` (one per spec; NULL leaves an optional tensor out).
  mhc_args_t args(const std::vector<void*>& ptrs) const {
    mhc_args_t a;
    mhc_args_init(&a);
    for (size_t i = 0; i < specs.size(); ++i)
      *reinterpret_cast<void**>(reinterpret_cast<char*>(&a) + specs[i].offset) = ptrs[i];
    return a;
  }
  std::vector<void*> host_ptrs() {
    std::vector<void*> p;
    for (auto& h : host) p.push_back(h.data());
    return p;
  }
  void poison_outputs() {
    for (size_t i = 0; i < specs.size(); ++i)
      if (specs[i].role == mhc::Role::kOutput) poison(i);
  }
  void poison(size_t i) {
    auto& h = host[i];
    if (specs[i].dtype == MHC_DTYPE_BF16)
      for (size_t e = 0; e + 2 <= h.size(); e += 2) std::memcpy(&h[e], &kPoison16, 2);
    else
      for (size_t e = 0; e + 4 <= h.size(); e += 4) std::memcpy(&h[e], &kPoison32, 4);
  }
};

// Range of random values for an input field, chosen so mixes, gates and Sinkhorn stay O(1).
inline void input_range(const mhc::Problem& p, const std::string& name, double* lo, double* hi) {
  const double k = static_cast<double>(p.K);
  *lo = -1.0, *hi = 1.0;
  if (name == "args->fn") *lo = -std::sqrt(3.0 / k), *hi = std::sqrt(3.0 / k);
  else if (name == "args->scale") *lo = 0.5, *hi = 1.5;
  else if (name == "args->residual" || name == "args->layer_output" || name == "args->embedding") *lo = -2.0, *hi = 2.0;
  else if (name == "args->gemm_out") *lo = -std::sqrt(k) / p.S, *hi = std::sqrt(k) / p.S;
  else if (name == "args->sqrsum") *lo = 0.5 * k / p.S, *hi = 2.0 * k / p.S;
  else if (name == "args->post_mix") *lo = 0.05, *hi = 2.0;
  else if (name == "args->comb_mix") *lo = 0.01, *hi = 1.0;
  else if (name == "args->pre_mix") *lo = 0.05, *hi = 1.0;
  else if (name == "args->norm_weight") *lo = 0.5, *hi = 1.5;
  else if (name == "args->h_res") *lo = -2.0, *hi = 2.0;
}

inline OpData make_op_data(const mhc_desc_t& resolved, uint64_t seed, bool with_optional = false) {
  OpData d;
  d.problem = mhc::make_problem(&resolved, false);
  d.problem.desc.num_splits = resolved.num_splits;
  for (const auto& s : mhc::tensor_specs(d.problem))
    if (s.required || with_optional) d.specs.push_back(s);
  std::mt19937_64 rng(seed);
  for (const auto& s : d.specs) {
    std::vector<unsigned char> h(s.bytes());
    if (s.role == mhc::Role::kInput) {
      double lo, hi;
      input_range(d.problem, s.name, &lo, &hi);
      std::uniform_real_distribution<double> u(lo, hi);
      for (int64_t e = 0; e < s.elements; ++e) {
        double v;
        do v = u(rng);
        while (std::fabs(v) < 1e-3 * (hi - lo));
        if (s.dtype == MHC_DTYPE_BF16) {
          const uint16_t b = mhc::num::double_to_bf16(v);
          std::memcpy(&h[e * 2], &b, 2);
        } else {
          const float f = static_cast<float>(v);
          std::memcpy(&h[e * 4], &f, 4);
        }
      }
    }
    d.host.push_back(std::move(h));
  }
  d.poison_outputs();
  return d;
}

// bf16 outputs: 1 ulp, except the RMS-normalized layer input of the boundary's V4 mode
// (docs/numerics.md): its u is the fp32 collapse with the backend's own pre, 1 ulp from the
// reference's, and the norm carries that ulp into x (up to 2 ulps of x: u and x can sit at opposite
// ends of their binades) before x's own rounding: 3 ulps.
inline double bf16_ulps(const mhc::Problem& p, const mhc::TensorSpec& s) {
  const bool v4_collapse = (p.desc.op == MHC_OP_BOUNDARY || p.desc.op == MHC_OP_BOUNDARY_FIRST) && !p.shifted;
  return v4_collapse && p.norm && std::string(s.name) == "args->out_layer_input" ? 3.0 : 1.0;
}

struct Mismatch {
  int64_t bad = 0;          // elements out of tolerance (poison counts as bad)
  int64_t first = -1;
  double got = 0, want = 0;
  double worst_ratio = 0;   // max |err| / allowed
  std::string describe(const char* name) const {
    if (bad == 0) return std::string(name) + ": ok";
    return std::string(name) + ": " + std::to_string(bad) + " elements off, first at " + std::to_string(first) +
           " got " + std::to_string(got) + " want " + std::to_string(want) +
           " (worst error/tolerance " + std::to_string(worst_ratio) + ")";
  }
};

// fp32: |got - want| <= rel * (|want| + mean|want|) (mixes near zero come from cancellation);
// bf16: within `ulps` bf16 ulps of want (the reference is already bf16(fp64 value)), plus an
// absolute 1e-5 * mean|want|: where terms of size ~mean cancel to a tiny value, fp32 coefficient
// math (itself allowed 1e-4) decides its low bits; 1e-5 * mean is ~1/800 of a bf16 ulp at mean.
inline Mismatch compare(const mhc::TensorSpec& s, const void* got, const void* want, double rel, double ulps = 1.0) {
  Mismatch m;
  const int64_t n = s.elements;
  auto value = [&](const void* base, int64_t i) -> double {
    if (s.dtype == MHC_DTYPE_BF16) {
      uint16_t b;
      std::memcpy(&b, static_cast<const char*>(base) + i * 2, 2);
      return mhc::num::bf16_to_double(b);
    }
    float f;
    std::memcpy(&f, static_cast<const char*>(base) + i * 4, 4);
    return f;
  };
  double mean = 0;
  for (int64_t i = 0; i < n; ++i) mean += std::fabs(value(want, i));
  mean /= n > 0 ? n : 1;
  for (int64_t i = 0; i < n; ++i) {
    const double g = value(got, i), w = value(want, i);
    double allowed;
    if (s.dtype == MHC_DTYPE_BF16) {
      int e = 0;
      std::frexp(std::fabs(w) > 0 ? std::fabs(w) : 1e-30, &e);
      allowed = ulps * std::ldexp(1.0, (e - 1 < -126 ? -126 : e - 1) - 7) * 1.0000001 + 1e-5 * mean;
    } else {
      allowed = rel * (std::fabs(w) + mean);
    }
    const double err = std::fabs(g - w);
    const double ratio = std::isfinite(g) ? err / (allowed > 0 ? allowed : 1e-300) : INFINITY;
    if (!(ratio <= 1.0)) {
      if (m.bad++ == 0) m.first = i, m.got = g, m.want = w;
    }
    if (std::isfinite(ratio) && ratio > m.worst_ratio) m.worst_ratio = ratio;
    if (!std::isfinite(ratio)) m.worst_ratio = INFINITY;
  }
  return m;
}

// docs/numerics.md: fp32 outputs 1e-4 (fp32 weights) or 2e-3 (tf32); static fp32 path 1e-4.
inline double fp32_tolerance(const mhc::Problem& p) {
  return p.desc.weight_precision == MHC_DTYPE_TF32 ? 2e-3 : 1e-4;
}

}  // namespace mhc_test
