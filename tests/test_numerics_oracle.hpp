// Independent evidence for the numerics suites (tests/test_numerics_*.cpp): bit-level bf16 and
// tf32 rounding written from the IEEE formats (no library helpers), a naive fp64 oracle that
// follows docs/numerics.md line by line, a host-plan runner and comparison helpers.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include "support.hpp"

namespace oracle {

// ---------------------------------------------------------------------------------------------
// Formats, from the bit layouts.
// ---------------------------------------------------------------------------------------------

inline uint64_t dbits(double v) {
  uint64_t u;
  std::memcpy(&u, &v, 8);
  return u;
}
inline uint32_t fbits(float v) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  return u;
}
inline float bits_f(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// bf16 -> double from the fields: 1 sign, 8 exponent (bias 127), 7 mantissa bits.
inline double from_bf16(uint16_t b) {
  const int e = (b >> 7) & 0xff, m = b & 0x7f;
  const double sign = (b & 0x8000) ? -1.0 : 1.0;
  if (e == 0xff) return m ? std::nan("") : sign * INFINITY;
  if (e == 0) return sign * std::ldexp(m, -133);  // subnormal: m * 2^-126 * 2^-7
  return sign * std::ldexp(128 + m, e - 127 - 7);
}

inline bool bf16_is_nan(uint16_t b) { return (b & 0x7f80) == 0x7f80 && (b & 0x7f) != 0; }

// double -> bf16, one round-to-nearest-even, from the double's bits (integer arithmetic only).
inline uint16_t to_bf16(double v) {
  const uint64_t u = dbits(v);
  const uint16_t sign = (u >> 63) ? 0x8000 : 0;
  const int ef = static_cast<int>((u >> 52) & 0x7ff);
  const uint64_t frac = u & ((uint64_t{1} << 52) - 1);
  if (ef == 0x7ff) return frac ? 0x7fc0 : static_cast<uint16_t>(sign | 0x7f80);
  if (ef == 0) return sign;  // zero or a double subnormal: far below half the least bf16
  const int E = ef - 1023;                       // |v| = sig * 2^(E-52), sig in [2^52, 2^53)
  const uint64_t sig = (uint64_t{1} << 52) | frac;
  const int lsb = std::max(E, -126) - 7;         // exponent of the bf16 ulp at |v|
  const int shift = lsb - (E - 52);              // bits of sig below that ulp (>= 45)
  uint64_t q;
  if (shift >= 64) {
    q = 0;  // |v| < 2^(lsb-1): below half an ulp
  } else {
    q = sig >> shift;
    const uint64_t rem = sig & ((uint64_t{1} << shift) - 1), half = uint64_t{1} << (shift - 1);
    if (rem > half || (rem == half && (q & 1))) ++q;
  }
  // |result| = q * 2^lsb. Normal: q in [128, 256], bits = (E+127) << 7 | (q - 128), where q = 256
  // carries into the exponent by itself. Subnormal (lsb = -133): bits = q (q = 128 is 2^-126).
  uint64_t mag = E >= -126 ? (static_cast<uint64_t>(E + 127) << 7) + q - 128 : q;
  if (mag >= 0x7f80) mag = 0x7f80;  // overflow rounds to infinity
  return static_cast<uint16_t>(sign | mag);
}

// fp32 -> tf32 (10 mantissa bits), round to nearest even, by arithmetic on the value.
inline float to_tf32(float x) {
  if (!std::isfinite(x) || x == 0.0f) return x;
  const double a = std::fabs(static_cast<double>(x));
  const int e = std::ilogb(a);                     // a in [2^e, 2^(e+1))
  const double ulp = std::ldexp(1.0, std::max(e, -126) - 10);
  double q = std::floor(a / ulp);
  const double rem = a / ulp - q;                  // exact: a / ulp has few bits
  if (rem > 0.5 || (rem == 0.5 && std::fmod(q, 2.0) == 1.0)) q += 1.0;
  const double r = q * ulp;
  const float out = r >= std::ldexp(1.0, 128) ? INFINITY : static_cast<float>(r);
  return std::signbit(x) ? -out : out;
}

// Position of a bf16 on the number line (monotone in the value; +0 and -0 both map to 0).
inline int32_t bf16_ordinal(uint16_t b) {
  const int32_t mag = b & 0x7fff;
  return (b & 0x8000) ? -mag : mag;
}
inline int32_t bf16_ulps(uint16_t a, uint16_t b) { return std::abs(bf16_ordinal(a) - bf16_ordinal(b)); }

// The spacing of bf16 values at |v| (the ulp of the binade |v| lies in).
inline double bf16_ulp_at(double v) {
  const double a = std::fabs(v);
  if (a < std::ldexp(1.0, -126)) return std::ldexp(1.0, -133);
  return std::ldexp(1.0, std::ilogb(a) - 7);
}

// bf16 values written as doubles (hand cases): each rounded once.
inline std::vector<uint16_t> bf16s(std::initializer_list<double> v) {
  std::vector<uint16_t> o;
  for (double x : v) o.push_back(to_bf16(x));
  return o;
}

inline std::vector<double> bf16_values(const std::vector<uint16_t>& v) {
  std::vector<double> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = from_bf16(v[i]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Comparisons.
// ---------------------------------------------------------------------------------------------

// max over i of |got - ref| / max(|ref|, floor).
inline double max_rel_err(const std::vector<float>& got, const std::vector<double>& ref, double floor = 1e-30) {
  REQUIRE(got.size() == ref.size());
  double worst = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double e = std::fabs(static_cast<double>(got[i]) - ref[i]) / std::max(std::fabs(ref[i]), floor);
    worst = std::max(worst, std::isnan(e) ? INFINITY : e);
  }
  return worst;
}
inline double max_rel_err(const std::vector<float>& got, const std::vector<float>& ref, double floor = 1e-30) {
  return max_rel_err(got, std::vector<double>(ref.begin(), ref.end()), floor);
}

// Static-path error: max |got - ref| / max(1, |ref|).
inline double max_static_err(const std::vector<float>& got, const std::vector<double>& ref) {
  return max_rel_err(got, ref, 1.0);
}

// The reference backend rounds its fp64 value once, so it must equal bf16(oracle) exactly,
// except where the oracle value sits within 1e-3 ulp of a rounding boundary (docs/numerics.md), where the
// two fp64 evaluations may fall on different sides: there one ulp is allowed. Returns the
// number of elements that break this rule (0 = pass) and describes the first in *why.
inline size_t bf16_mismatches(const std::vector<uint16_t>& got, const std::vector<double>& ref,
                              std::string* why = nullptr) {
  REQUIRE(got.size() == ref.size());
  size_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const uint16_t want = to_bf16(ref[i]);
    if (got[i] == want || (from_bf16(got[i]) == 0.0 && from_bf16(want) == 0.0)) continue;
    bool ok = false;
    if (!bf16_is_nan(got[i]) && bf16_ulps(got[i], want) == 1) {
      const double mid = 0.5 * (from_bf16(got[i]) + from_bf16(want));
      ok = std::fabs(ref[i] - mid) <= 1e-3 * std::fabs(from_bf16(got[i]) - from_bf16(want));
    }
    if (!ok && bad++ == 0 && why) {
      std::ostringstream s;
      s.precision(17);
      s << "element " << i << ": got " << from_bf16(got[i]) << " (0x" << std::hex << got[i] << "), want "
        << std::dec << from_bf16(want) << " (0x" << std::hex << want << ") from " << std::dec << ref[i];
      *why = s.str();
    }
  }
  return bad;
}

// Library-vs-library (or kernel-vs-reference) rule of docs/numerics.md: at most one bf16 ulp apart.
inline int32_t max_bf16_ulps(const std::vector<uint16_t>& a, const std::vector<uint16_t>& b) {
  REQUIRE(a.size() == b.size());
  int32_t worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (bf16_is_nan(a[i]) || bf16_is_nan(b[i])) return INT32_MAX;
    worst = std::max(worst, bf16_ulps(a[i], b[i]));
  }
  return worst;
}

template <typename T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  // memcmp must not see the null data() of an empty vector
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

// ---------------------------------------------------------------------------------------------
// Running host plans.
// ---------------------------------------------------------------------------------------------

inline mhc_plan_t host_plan(const mhc_desc_t& d, mhc_guarantee_flags_t required = 0) {
  mhc_preference_t pref = mhc_test::host_only();
  pref.required = required;
  mhc_plan_t plan = nullptr;
  REQUIRE_OK(mhc_plan_select(&d, &pref, &plan));
  REQUIRE(plan != nullptr);
  return plan;
}

// Selects a host plan for d, runs it once on a, destroys it.
inline void run_host(const mhc_desc_t& d, const mhc_args_t& a, mhc_guarantee_flags_t required = 0) {
  mhc_plan_t plan = host_plan(d, required);
  const mhc_status_t st = mhc_plan_run(plan, nullptr, nullptr, 0, &a);
  INFO("run: " << mhc_status_string(st) << ": " << mhc_test::last_error());
  mhc_plan_destroy(plan);
  REQUIRE(st == MHC_STATUS_SUCCESS);
}

inline mhc_args_t args() {
  mhc_args_t a;
  mhc_args_init(&a);
  return a;
}

// ---------------------------------------------------------------------------------------------
// Family A oracle (docs/numerics.md A1-A5), fp64, written out naively.
// ---------------------------------------------------------------------------------------------

// Split boundaries by walking the granules: split s gets floor(G/S) granules, the first G mod S
// one more, each granule 64 wide, the last one cut at K. Returns S+1 offsets.
inline std::vector<int64_t> split_bounds(int64_t K, int S) {
  const int64_t G = (K + 63) / 64;
  std::vector<int64_t> b{0};
  int64_t g = 0;
  for (int s = 0; s < S; ++s) {
    g += G / S + (s < G % S ? 1 : 0);
    b.push_back(std::min<int64_t>(g * 64, K));
  }
  return b;
}

struct Gemm {
  std::vector<double> D;  // [S, T, N]
  std::vector<double> Q;  // [S, T]
};

// w(fn) for a weight precision: tf32-rounded, as is (fp32), or hi + tf32(fn - hi) (tf32x3).
inline double weight(float w, mhc_dtype_t precision) {
  if (precision == MHC_DTYPE_FP32) return w;
  const float hi = to_tf32(w);
  return precision == MHC_DTYPE_TF32 ? hi : static_cast<double>(hi) + to_tf32(w - hi);
}

// A1: per split s, D = sum A * w(fn) and Q = sum A^2 over the split's K range.
inline Gemm prenorm_gemm(const std::vector<uint16_t>& R, const std::vector<float>& fn, int64_t T, int64_t K,
                         int64_t N, int S, mhc_dtype_t precision) {
  const auto b = split_bounds(K, S);
  Gemm g;
  g.D.assign(static_cast<size_t>(S * T * N), 0.0);
  g.Q.assign(static_cast<size_t>(S * T), 0.0);
  for (int s = 0; s < S; ++s)
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t k = b[s]; k < b[s + 1]; ++k) {
        const double a = from_bf16(R[t * K + k]);
        g.Q[s * T + t] += a * a;
        for (int64_t j = 0; j < N; ++j) {
          g.D[(s * T + t) * N + j] += a * weight(fn[j * K + k], precision);
        }
      }
    }
  return g;
}

// Sum of partials over s, ascending.
inline Gemm reduce(const Gemm& g, int S, int64_t T, int64_t N) {
  Gemm r;
  r.D.assign(static_cast<size_t>(T * N), 0.0);
  r.Q.assign(static_cast<size_t>(T), 0.0);
  for (int s = 0; s < S; ++s)
    for (int64_t t = 0; t < T; ++t) {
      r.Q[t] += g.Q[s * T + t];
      for (int64_t j = 0; j < N; ++j) r.D[t * N + j] += g.D[(s * T + t) * N + j];
    }
  return r;
}

struct DynParams {
  int n;
  int64_t C;
  double rms_eps, pre_eps, sinkhorn_eps, post_mult;
  int repeat;
};
inline DynParams params(const mhc_desc_t& d) {
  return {d.n, d.hidden, d.rms_eps, d.pre_eps, d.sinkhorn_eps, d.post_mult, d.sinkhorn_repeat};
}

inline double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

template <typename S>
struct CoeffsOf {
  std::vector<S> pre, post, comb;  // [n], [n], [n][n] row-major
};
using Coeffs = CoeffsOf<double>;

template <typename S>
S sigmoid_of(S z) {
  using std::exp;
  return 1.0 / (1.0 + exp(-z));
}

// A2 for one token from its reduced D [N] and Q, scale [3] and base [N]. head = true: A5 (N = n,
// scale [1], pre only). S is double, or any type with + - * /, exp, sqrt and < (the backward
// suites differentiate this with dual numbers).
template <typename S>
CoeffsOf<S> coeffs_of(const DynParams& p, const S* D, S Q, const S* scale, const S* base, bool head = false) {
  using std::exp;
  using std::sqrt;
  const int n = p.n;
  const double K = static_cast<double>(n) * static_cast<double>(p.C);
  const S r = 1.0 / sqrt(Q / K + p.rms_eps);
  CoeffsOf<S> c;
  for (int i = 0; i < n; ++i) c.pre.push_back(sigmoid_of<S>(D[i] * r * scale[0] + base[i]) + p.pre_eps);
  if (head) return c;
  for (int i = 0; i < n; ++i) c.post.push_back(p.post_mult * sigmoid_of<S>(D[n + i] * r * scale[1] + base[n + i]));
  std::vector<std::vector<S>> m(n, std::vector<S>(n));
  for (int j = 0; j < n; ++j)
    for (int k = 0; k < n; ++k) m[j][k] = D[2 * n + j * n + k] * r * scale[2] + base[2 * n + j * n + k];
  for (int j = 0; j < n; ++j) {
    S mx = m[j][0];
    for (int k = 1; k < n; ++k) mx = std::max(mx, m[j][k]);
    S sum = 0.0;
    for (int k = 0; k < n; ++k) sum = sum + exp(m[j][k] - mx);
    for (int k = 0; k < n; ++k) m[j][k] = exp(m[j][k] - mx) / sum + p.sinkhorn_eps;
  }
  auto cols = [&] {
    for (int k = 0; k < n; ++k) {
      S s = 0.0;
      for (int j = 0; j < n; ++j) s = s + m[j][k];
      for (int j = 0; j < n; ++j) m[j][k] = m[j][k] / (s + p.sinkhorn_eps);
    }
  };
  auto rows = [&] {
    for (int j = 0; j < n; ++j) {
      S s = 0.0;
      for (int k = 0; k < n; ++k) s = s + m[j][k];
      for (int k = 0; k < n; ++k) m[j][k] = m[j][k] / (s + p.sinkhorn_eps);
    }
  };
  cols();
  for (int it = 0; it < p.repeat - 1; ++it) {
    rows();
    cols();
  }
  for (int j = 0; j < n; ++j)
    for (int k = 0; k < n; ++k) c.comb.push_back(m[j][k]);
  return c;
}

inline Coeffs coeffs(const DynParams& p, const double* D, double Q, const float* scale, const float* base,
                     bool head = false) {
  const std::vector<double> s(scale, scale + (head ? 1 : 3));
  const std::vector<double> b(base, base + (head ? p.n : p.n * (p.n + 2)));
  return coeffs_of<double>(p, D, Q, s.data(), b.data(), head);
}

// sum_i pre[i] * R[t, i, x] for one token (fp64, not rounded).
inline std::vector<double> pre_mix(const std::vector<uint16_t>& R, int64_t t, int n, int64_t C,
                                   const std::vector<double>& pre) {
  std::vector<double> y(C, 0.0);
  for (int64_t x = 0; x < C; ++x)
    for (int i = 0; i < n; ++i) y[x] += pre[i] * from_bf16(R[(t * n + i) * C + x]);
  return y;
}

struct PreOut {
  std::vector<double> post, comb, layer_input;  // [T,n], [T,n,n], [T,C] (fp64, unrounded)
};

// A2 over all tokens from a reduced Gemm.
inline PreOut pre_fuse(const DynParams& p, const Gemm& reduced, const std::vector<float>& scale,
                       const std::vector<float>& base, const std::vector<uint16_t>& R, int64_t T) {
  const int64_t N = static_cast<int64_t>(p.n) * (p.n + 2);
  PreOut o;
  for (int64_t t = 0; t < T; ++t) {
    const Coeffs c = coeffs(p, &reduced.D[t * N], reduced.Q[t], scale.data(), base.data());
    o.post.insert(o.post.end(), c.post.begin(), c.post.end());
    o.comb.insert(o.comb.end(), c.comb.begin(), c.comb.end());
    const auto y = pre_mix(R, t, p.n, p.C, c.pre);
    o.layer_input.insert(o.layer_input.end(), y.begin(), y.end());
  }
  return o;
}

// A4: out[t,k,x] = post[t,k] X[t,x] + sum_j comb[t,j,k] R[t,j,x] (fp64, unrounded).
inline std::vector<double> post(const std::vector<uint16_t>& X, const std::vector<uint16_t>& R,
                                const std::vector<float>& post, const std::vector<float>& comb, int64_t T, int n,
                                int64_t C) {
  std::vector<double> out(static_cast<size_t>(T * n * C));
  for (int64_t t = 0; t < T; ++t)
    for (int k = 0; k < n; ++k)
      for (int64_t x = 0; x < C; ++x) {
        double acc = static_cast<double>(post[t * n + k]) * from_bf16(X[t * C + x]);
        for (int j = 0; j < n; ++j)
          acc += static_cast<double>(comb[(t * n + j) * n + k]) * from_bf16(R[(t * n + j) * C + x]);
        out[(t * n + k) * C + x] = acc;
      }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Family B oracle (docs/numerics.md B1-B3), fp64.
// ---------------------------------------------------------------------------------------------

struct Static {
  std::vector<double> s_pre, s_post, M;  // [n], [n], [n][n]
};

inline Static static_coeffs(int n, const std::vector<float>& h_pre, const std::vector<float>& h_post,
                            const std::vector<float>& h_res, int iters, double eps) {
  Static c;
  for (float h : h_pre) c.s_pre.push_back(sigmoid(h));
  for (float h : h_post) c.s_post.push_back(2.0 * sigmoid(h));
  if (h_res.empty()) return c;
  std::vector<std::vector<double>> M(n, std::vector<double>(n));
  // M = exp(h_res) as written (no shift: inputs here never overflow).
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) M[i][j] = std::exp(static_cast<double>(h_res[i * n + j]));
  for (int it = 0; it < iters; ++it) {
    for (int i = 0; i < n; ++i) {
      double s = 0.0;
      for (int j = 0; j < n; ++j) s += M[i][j];
      if (s > eps)
        for (int j = 0; j < n; ++j) M[i][j] /= s;
    }
    for (int j = 0; j < n; ++j) {
      double s = 0.0;
      for (int i = 0; i < n; ++i) s += M[i][j];
      if (s > eps)
        for (int i = 0; i < n; ++i) M[i][j] /= s;
    }
  }
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) c.M.push_back(M[i][j]);
  return c;
}

// B1 for one row b: yn [C] and rms. x holds the row's values as doubles [n, C].
inline std::vector<double> static_pre_row(const Static& c, const double* x, int n, int64_t C,
                                          const std::vector<uint16_t>& w, double eps, double* rms) {
  std::vector<double> y(C, 0.0);
  double sq = 0.0;
  for (int64_t k = 0; k < C; ++k) {
    for (int i = 0; i < n; ++i) y[k] += c.s_pre[i] * x[i * C + k];
    sq += y[k] * y[k];
  }
  *rms = 1.0 / std::sqrt(sq / static_cast<double>(C) + eps);
  for (int64_t k = 0; k < C; ++k) y[k] = y[k] * *rms * from_bf16(w[k]);
  return y;
}

// B2 for one row: out [n, C] = M x + s_post F.
inline std::vector<double> static_post_row(const Static& c, const double* x, const double* F, int n, int64_t C) {
  std::vector<double> out(static_cast<size_t>(n * C));
  for (int i = 0; i < n; ++i)
    for (int64_t k = 0; k < C; ++k) {
      double acc = c.s_post[i] * F[k];
      for (int j = 0; j < n; ++j) acc += c.M[i * n + j] * x[j * C + k];
      out[i * C + k] = acc;
    }
  return out;
}

}  // namespace oracle
