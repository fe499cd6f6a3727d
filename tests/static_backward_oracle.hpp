// Evidence for the family B backward suites (tests/test_b*_backward.cpp), independent of the
// library's reverse mode: the naive fp64 forward of B1-B3 written once more, templated on the
// scalar (docs/numerics.md "Family B" line by line: exp(h_res) unshifted, the guarded
// Sinkhorn), its exact derivatives by dual numbers and its central finite differences, and a
// runner for the host plans.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <thread>
#include <vector>

#include "static_harness.hpp"
#include "test_backward_oracle.hpp"

namespace sbwd {

using mhc_test::Act;
using mhc_test::Layer;

inline double value(double v) { return v; }
inline double value(const bwd::Dual& v) { return v.v; }

// What the guard did over a whole Sinkhorn: lines left as they were, lines normalized, and the
// closest any line's sum came to eps (relative), to keep finite differences on one side of it.
struct GuardStats {
  int guarded = 0, scaled = 0;
  double margin = INFINITY;
};

// M = the guarded Sinkhorn of exp(h) [n*n], row step then column step, `iters` times.
template <typename S>
std::vector<S> sinkhorn_of(int n, const S* h, int iters, double eps, GuardStats* st = nullptr) {
  using std::exp;
  std::vector<S> M(static_cast<size_t>(n) * n);
  for (int k = 0; k < n * n; ++k) M[k] = exp(h[k]);
  for (int it = 0; it < iters; ++it)
    for (int cols = 0; cols < 2; ++cols)
      for (int a = 0; a < n; ++a) {
        auto at = [&](int b) -> S& { return cols ? M[b * n + a] : M[a * n + b]; };
        S s = 0.0;
        for (int b = 0; b < n; ++b) s = s + at(b);
        if (st) st->margin = std::min(st->margin, std::fabs(value(s) - eps) / eps);
        if (value(s) > eps) {
          for (int b = 0; b < n; ++b) at(b) = at(b) / s;
          if (st) ++st->scaled;
        } else if (st) {
          ++st->guarded;
        }
      }
  return M;
}

// The inputs of a family B backward op as fp64 values (or dual numbers): what it differentiates.
template <typename S>
struct InputsOf {
  std::vector<S> x, F, h_pre, h_post, h_res, w;  // F: B2' only
};
using Inputs = InputsOf<double>;
// The members in the order the gradients are listed.
using Member = std::vector<double> Inputs::*;
const Member kMembers[] = {&Inputs::x, &Inputs::F, &Inputs::h_pre, &Inputs::h_post, &Inputs::h_res, &Inputs::w};

// One backward op's problem: a layer (static_harness.hpp), B2's F, and the gradient arriving at
// the forward's output (B1': dL/d layer_input [B, C]; B2', B3': dL/d out [B, n, C]).
struct Case {
  mhc_op_t op;  // the backward op
  bool pre, post;
  Layer L;
  Act F, G;
  mhc_desc_t desc() const { return L.desc(op); }
  Inputs inputs() const {
    Inputs v;
    v.x = L.x.values();
    if (!pre) v.F = F.values();
    if (pre) v.h_pre.assign(L.h_pre.begin(), L.h_pre.end()), v.w = oracle::bf16_values(L.w);
    if (post) v.h_post.assign(L.h_post.begin(), L.h_post.end()), v.h_res.assign(L.h_res.begin(), L.h_res.end());
    return v;
  }
};

inline Case make_case(mhc_op_t op, int64_t B, int n, int64_t C, mhc_dtype_t dt, int iters = 20, float eps = 1e-5f) {
  Case c{op, op != MHC_OP_STATIC_POST_BACKWARD, op != MHC_OP_STATIC_PRE_BACKWARD, Layer(B, n, C, dt), Act(dt, 0),
         Act(dt, 0)};
  c.L.iters = iters, c.L.eps = eps;
  if (!c.pre) c.F = Act::random(dt, B * C);
  c.G = Act::random(dt, c.post ? B * n * C : B * C, -1.0, 1.0);
  return c;
}

// The loss whose gradients the op returns: sum G . out (B2', B3') or sum G . layer_input (B1'),
// the forward in fp64, nothing rounded. M: the Sinkhorn of v.h_res (passed in: it is the costly
// part, and most inputs do not change it).
template <typename S>
S loss(const Case& c, const InputsOf<S>& v, const std::vector<S>& M) {
  using std::sqrt;
  const int n = c.L.n;
  const int64_t B = c.L.B, C = c.L.C;
  S L = 0.0;
  for (int64_t b = 0; b < B; ++b) {
    std::vector<S> F(C);
    if (c.pre) {
      std::vector<S> y(C, S(0.0));
      S sq = 0.0;
      for (int64_t k = 0; k < C; ++k) {
        for (int i = 0; i < n; ++i) y[k] = y[k] + oracle::sigmoid_of<S>(v.h_pre[i]) * v.x[(b * n + i) * C + k];
        sq = sq + y[k] * y[k];
      }
      const S rms = 1.0 / sqrt(sq / static_cast<double>(C) + static_cast<double>(c.L.eps));
      for (int64_t k = 0; k < C; ++k) F[k] = y[k] * rms * v.w[k];
      if (!c.post) {
        for (int64_t k = 0; k < C; ++k) L = L + c.G.get(b * C + k) * F[k];
        continue;
      }
    } else {
      for (int64_t k = 0; k < C; ++k) F[k] = v.F[b * C + k];
    }
    for (int i = 0; i < n; ++i)
      for (int64_t k = 0; k < C; ++k) {
        S out = 2.0 * oracle::sigmoid_of<S>(v.h_post[i]) * F[k];
        for (int j = 0; j < n; ++j) out = out + M[i * n + j] * v.x[(b * n + j) * C + k];
        L = L + c.G.get((b * n + i) * C + k) * out;
      }
  }
  return L;
}

template <typename S>
std::vector<S> sinkhorn_of(const Case& c, const std::vector<S>& h_res, GuardStats* st = nullptr) {
  return c.post ? sinkhorn_of<S>(c.L.n, h_res.data(), c.L.iters, c.L.eps, st) : std::vector<S>{};
}

// dL/d every input, in the op's order: dx, dF, dh_pre, dh_post, dh_res, dw (empty where absent).
using Grads = Inputs;

// Exact derivatives: one forward pass in dual numbers per scalar input.
inline Grads exact(const Case& c) {
  const Inputs v = c.inputs();
  const std::vector<double> M = sinkhorn_of(c, v.h_res);
  Grads g;
  for (Member m : kMembers)
    for (size_t e = 0; e < (v.*m).size(); ++e) {
      InputsOf<bwd::Dual> d;
      auto lift = [&](const std::vector<double>& src, Member own) {
        std::vector<bwd::Dual> out(src.begin(), src.end());
        if (own == m) out[e].d = 1.0;
        return out;
      };
      d.x = lift(v.x, &Inputs::x), d.F = lift(v.F, &Inputs::F), d.h_pre = lift(v.h_pre, &Inputs::h_pre);
      d.h_post = lift(v.h_post, &Inputs::h_post), d.h_res = lift(v.h_res, &Inputs::h_res), d.w = lift(v.w, &Inputs::w);
      const std::vector<bwd::Dual> Md =
          m == &Inputs::h_res ? sinkhorn_of(c, d.h_res) : std::vector<bwd::Dual>(M.begin(), M.end());
      (g.*m).push_back(loss(c, d, Md).d);
    }
  return g;
}

// Central finite differences of the same forward, step 1e-5 * max(1, |v|) (the loss sums many
// terms: a smaller step would drown the n = 32 Sinkhorn's small derivatives in rounding).
inline Grads finite_differences(const Case& c) {
  Inputs v = c.inputs();
  const std::vector<double> M = sinkhorn_of(c, v.h_res);
  Grads g;
  for (Member m : kMembers) {
    const auto f = [&] { return loss(c, v, m == &Inputs::h_res ? sinkhorn_of(c, v.h_res) : M); };
    g.*m = bwd::central_differences(v.*m, f, 1e-5);
  }
  return g;
}

// old + g of an activation output (what an accumulating run rounds once).
inline std::vector<double> plus(const Act& old, const std::vector<double>& g) {
  std::vector<double> v = old.values();
  for (size_t i = 0; i < v.size(); ++i) v[i] += g[i];
  return v;
}

// The library's gradients (outputs poisoned first, or `init` with `accumulate` bits).
struct Out {
  Act dx, dF;
  std::vector<float> dh_pre, dh_post, dh_res, dw;
};

inline Out fresh_out(const Case& c) {
  const int n = c.L.n;
  const int64_t B = c.L.B, C = c.L.C;
  Out o{Act(c.L.dt, B * n * C), Act(c.L.dt, c.pre ? 0 : B * C), {}, {}, {}, {}};
  if (c.pre) o.dh_pre.resize(n), o.dw.resize(C);
  if (c.post) o.dh_post.resize(n), o.dh_res.resize(n * n);
  o.dx.poison_all(), o.dF.poison_all();
  mhc_test::poison(o.dh_pre), mhc_test::poison(o.dh_post), mhc_test::poison(o.dh_res), mhc_test::poison(o.dw);
  return o;
}

template <typename T>
void* data_or_null(std::vector<T>& v) {
  return v.empty() ? nullptr : v.data();
}

inline mhc_args_t args_of(const Case& c, Out& o, uint32_t accumulate) {
  mhc_args_t a = oracle::args();
  a.residual = c.L.x.data();
  if (c.pre) a.norm_weight = c.L.w.data(), a.h_pre = c.L.h_pre.data();
  if (c.post) a.h_post = c.L.h_post.data(), a.h_res = c.L.h_res.data();
  if (!c.pre) a.layer_output = c.F.data(), a.out_grad_layer_output = o.dF.data();
  (c.post ? a.grad_residual : a.grad_layer_input) = c.G.data();
  a.out_grad_residual = o.dx.data();
  a.out_grad_h_pre = data_or_null(o.dh_pre), a.out_grad_norm_weight = data_or_null(o.dw);
  a.out_grad_h_post = data_or_null(o.dh_post), a.out_grad_h_res = data_or_null(o.dh_res);
  a.grad_accumulate = accumulate;
  return a;
}

inline Out run(const Case& c, uint32_t accumulate = 0, const Out* init = nullptr) {
  Out o = init ? *init : fresh_out(c);
  oracle::run_host(c.desc(), args_of(c, o, accumulate));
  REQUIRE_FALSE(o.dx.poisoned());
  REQUIRE_FALSE(o.dF.poisoned());
  REQUIRE_FALSE(mhc_test::any_poison(o.dh_pre));
  REQUIRE_FALSE(mhc_test::any_poison(o.dh_post));
  REQUIRE_FALSE(mhc_test::any_poison(o.dh_res));
  REQUIRE_FALSE(mhc_test::any_poison(o.dw));
  return o;
}

// An activation gradient against its reference: bf16 one correct rounding (bf16_mismatches), fp32
// within `fp32_tol` (relative, floor 1e-3 of the largest).
inline void check_act(const Act& got, const std::vector<double>& ref, double fp32_tol) {
  if (got.dt == MHC_DTYPE_FP32) {
    CHECK(bwd::rel_err(got.f, ref) <= fp32_tol);
  } else {
    std::string why;
    CHECK(oracle::bf16_mismatches(got.b, ref, &why) == 0);
    INFO(why);
  }
}

// Every gradient of the op against a reference; fp32 outputs within `fp32_tol` (rel_err).
inline void check(const Out& o, const Grads& ref, double fp32_tol) {
  check_act(o.dx, ref.x, fp32_tol);
  if (o.dF.size() != 0) check_act(o.dF, ref.F, fp32_tol);
  INFO("dh_pre " << (o.dh_pre.empty() ? 0.0 : bwd::rel_err(o.dh_pre, ref.h_pre)) << " dh_post "
                 << (o.dh_post.empty() ? 0.0 : bwd::rel_err(o.dh_post, ref.h_post)) << " dh_res "
                 << (o.dh_res.empty() ? 0.0 : bwd::rel_err(o.dh_res, ref.h_res)) << " dw "
                 << (o.dw.empty() ? 0.0 : bwd::rel_err(o.dw, ref.w)));
  CHECK(o.dh_pre.size() == ref.h_pre.size());
  CHECK(o.dh_post.size() == ref.h_post.size());
  CHECK(o.dh_res.size() == ref.h_res.size());
  CHECK(o.dw.size() == ref.w.size());
  if (!o.dh_pre.empty()) CHECK(bwd::rel_err(o.dh_pre, ref.h_pre) <= fp32_tol);
  if (!o.dh_post.empty()) CHECK(bwd::rel_err(o.dh_post, ref.h_post) <= fp32_tol);
  if (!o.dh_res.empty()) CHECK(bwd::rel_err(o.dh_res, ref.h_res) <= fp32_tol);
  if (!o.dw.empty()) CHECK(bwd::rel_err(o.dw, ref.w) <= fp32_tol);
}

// Each output of Out with its MHC_GRAD_ACCUMULATE_* bit.
inline std::vector<std::pair<uint32_t, std::function<bool(const Out&, const Out&)>>> outputs_by_bit() {
  return {{MHC_GRAD_ACCUMULATE_RESIDUAL, [](const Out& a, const Out& b) { return a.dx.values() == b.dx.values(); }},
          {MHC_GRAD_ACCUMULATE_LAYER_OUTPUT, [](const Out& a, const Out& b) { return a.dF.values() == b.dF.values(); }},
          {MHC_GRAD_ACCUMULATE_H_PRE, [](const Out& a, const Out& b) { return oracle::same_bits(a.dh_pre, b.dh_pre); }},
          {MHC_GRAD_ACCUMULATE_H_POST, [](const Out& a, const Out& b) { return oracle::same_bits(a.dh_post, b.dh_post); }},
          {MHC_GRAD_ACCUMULATE_H_RES, [](const Out& a, const Out& b) { return oracle::same_bits(a.dh_res, b.dh_res); }},
          {MHC_GRAD_ACCUMULATE_NORM_WEIGHT, [](const Out& a, const Out& b) { return oracle::same_bits(a.dw, b.dw); }}};
}

// NaN in every output but the one of `keep` (a bit), which an accumulating run must read.
inline void poison_except(Out& o, uint32_t keep) {
  if (keep != MHC_GRAD_ACCUMULATE_RESIDUAL) o.dx.poison_all();
  if (keep != MHC_GRAD_ACCUMULATE_LAYER_OUTPUT) o.dF.poison_all();
  if (keep != MHC_GRAD_ACCUMULATE_H_PRE) mhc_test::poison(o.dh_pre);
  if (keep != MHC_GRAD_ACCUMULATE_H_POST) mhc_test::poison(o.dh_post);
  if (keep != MHC_GRAD_ACCUMULATE_H_RES) mhc_test::poison(o.dh_res);
  if (keep != MHC_GRAD_ACCUMULATE_NORM_WEIGHT) mhc_test::poison(o.dw);
}

// For both act dtypes: every accumulate bit of the op at once, old + g rounded once (old random);
// each bit alone: that output adds, the others (NaN) are overwritten without being read.
inline void check_accumulate(mhc_op_t op) {
  for (mhc_dtype_t dt : mhc_test::kDtypes) {
  INFO("act dtype " << dt);
  const Case c = make_case(op, 3, 4, 9, dt);
  const Grads ref = exact(c);
  const Out fresh = run(c);
  Out old = fresh_out(c);
  old.dx = Act::random(dt, old.dx.size(), -3, 3), old.dF = Act::random(dt, old.dF.size(), -3, 3);
  for (std::vector<float>* v : {&old.dh_pre, &old.dh_post, &old.dh_res, &old.dw}) *v = mhc_test::random_f32(v->size(), -3, 3);
  uint32_t all = MHC_GRAD_ACCUMULATE_RESIDUAL | (c.pre ? 0u : MHC_GRAD_ACCUMULATE_LAYER_OUTPUT);
  all |= c.pre ? MHC_GRAD_ACCUMULATE_H_PRE | MHC_GRAD_ACCUMULATE_NORM_WEIGHT : 0u;
  all |= c.post ? MHC_GRAD_ACCUMULATE_H_POST | MHC_GRAD_ACCUMULATE_H_RES : 0u;
  const Out acc = run(c, all, &old);
  Grads sum;
  sum.x = plus(old.dx, ref.x), sum.F = plus(old.dF, ref.F);
  sum.h_pre = bwd::plus(old.dh_pre, ref.h_pre), sum.h_post = bwd::plus(old.dh_post, ref.h_post);
  sum.h_res = bwd::plus(old.dh_res, ref.h_res), sum.w = bwd::plus(old.dw, ref.w);
  check(acc, sum, 1e-6);
  for (const auto& out : outputs_by_bit()) {
    if (!(all & out.first)) continue;
    INFO("bit " << out.first);
    Out mix = old;
    poison_except(mix, out.first);
    const Out m = run(c, out.first, &mix);  // fails on any NaN left
    for (const auto& other : outputs_by_bit()) CHECK(other.second(m, other.first == out.first ? acc : fresh));
  }
  }
}

// The forward's n = 1 hand case (test_static_family.cpp) as a backward problem: x = [6, 8],
// s_pre = 1/2 (y = [3, 4]), eps = 3.5 (rms = 1/4), w = [1, 2] (yn = [3/4, 2]), s_post = 1,
// exp(h_res) = e^2 > eps (M = [[1]]), and the arriving gradient [1, 1/2].
inline Case hand_case(mhc_op_t op, mhc_dtype_t dt) {
  Case c = make_case(op, 1, 1, 2, dt, 20, 3.5f);
  c.L.x.set(0, 6.0), c.L.x.set(1, 8.0);
  c.L.w = {oracle::to_bf16(1.0), oracle::to_bf16(2.0)};
  c.L.h_pre = {0.0f}, c.L.h_post = {0.0f}, c.L.h_res = {2.0f};
  c.G.set(0, 1.0), c.G.set(1, 0.5);
  return c;
}

// n = 1, 2, 4, 17, 32 (and 3), B 1..4, small C, sinkhorn iters 1, 2, 20.
const bwd::Shape kShapes[] = {{1, 1, 3, 1}, {2, 2, 5, 2}, {3, 4, 8, 20}, {4, 3, 4, 2},
                              {1, 17, 3, 20}, {2, 32, 2, 20}, {2, 17, 4, 1}};

// The op on every shape and activation dtype against the exact derivatives (fp64 inside, one
// rounding: the fp32 outputs within their rounding) and against finite differences (fd_tol).
inline void check_every_shape(mhc_op_t op, double fd_tol) {
  for (const bwd::Shape& s : kShapes)
    for (mhc_dtype_t dt : mhc_test::kDtypes) {
      INFO("B " << s.T << " n " << s.n << " C " << s.C << " iters " << s.repeat << " act dtype " << dt);
      const Case c = make_case(op, s.T, s.n, s.C, dt, s.repeat);
      const Out o = run(c);
      check(o, exact(c), 1e-6);
      check(o, finite_differences(c), fd_tol);
    }
}

inline bool same_bits(const Out& a, const Out& b) {
  return a.dx.values() == b.dx.values() && a.dF.values() == b.dF.values() && oracle::same_bits(a.dh_pre, b.dh_pre) &&
         oracle::same_bits(a.dh_post, b.dh_post) && oracle::same_bits(a.dh_res, b.dh_res) &&
         oracle::same_bits(a.dw, b.dw);
}

// Enough rows that the host spreads them (and the rows of dM) over worker threads: one plan run
// from concurrent callers gives the same bits every time; a run of the first rows (args.tokens)
// gives the bits of a plan for just those rows, and its dx rows are the full run's first rows.
inline void check_deterministic(mhc_op_t op, mhc_dtype_t dt) {
  const Case c = make_case(op, 256, 16, 128, dt, 20);
  const Out first = run(c);
  std::vector<Out> got(3, fresh_out(c));
  {
    const mhc_desc_t d = c.desc();
    const mhc_preference_t pref = mhc_test::host_only();
    mhc_plan_t plan = nullptr;
    REQUIRE_OK(mhc_plan_select(&d, &pref, &plan));
    std::vector<mhc_status_t> status(got.size(), -1);
    std::vector<std::thread> callers;
    for (size_t k = 0; k < got.size(); ++k)
      callers.emplace_back([&, k] {
        const mhc_args_t a = args_of(c, got[k], 0);
        status[k] = mhc_plan_run(plan, nullptr, nullptr, 0, &a);
      });
    for (auto& th : callers) th.join();
    for (mhc_status_t st : status) CHECK(st == MHC_STATUS_SUCCESS);
    // The first 7 rows on the same plan.
    Out part = fresh_out(c);
    mhc_args_t a = args_of(c, part, 0);
    a.tokens = 7;
    REQUIRE_OK(mhc_plan_run(plan, nullptr, nullptr, 0, &a));
    REQUIRE_OK(mhc_plan_destroy(plan));
    Case few = c;
    few.L.B = 7;
    const Out small = run(few);
    const std::vector<double> head = small.dx.values(), part_dx = part.dx.values(), full = first.dx.values();
    CHECK(std::equal(head.begin(), head.end(), part_dx.begin()));
    CHECK(std::equal(head.begin(), head.end(), full.begin()));
    CHECK(oracle::same_bits(part.dh_pre, small.dh_pre));
    CHECK(oracle::same_bits(part.dh_post, small.dh_post));
    CHECK(oracle::same_bits(part.dh_res, small.dh_res));
    CHECK(oracle::same_bits(part.dw, small.dw));
  }
  for (const Out& o : got) CHECK(same_bits(o, first));
}

}  // namespace sbwd
