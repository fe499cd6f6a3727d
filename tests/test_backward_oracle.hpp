// Evidence for the backward suites (tests/test_a*_backward.cpp), independent of the library's
// reverse mode: exact derivatives of the naive fp64 forward of tests/test_numerics_oracle.hpp by
// forward-mode dual numbers, central finite differences of the whole unrounded forward (GEMM,
// RMS, gates, every Sinkhorn step, layer_input), and runners for the host plans.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "test_numerics_oracle.hpp"

namespace bwd {

// v + d e with e^2 = 0: one directional derivative per evaluation.
struct Dual {
  double v = 0.0, d = 0.0;
  Dual(double value = 0.0, double deriv = 0.0) : v(value), d(deriv) {}  // NOLINT: doubles promote
  friend Dual operator+(Dual a, Dual b) { return {a.v + b.v, a.d + b.d}; }
  friend Dual operator-(Dual a, Dual b) { return {a.v - b.v, a.d - b.d}; }
  friend Dual operator-(Dual a) { return {-a.v, -a.d}; }
  friend Dual operator*(Dual a, Dual b) { return {a.v * b.v, a.d * b.v + a.v * b.d}; }
  friend Dual operator/(Dual a, Dual b) { return {a.v / b.v, (a.d * b.v - a.v * b.d) / (b.v * b.v)}; }
  friend bool operator<(Dual a, Dual b) { return a.v < b.v; }
  friend Dual exp(Dual a) {
    const double e = std::exp(a.v);
    return {e, a.d * e};
  }
  friend Dual sqrt(Dual a) {
    const double s = std::sqrt(a.v);
    return {s, a.d / (2.0 * s)};
  }
};

inline double max_abs(const std::vector<double>& v) {
  double m = 0.0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

// fp32 gradients against a reference: relative error with a floor of `floor_frac` of the
// reference's largest magnitude (sums over tokens cancel).
inline double rel_err(const std::vector<float>& got, const std::vector<double>& ref, double floor_frac = 1e-3) {
  return oracle::max_rel_err(got, ref, std::max(floor_frac * max_abs(ref), 1e-300));
}

inline std::vector<double> values(const std::vector<uint16_t>& v) { return oracle::bf16_values(v); }
inline std::vector<double> values(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

// old + g element by element: what an accumulating run (MHC_GRAD_ACCUMULATE_*) rounds once.
template <typename T>
std::vector<double> plus(const std::vector<T>& old, const std::vector<double>& g) {
  std::vector<double> v = values(old);
  for (size_t i = 0; i < v.size(); ++i) v[i] += g[i];
  return v;
}

// A problem size of the backward suites (sinkhorn_repeat: A3' only).
struct Shape {
  int64_t T;
  int n;
  int64_t C;
  int repeat;
};

// ---------------------------------------------------------------------------------------------
// A3' and A5': a forward problem, the gradients arriving at its outputs, the saved (D, Q).
// ---------------------------------------------------------------------------------------------

struct PreCase {
  mhc_desc_t desc;  // the forward's descriptor (MHC_OP_PRE or MHC_OP_HEAD)
  bool head;
  int64_t T, C, K, N;
  int n, groups;  // groups: scale entries (3, head 1)
  std::vector<uint16_t> R, dli;
  std::vector<float> fn, scale, base, dpost, dcomb;
  std::vector<float> D, Q;  // saved by the library's forward (out_gemm, out_sqrsum)

  mhc_desc_t backward_desc() const {
    mhc_desc_t d = desc;
    d.op = head ? MHC_OP_HEAD_BACKWARD : MHC_OP_PRE_BACKWARD;
    d.num_splits = 0;
    return d;
  }
  // w(fn) as the forward's products saw it (straight-through: dfn is the gradient w.r.t. these).
  std::vector<double> weights() const {
    std::vector<double> w(fn.size());
    for (size_t i = 0; i < fn.size(); ++i) w[i] = oracle::weight(fn[i], desc.weight_precision);
    return w;
  }
};

// Random inputs; D and Q from the library's forward (A3 or A5 with out_gemm, out_sqrsum).
inline PreCase make_pre_case(bool head, int64_t T, int n, int64_t C, int repeat = 20,
                             mhc_dtype_t precision = MHC_DTYPE_FP32) {
  using namespace mhc_test;
  PreCase c;
  c.desc = make_desc(head ? MHC_OP_HEAD : MHC_OP_PRE, T, n, C);
  c.desc.sinkhorn_repeat = repeat;
  c.desc.weight_precision = precision;
  c.head = head, c.T = T, c.C = C, c.n = n, c.K = n * C;
  c.N = head ? n : int64_t{n} * (n + 2);
  c.groups = head ? 1 : 3;
  c.R = random_bf16(T * c.K);
  c.fn = random_f32(c.N * c.K, -0.3, 0.3);
  c.scale = random_f32(c.groups, 0.5, 1.5);
  c.base = random_f32(c.N, -1.0, 1.0);
  c.dli = random_bf16(T * C, -1.0, 1.0);
  if (!head) c.dpost = random_f32(T * n, -1.0, 1.0), c.dcomb = random_f32(T * n * n, -1.0, 1.0);
  std::vector<float> post(T * n), comb(T * n * n);
  std::vector<uint16_t> li(T * C);
  c.D.resize(T * c.N), c.Q.resize(T);
  poison(c.D), poison(c.Q);
  mhc_args_t a = oracle::args();
  a.residual = c.R.data(), a.fn = c.fn.data(), a.scale = c.scale.data(), a.base = c.base.data();
  a.out_layer_input = li.data(), a.out_gemm = c.D.data(), a.out_sqrsum = c.Q.data();
  if (!head) a.out_post_mix = post.data(), a.out_comb_mix = comb.data();
  oracle::run_host(c.desc, a);
  REQUIRE_FALSE(any_poison(c.D));
  REQUIRE_FALSE(any_poison(c.Q));
  return c;
}

struct PreGrads {
  std::vector<uint16_t> dR;
  std::vector<float> dfn, dscale, dbase;
};

// The backward op on c. Outputs start as `init` (NaN poison when null); `accumulate`: its
// MHC_GRAD_ACCUMULATE_* bits.
inline PreGrads run_pre_backward(const PreCase& c, uint32_t accumulate = 0, const PreGrads* init = nullptr) {
  using namespace mhc_test;
  PreGrads g;
  if (init) {
    g = *init;
  } else {
    g.dR.resize(c.T * c.K), g.dfn.resize(c.N * c.K), g.dscale.resize(c.groups), g.dbase.resize(c.N);
    poison(g.dR), poison(g.dfn), poison(g.dscale), poison(g.dbase);
  }
  mhc_args_t a = oracle::args();
  a.residual = c.R.data(), a.fn = c.fn.data(), a.scale = c.scale.data(), a.base = c.base.data();
  a.gemm_out = c.D.data(), a.sqrsum = c.Q.data(), a.grad_layer_input = c.dli.data();
  if (!c.head) a.grad_post_mix = c.dpost.data(), a.grad_comb_mix = c.dcomb.data();
  a.out_grad_residual = g.dR.data(), a.out_grad_fn = g.dfn.data(), a.out_grad_scale = g.dscale.data();
  a.out_grad_base = g.dbase.data();
  a.grad_accumulate = accumulate;
  oracle::run_host(c.backward_desc(), a);
  REQUIRE_FALSE(any_poison(g.dR));
  REQUIRE_FALSE(any_poison(g.dfn));
  REQUIRE_FALSE(any_poison(g.dscale));
  REQUIRE_FALSE(any_poison(g.dbase));
  return g;
}

struct PreRef {
  std::vector<double> dR, dfn, dscale, dbase;
};

// The op's gradients against a reference: dR as the library rounds bf16 (docs/numerics.md), the
// fp32 ones within `fp32_tol` (rel_err).
inline void check_pre_grads(const PreGrads& g, const PreRef& ref, double fp32_tol) {
  std::string why;
  CHECK(oracle::bf16_mismatches(g.dR, ref.dR, &why) == 0);
  INFO(why);
  INFO("dfn " << rel_err(g.dfn, ref.dfn) << " dscale " << rel_err(g.dscale, ref.dscale) << " dbase "
              << rel_err(g.dbase, ref.dbase));
  CHECK(rel_err(g.dfn, ref.dfn) <= fp32_tol);
  CHECK(rel_err(g.dscale, ref.dscale) <= fp32_tol);
  CHECK(rel_err(g.dbase, ref.dbase) <= fp32_tol);
}

// The loss whose gradients the op returns, for one token's coefficients:
// sum_i dpre[i] pre[i] + sum dpost post + sum dcomb comb.
template <typename S>
S coeff_loss(const PreCase& c, int64_t t, const oracle::CoeffsOf<S>& co, const std::vector<double>& dpre) {
  S L = 0.0;
  for (int i = 0; i < c.n; ++i) L = L + dpre[i] * co.pre[i];
  if (c.head) return L;
  for (int i = 0; i < c.n; ++i) L = L + static_cast<double>(c.dpost[t * c.n + i]) * co.post[i];
  for (int j = 0; j < c.n * c.n; ++j) L = L + static_cast<double>(c.dcomb[t * c.n * c.n + j]) * co.comb[j];
  return L;
}

// dpre[i] = sum_x dli[x] R[i,x] of token t, from the residual values A (fp64).
inline std::vector<double> token_dpre(const PreCase& c, int64_t t, const std::vector<double>& A) {
  std::vector<double> dpre(c.n, 0.0);
  for (int i = 0; i < c.n; ++i)
    for (int64_t x = 0; x < c.C; ++x) dpre[i] += oracle::from_bf16(c.dli[t * c.C + x]) * A[t * c.K + i * c.C + x];
  return dpre;
}

// Exact gradients at the saved (D, Q): the coefficient math differentiated with dual numbers (one
// pass per scalar input of a token: D, Q, scale, base), then chained through the GEMM by hand:
// dR = pre dli + dD w(fn) + 2 dQ A, dfn = sum_t dD A.
inline PreRef pre_oracle(const PreCase& c) {
  const oracle::DynParams prm = oracle::params(c.desc);
  const std::vector<double> A = values(c.R), W = c.weights();
  const int64_t inputs = c.N + 1 + c.groups + c.N;  // D, Q, scale, base
  PreRef ref;
  ref.dR.assign(c.T * c.K, 0.0), ref.dfn.assign(c.N * c.K, 0.0);
  ref.dscale.assign(c.groups, 0.0), ref.dbase.assign(c.N, 0.0);
  for (int64_t t = 0; t < c.T; ++t) {
    const std::vector<double> dpre = token_dpre(c, t, A);
    std::vector<double> grad(inputs);
    for (int64_t e = 0; e < inputs; ++e) {
      std::vector<Dual> D(c.N), scale(c.groups), base(c.N);
      for (int64_t j = 0; j < c.N; ++j) D[j] = Dual(c.D[t * c.N + j], e == j ? 1.0 : 0.0);
      const Dual Q(c.Q[t], e == c.N ? 1.0 : 0.0);
      for (int g = 0; g < c.groups; ++g) scale[g] = Dual(c.scale[g], e == c.N + 1 + g ? 1.0 : 0.0);
      for (int64_t j = 0; j < c.N; ++j) base[j] = Dual(c.base[j], e == c.N + 1 + c.groups + j ? 1.0 : 0.0);
      const auto co = oracle::coeffs_of<Dual>(prm, D.data(), Q, scale.data(), base.data(), c.head);
      grad[e] = coeff_loss(c, t, co, dpre).d;
    }
    const std::vector<double> Dt(c.D.begin() + t * c.N, c.D.begin() + (t + 1) * c.N);
    const auto co = oracle::coeffs(prm, Dt.data(), c.Q[t], c.scale.data(), c.base.data(), c.head);
    for (int i = 0; i < c.n; ++i)
      for (int64_t x = 0; x < c.C; ++x) {
        const int64_t k = i * c.C + x;
        double v = co.pre[i] * oracle::from_bf16(c.dli[t * c.C + x]) + 2.0 * grad[c.N] * A[t * c.K + k];
        for (int64_t j = 0; j < c.N; ++j) v += grad[j] * W[j * c.K + k];
        ref.dR[t * c.K + k] = v;
      }
    for (int64_t j = 0; j < c.N; ++j)
      for (int64_t k = 0; k < c.K; ++k) ref.dfn[j * c.K + k] += grad[j] * A[t * c.K + k];
    for (int g = 0; g < c.groups; ++g) ref.dscale[g] += grad[c.N + 1 + g];
    for (int64_t j = 0; j < c.N; ++j) ref.dbase[j] += grad[c.N + 1 + c.groups + j];
  }
  return ref;
}

// The whole forward in fp64, nothing rounded: the GEMM from the residual values A and weights W,
// the coefficients, layer_input; the loss dli . layer_input + dpost . post + dcomb . comb.
inline double pre_loss(const PreCase& c, const std::vector<double>& A, const std::vector<double>& W,
                       const std::vector<double>& scale, const std::vector<double>& base) {
  const oracle::DynParams prm = oracle::params(c.desc);
  double L = 0.0;
  for (int64_t t = 0; t < c.T; ++t) {
    std::vector<double> D(c.N, 0.0);
    double Q = 0.0;
    for (int64_t k = 0; k < c.K; ++k) {
      const double a = A[t * c.K + k];
      Q += a * a;
      for (int64_t j = 0; j < c.N; ++j) D[j] += a * W[j * c.K + k];
    }
    const auto co = oracle::coeffs_of<double>(prm, D.data(), Q, scale.data(), base.data(), c.head);
    L += coeff_loss(c, t, co, token_dpre(c, t, A));  // = dli . sum_i pre[i] R[i,:]
  }
  return L;
}

// Central differences: d f / d v[i] for every i, step h * max(1, |v[i]|).
inline std::vector<double> central_differences(std::vector<double>& v, const std::function<double()>& f,
                                               double h = 1e-6) {
  std::vector<double> g(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const double v0 = v[i], step = h * std::max(1.0, std::fabs(v0));
    v[i] = v0 + step;
    const double up = f();
    v[i] = v0 - step;
    const double down = f();
    v[i] = v0;
    g[i] = (up - down) / (2.0 * step);
  }
  return g;
}

// Finite differences of pre_loss w.r.t. the residual, the weights w(fn) (straight through the
// tf32 rounding), scale and base.
inline PreRef pre_finite_differences(const PreCase& c) {
  std::vector<double> A = values(c.R), W = c.weights(), scale = values(c.scale), base = values(c.base);
  const auto f = [&] { return pre_loss(c, A, W, scale, base); };
  return {central_differences(A, f), central_differences(W, f), central_differences(scale, f),
          central_differences(base, f)};
}

}  // namespace bwd
