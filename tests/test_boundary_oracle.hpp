// The layer boundary (docs/numerics.md A7-A10, and DeepSeek-V4.1's model recurrence) for
// the numerics suites test_a7_boundary .. test_a10_boundary_first: an fp64 oracle of each step,
// written from the formulas (the mix reuses test_numerics_oracle.hpp's A1/A2 oracle; the post,
// collapse and RMSNorm are written out here, not taken from the library), and runners of the four
// host ops that poison every output before the run and require it fully written after.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "test_numerics_oracle.hpp"

namespace boundary {

constexpr uint32_t kShifted = MHC_DESC_FLAG_SHIFTED;
constexpr uint32_t kNorm = MHC_DESC_FLAG_NORM;

struct Dims {
  int64_t T;
  int n;
  int64_t C;
  int64_t K() const { return n * C; }
  int64_t N() const { return int64_t{n} * (n + 2); }
};

// The descriptor's scalars. The member defaults are mhc_desc_init's (DeepSeek-V4).
struct Consts {
  float rms_eps = 1e-6f, pre_eps = 1e-6f, sinkhorn_eps = 1e-6f, post_mult = 2.0f;
  int32_t repeat = 20;
  float norm_eps = 1e-6f, norm_scale = 1.0f;
  mhc_dtype_t precision = MHC_DTYPE_TF32;
};

// Every scalar away from its default and from the others, large enough to move the outputs
// (mean H^2 and mean u^2 are O(1) here), so that a constant read from the wrong field shows.
inline Consts odd_consts(mhc_dtype_t precision = MHC_DTYPE_TF32) {
  Consts k;
  k.rms_eps = 0.37f;
  k.pre_eps = 0.011f;
  k.sinkhorn_eps = 0.023f;
  k.post_mult = 1.7f;
  k.repeat = 7;
  k.norm_eps = 0.29f;
  k.norm_scale = 0.8f;
  k.precision = precision;
  return k;
}

// DeepSeek-V4.1-Flash: the mix RMS and the norm both with eps 1e-20.
inline Consts v41_consts(mhc_dtype_t precision = MHC_DTYPE_FP32) {
  Consts k;
  k.rms_eps = 1e-20f;
  k.norm_eps = 1e-20f;
  k.precision = precision;
  return k;
}

inline mhc_desc_t desc(mhc_op_t op, const Dims& d, const Consts& k, uint32_t flags, int32_t num_splits = 0) {
  mhc_desc_t x = mhc_test::make_desc(op, d.T, d.n, d.C);
  x.flags = flags;
  x.num_splits = num_splits;
  x.rms_eps = k.rms_eps;
  x.pre_eps = k.pre_eps;
  x.sinkhorn_eps = k.sinkhorn_eps;
  x.post_mult = k.post_mult;
  x.sinkhorn_repeat = k.repeat;
  x.norm_eps = k.norm_eps;
  x.norm_scale = k.norm_scale;
  x.weight_precision = k.precision;
  return x;
}

// One mHC site's parameters and the norm weight of the sublayer it feeds.
struct Site {
  std::vector<float> fn, scale, base;
  std::vector<uint16_t> w;
};

inline Site random_site(const Dims& d) {
  Site s;
  const double a = std::sqrt(3.0 / static_cast<double>(d.K()));  // mixes O(1)
  s.fn = mhc_test::random_f32(d.N() * d.K(), -a, a);
  s.scale = mhc_test::random_f32(3, 0.5, 1.5);
  s.base = mhc_test::random_f32(d.N(), -1.0, 1.0);
  s.w = mhc_test::random_bf16(d.C, 0.5, 1.5);
  return s;
}

// What the previous boundary hands on: H [T,n,C] bf16, post q [T,n], comb c [T,n,n], pre p [T,n].
struct State {
  std::vector<uint16_t> H;
  std::vector<float> q, c, p;
};

inline State random_state(const Dims& d) {
  State s;
  s.H = mhc_test::random_bf16(d.T * d.K());
  s.q = mhc_test::random_f32(d.T * d.n, 0.05, 2.0);
  s.c = mhc_test::random_f32(d.T * d.n * d.n, 0.01, 1.0);
  s.p = mhc_test::random_f32(d.T * d.n, 0.05, 1.0);
  return s;
}

// A library run's outputs; an output the run was not asked for is empty.
struct Out {
  std::vector<uint16_t> H, x;     // out_residual, out_layer_input
  std::vector<float> q, c, p;     // out_post_mix, out_comb_mix, out_pre_mix
  State state() const { return {H, q, c, p}; }
};

// ---------------------------------------------------------------------------------------------
// The library's host SKUs: outputs poisoned before the run, every element written after it.
// ---------------------------------------------------------------------------------------------

inline void poison_all(Out& o) {
  mhc_test::poison(o.H), mhc_test::poison(o.x), mhc_test::poison(o.q), mhc_test::poison(o.c),
      mhc_test::poison(o.p);
}
inline void require_written(const Out& o) {
  REQUIRE_FALSE(mhc_test::any_poison(o.H));
  REQUIRE_FALSE(mhc_test::any_poison(o.x));
  REQUIRE_FALSE(mhc_test::any_poison(o.q));
  REQUIRE_FALSE(mhc_test::any_poison(o.c));
  REQUIRE_FALSE(mhc_test::any_poison(o.p));
}
template <typename T>
inline void* out_ptr(std::vector<T>& v) {
  return v.empty() ? nullptr : v.data();
}

// MHC_OP_BOUNDARY: Y and the previous state in, the new state and the layer input out.
// want_pre = false leaves out_pre_mix NULL (V4 mode only).
inline Out run_boundary(const Dims& d, const Consts& k, uint32_t flags, const std::vector<uint16_t>& Y,
                        const State& prev, const Site& s, int32_t num_splits = 0, bool want_pre = true) {
  Out o;
  o.H.resize(d.T * d.K()), o.x.resize(d.T * d.C), o.q.resize(d.T * d.n), o.c.resize(d.T * d.n * d.n);
  if (want_pre) o.p.resize(d.T * d.n);
  poison_all(o);
  mhc_args_t a = oracle::args();
  a.layer_output = Y.data(), a.residual = prev.H.data(), a.post_mix = prev.q.data(), a.comb_mix = prev.c.data();
  if (flags & kShifted) a.pre_mix = prev.p.data();
  a.fn = s.fn.data(), a.scale = s.scale.data(), a.base = s.base.data();
  if (flags & kNorm) a.norm_weight = s.w.data();
  a.out_residual = out_ptr(o.H), a.out_layer_input = out_ptr(o.x), a.out_post_mix = out_ptr(o.q);
  a.out_comb_mix = out_ptr(o.c), a.out_pre_mix = out_ptr(o.p);
  oracle::run_host(desc(MHC_OP_BOUNDARY, d, k, flags, num_splits), a);
  require_written(o);
  return o;
}

// MHC_OP_BOUNDARY_COLLAPSE (flags: 0 or NORM): post and the collapse with the carried prev.p.
// keep_H = false passes out_residual = NULL (the V4.1 head).
inline Out run_collapse(const Dims& d, const Consts& k, uint32_t flags, const std::vector<uint16_t>& Y,
                        const State& prev, const std::vector<uint16_t>& w, bool keep_H = true) {
  Out o;
  if (keep_H) o.H.resize(d.T * d.K());
  o.x.resize(d.T * d.C);
  poison_all(o);
  mhc_args_t a = oracle::args();
  a.layer_output = Y.data(), a.residual = prev.H.data(), a.post_mix = prev.q.data(), a.comb_mix = prev.c.data();
  a.pre_mix = prev.p.data();
  if (flags & kNorm) a.norm_weight = w.data();
  a.out_residual = out_ptr(o.H), a.out_layer_input = out_ptr(o.x);
  oracle::run_host(desc(MHC_OP_BOUNDARY_COLLAPSE, d, k, flags), a);
  require_written(o);
  return o;
}

// MHC_OP_BOUNDARY_MIX: this site's pre, post and comb of H.
inline Out run_mix(const Dims& d, const Consts& k, const std::vector<uint16_t>& H, const Site& s,
                   int32_t num_splits = 0) {
  Out o;
  o.q.resize(d.T * d.n), o.c.resize(d.T * d.n * d.n), o.p.resize(d.T * d.n);
  poison_all(o);
  mhc_args_t a = oracle::args();
  a.residual = H.data(), a.fn = s.fn.data(), a.scale = s.scale.data(), a.base = s.base.data();
  a.out_post_mix = out_ptr(o.q), a.out_comb_mix = out_ptr(o.c), a.out_pre_mix = out_ptr(o.p);
  oracle::run_host(desc(MHC_OP_BOUNDARY_MIX, d, k, 0, num_splits), a);
  require_written(o);
  return o;
}

// MHC_OP_BOUNDARY_FIRST: the embedding in, the first state and layer input out.
inline Out run_first(const Dims& d, const Consts& k, uint32_t flags, const std::vector<uint16_t>& E, const Site& s,
                     int32_t num_splits = 0, bool want_pre = true) {
  Out o;
  o.H.resize(d.T * d.K()), o.x.resize(d.T * d.C), o.q.resize(d.T * d.n), o.c.resize(d.T * d.n * d.n);
  if (want_pre) o.p.resize(d.T * d.n);
  poison_all(o);
  mhc_args_t a = oracle::args();
  a.embedding = E.data(), a.fn = s.fn.data(), a.scale = s.scale.data(), a.base = s.base.data();
  if (flags & kNorm) a.norm_weight = s.w.data();
  a.out_residual = out_ptr(o.H), a.out_layer_input = out_ptr(o.x), a.out_post_mix = out_ptr(o.q);
  a.out_comb_mix = out_ptr(o.c), a.out_pre_mix = out_ptr(o.p);
  oracle::run_host(desc(MHC_OP_BOUNDARY_FIRST, d, k, flags, num_splits), a);
  require_written(o);
  return o;
}

// ---------------------------------------------------------------------------------------------
// The fp64 oracle, one step at a time (docs/numerics.md "The layer boundary").
// ---------------------------------------------------------------------------------------------

inline std::vector<uint16_t> to_bf16(const std::vector<double>& v) {
  std::vector<uint16_t> o(v.size());
  for (size_t i = 0; i < v.size(); ++i) o[i] = oracle::to_bf16(v[i]);
  return o;
}
inline std::vector<float> to_f32(const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); }
inline std::vector<double> to_f64(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

// Step 1 (A4): H[t,k,x] = q[t,k] Y[t,x] + sum_j c[t,j,k] H_prev[t,j,x], fp64, before its rounding.
inline std::vector<double> post(const Dims& d, const std::vector<uint16_t>& Y, const State& prev) {
  std::vector<double> H(static_cast<size_t>(d.T * d.K()));
  for (int64_t t = 0; t < d.T; ++t)
    for (int k = 0; k < d.n; ++k)
      for (int64_t x = 0; x < d.C; ++x) {
        double acc = static_cast<double>(prev.q[t * d.n + k]) * oracle::from_bf16(Y[t * d.C + x]);
        for (int j = 0; j < d.n; ++j)  // comb transposed: the sum runs over its FIRST index
          acc += static_cast<double>(prev.c[(t * d.n + j) * d.n + k]) * oracle::from_bf16(prev.H[(t * d.n + j) * d.C + x]);
        H[(t * d.n + k) * d.C + x] = acc;
      }
  return H;
}

// Step 2: A1 (all of K, one split) and A2's coefficient math on the ROUNDED H, per token, fp64.
struct Mix {
  std::vector<double> pre, post, comb;  // [T,n], [T,n], [T,n,n]
};
inline Mix mix(const Dims& d, const Consts& k, const std::vector<uint16_t>& H, const Site& s) {
  const oracle::Gemm g = oracle::prenorm_gemm(H, s.fn, d.T, d.K(), d.N(), 1, k.precision);
  const oracle::DynParams p{d.n, d.C, k.rms_eps, k.pre_eps, k.sinkhorn_eps, k.post_mult, k.repeat};
  Mix m;
  for (int64_t t = 0; t < d.T; ++t) {
    const oracle::Coeffs c = oracle::coeffs(p, &g.D[t * d.N()], g.Q[t], s.scale.data(), s.base.data());
    m.pre.insert(m.pre.end(), c.pre.begin(), c.pre.end());
    m.post.insert(m.post.end(), c.post.begin(), c.post.end());
    m.comb.insert(m.comb.end(), c.comb.begin(), c.comb.end());
  }
  return m;
}

// Step 3: u[t,x] = sum_i pre[t,i] H[t,i,x] (i ascending), fp64, before its rounding.
inline std::vector<double> collapse(const Dims& d, const std::vector<uint16_t>& H, const std::vector<double>& pre) {
  std::vector<double> u(static_cast<size_t>(d.T * d.C), 0.0);
  for (int64_t t = 0; t < d.T; ++t)
    for (int64_t x = 0; x < d.C; ++x) {
      double acc = 0.0;
      for (int i = 0; i < d.n; ++i) acc += pre[t * d.n + i] * oracle::from_bf16(H[(t * d.n + i) * d.C + x]);
      u[t * d.C + x] = acc;
    }
  return u;
}

// Step 4: the RMSNorm of the ROUNDED collapse u (bf16): the statistic over those bf16 values, eps
// inside the rsqrt, the weight upcast and scaled, fp64 before the one final rounding.
inline std::vector<double> rmsnorm(const Dims& d, const std::vector<uint16_t>& u, const std::vector<uint16_t>& w,
                                   double eps, double scale) {
  std::vector<double> x(u.size());
  for (int64_t t = 0; t < d.T; ++t) {
    double ss = 0.0;
    for (int64_t c = 0; c < d.C; ++c) ss += oracle::from_bf16(u[t * d.C + c]) * oracle::from_bf16(u[t * d.C + c]);
    const double r = 1.0 / std::sqrt(ss / static_cast<double>(d.C) + eps);
    for (int64_t c = 0; c < d.C; ++c)
      x[t * d.C + c] = (oracle::from_bf16(u[t * d.C + c]) * r) * (oracle::from_bf16(w[c]) * scale);
  }
  return x;
}

// One boundary op's outputs as fp64 values before their final rounding (H, x) or as the fp64
// coefficients (q, c, p); absent outputs empty.
struct Ref {
  std::vector<double> H, x, q, c, p;
};

// x from the collapse values: rounded once, then (with the norm) normalized and rounded again.
inline std::vector<double> layer_input(const Dims& d, const Consts& k, uint32_t flags, const std::vector<double>& u,
                                       const std::vector<uint16_t>& w) {
  if (!(flags & kNorm)) return u;
  return rmsnorm(d, to_bf16(u), w, k.norm_eps, k.norm_scale);
}

// MHC_OP_BOUNDARY.
inline Ref ref_boundary(const Dims& d, const Consts& k, uint32_t flags, const std::vector<uint16_t>& Y,
                        const State& prev, const Site& s) {
  Ref r;
  r.H = post(d, Y, prev);
  const std::vector<uint16_t> H = to_bf16(r.H);  // rounded once; the mix and the collapse read it
  const Mix m = mix(d, k, H, s);
  r.q = m.post, r.c = m.comb, r.p = m.pre;
  const std::vector<double> pre = (flags & kShifted) ? to_f64(prev.p) : m.pre;
  r.x = layer_input(d, k, flags, collapse(d, H, pre), s.w);
  return r;
}

// MHC_OP_BOUNDARY_COLLAPSE (the carried pre always).
inline Ref ref_collapse_op(const Dims& d, const Consts& k, uint32_t flags, const std::vector<uint16_t>& Y,
                           const State& prev, const std::vector<uint16_t>& w) {
  Ref r;
  r.H = post(d, Y, prev);
  r.x = layer_input(d, k, flags, collapse(d, to_bf16(r.H), to_f64(prev.p)), w);
  return r;
}

// MHC_OP_BOUNDARY_MIX.
inline Ref ref_mix_op(const Dims& d, const Consts& k, const std::vector<uint16_t>& H, const Site& s) {
  const Mix m = mix(d, k, H, s);
  Ref r;
  r.q = m.post, r.c = m.comb, r.p = m.pre;
  return r;
}

// MHC_OP_BOUNDARY_FIRST: H = expand(E); the collapse with e_0 (shifted: u = E) or with p'.
inline Ref ref_first(const Dims& d, const Consts& k, uint32_t flags, const std::vector<uint16_t>& E, const Site& s) {
  std::vector<uint16_t> H(static_cast<size_t>(d.T * d.K()));
  for (int64_t t = 0; t < d.T; ++t)
    for (int i = 0; i < d.n; ++i)
      for (int64_t x = 0; x < d.C; ++x) H[(t * d.n + i) * d.C + x] = E[t * d.C + x];
  Ref r;
  r.H = oracle::bf16_values(H);
  const Mix m = mix(d, k, H, s);
  r.q = m.post, r.c = m.comb, r.p = m.pre;
  std::vector<double> pre = m.pre;
  if (flags & kShifted)
    for (int64_t t = 0; t < d.T; ++t)
      for (int i = 0; i < d.n; ++i) pre[t * d.n + i] = i == 0 ? 1.0 : 0.0;  // e_0
  r.x = layer_input(d, k, flags, collapse(d, H, pre), s.w);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Comparisons: the host reference is the fp64 evaluation, so its bf16 outputs are bf16 of the
// oracle's values (bf16_mismatches allows only the 1e-3-ulp-from-a-boundary cases) and its fp32
// outputs the oracle's values rounded once (relative 1e-6 covers two fp64 evaluation orders).
// ---------------------------------------------------------------------------------------------

constexpr double kF32Rel = 1e-6;

// Elements of `got` that break the rule (0 = pass).
inline size_t bf16_off(const std::vector<uint16_t>& got, const std::vector<double>& ref) {
  return oracle::bf16_mismatches(got, ref);
}
inline size_t f32_off(const std::vector<float>& got, const std::vector<double>& ref) {
  REQUIRE(got.size() == ref.size());
  size_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double e = std::fabs(static_cast<double>(got[i]) - ref[i]);
    bad += !(e <= kF32Rel * std::fabs(ref[i]) + 1e-30);
  }
  return bad;
}

// Every output of `o` that was asked for against `r`; returns the number of elements off.
inline size_t mismatches(const Out& o, const Ref& r) {
  size_t bad = 0;
  if (!o.H.empty()) bad += bf16_off(o.H, r.H);
  if (!o.x.empty()) bad += bf16_off(o.x, r.x);
  if (!o.q.empty()) bad += f32_off(o.q, r.q);
  if (!o.c.empty()) bad += f32_off(o.c, r.c);
  if (!o.p.empty()) bad += f32_off(o.p, r.p);
  return bad;
}

// CHECKs each output separately (the failing one is named, with its first bad element).
inline void check(const Out& o, const Ref& r) {
  if (!o.H.empty()) {
    std::string why;
    const size_t bad = oracle::bf16_mismatches(o.H, r.H, &why);
    INFO("out_residual: " << why);
    CHECK(bad == 0);
  }
  if (!o.x.empty()) {
    std::string why;
    const size_t bad = oracle::bf16_mismatches(o.x, r.x, &why);
    INFO("out_layer_input: " << why);
    CHECK(bad == 0);
  }
  if (!o.q.empty()) {
    INFO("out_post_mix: max rel err " << oracle::max_rel_err(o.q, r.q));
    CHECK(f32_off(o.q, r.q) == 0);
  }
  if (!o.c.empty()) {
    INFO("out_comb_mix: max rel err " << oracle::max_rel_err(o.c, r.c));
    CHECK(f32_off(o.c, r.c) == 0);
  }
  if (!o.p.empty()) {
    INFO("out_pre_mix: max rel err " << oracle::max_rel_err(o.p, r.p));
    CHECK(f32_off(o.p, r.p) == 0);
  }
}

// Every value finite (no NaN or inf from an eps of 1e-20 on a zero row).
inline bool all_finite(const Out& o) {
  for (const auto* v : {&o.H, &o.x})
    for (uint16_t b : *v)
      if (!std::isfinite(oracle::from_bf16(b))) return false;
  for (const auto* v : {&o.q, &o.c, &o.p})
    for (float f : *v)
      if (!std::isfinite(f)) return false;
  return true;
}

// The shapes every numerics suite of the boundary runs: n = 1, 2, 3, 4, 8; odd C; T = 1 to 65.
inline std::vector<Dims> shapes() { return {{1, 1, 33}, {3, 2, 13}, {2, 3, 21}, {2, 4, 72}, {65, 4, 16}, {2, 8, 7}}; }

}  // namespace boundary
