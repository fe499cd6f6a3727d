// a3_pre_backward (A3') on the host reference: every gradient against exact derivatives (dual
// numbers) at the saved (D, Q) and against central finite differences of the whole fp64 forward,
// through all Sinkhorn steps and the RMS; hand cases; the accumulate bits; determinism.
#include <thread>

#include "test_backward_oracle.hpp"

using namespace mhc_test;

namespace {

// n = 1, 2, 4 (and 3), C 3..16, T 1..5, sinkhorn_repeat 1, 2, 20.
const bwd::Shape kShapes[] = {{1, 1, 3, 1}, {2, 2, 5, 2}, {3, 4, 8, 20}, {5, 2, 16, 20},
                         {1, 4, 16, 1}, {3, 3, 7, 2}, {2, 1, 9, 20}, {4, 4, 3, 2}};
}  // namespace

TEST_CASE("A3': every gradient against exact derivatives at the saved D, Q (dual numbers)", "[backward][A3]") {
  for (const bwd::Shape& s : kShapes)
    for (mhc_dtype_t w : {MHC_DTYPE_FP32, MHC_DTYPE_TF32}) {
      INFO("T " << s.T << " n " << s.n << " C " << s.C << " repeat " << s.repeat << " precision " << w);
      const bwd::PreCase c = bwd::make_pre_case(false, s.T, s.n, s.C, s.repeat, w);
      // fp64 inside, one rounding at the end: the fp32 outputs are within their rounding.
      bwd::check_pre_grads(bwd::run_pre_backward(c), bwd::pre_oracle(c), 1e-6);
    }
}

TEST_CASE("A3': every gradient against finite differences of the whole fp64 forward", "[backward][A3][fd]") {
  for (const bwd::Shape& s : kShapes) {
    INFO("T " << s.T << " n " << s.n << " C " << s.C << " repeat " << s.repeat);
    const bwd::PreCase c = bwd::make_pre_case(false, s.T, s.n, s.C, s.repeat);
    // The op reads the forward's fp32 (D, Q), the differences see fp64 ones: 1e-7-level apart.
    bwd::check_pre_grads(bwd::run_pre_backward(c), bwd::pre_finite_differences(c), 2e-5);
  }
  // tf32 weights: dR through w(fn) (the forward's products), dfn straight through the rounding.
  const bwd::PreCase c = bwd::make_pre_case(false, 3, 4, 8, 20, MHC_DTYPE_TF32);
  bwd::check_pre_grads(bwd::run_pre_backward(c), bwd::pre_finite_differences(c), 2e-5);
}

TEST_CASE("A3': the oracles can tell a wrong gradient", "[backward][A3]") {
  // The same checks on a perturbed problem must fail: another post_mult, sinkhorn_repeat or
  // rms_eps changes the gradients by far more than the tolerance.
  const bwd::PreCase c = bwd::make_pre_case(false, 3, 4, 8, 2);
  const bwd::PreGrads g = bwd::run_pre_backward(c);
  bwd::PreCase other = c;
  other.desc.post_mult = 1.0f;
  CHECK(bwd::rel_err(g.dbase, bwd::pre_oracle(other).dbase) > 1e-3);
  other = c;
  other.desc.sinkhorn_repeat = 1;
  const bwd::PreRef ref = bwd::pre_oracle(other);
  CHECK(bwd::rel_err(g.dbase, ref.dbase) > 1e-3);
  other = c;
  other.desc.rms_eps = 0.5f;
  const bwd::PreRef ref2 = bwd::pre_oracle(other);
  CHECK(bwd::rel_err(g.dfn, ref2.dfn) > 1e-3);
  CHECK(oracle::bf16_mismatches(g.dR, ref2.dR) > 0);
}

TEST_CASE("A3': D = 0 by hand (mix = 0: gates of base alone, no RMS term)", "[backward][A3]") {
  // With D = 0 every mix is 0 whatever Q is: z = base, dscale = 0 exactly, dr = 0 (no dQ term), and
  // with dcomb = 0 the comb logits get no gradient. Then, per token, with s_i = sigmoid(base_i):
  //   dbase[i]   = dpre_i s_i (1 - s_i),             dpre_i = sum_x dli[x] R[i,x]
  //   dbase[n+i] = dpost_i post_mult s (1 - s),      s = sigmoid(base[n+i])
  //   dD_j = dbase_j scale[g(j)] r,  dR[i,x] = pre_i dli[x] + sum_j dD_j fn[j,k],  dfn[j,k] = sum_t dD_j R[t,k]
  for (int n : {1, 2, 4}) {
    INFO("n " << n);
    bwd::PreCase c = bwd::make_pre_case(false, 2, n, 6, 20);
    std::fill(c.D.begin(), c.D.end(), 0.0f);
    std::fill(c.dcomb.begin(), c.dcomb.end(), 0.0f);
    const bwd::PreGrads g = bwd::run_pre_backward(c);
    const double pm = c.desc.post_mult;
    std::vector<double> dbase(c.N, 0.0), dfn(c.N * c.K, 0.0), dR(c.T * c.K);
    const std::vector<double> A = bwd::values(c.R);
    for (int64_t t = 0; t < c.T; ++t) {
      const double r = 1.0 / std::sqrt(c.Q[t] / static_cast<double>(c.K) + c.desc.rms_eps);
      const std::vector<double> dpre = bwd::token_dpre(c, t, A);
      std::vector<double> dz(c.N, 0.0);
      for (int i = 0; i < n; ++i) {
        const double s = oracle::sigmoid(c.base[i]), sp = oracle::sigmoid(c.base[n + i]);
        dz[i] = dpre[i] * s * (1 - s);
        dz[n + i] = c.dpost[t * n + i] * pm * sp * (1 - sp);
      }
      for (int i = 0; i < n; ++i)
        for (int64_t x = 0; x < c.C; ++x) {
          const int64_t k = i * c.C + x;
          double v = (oracle::sigmoid(c.base[i]) + c.desc.pre_eps) * oracle::from_bf16(c.dli[t * c.C + x]);
          for (int64_t j = 0; j < 2 * n; ++j) v += dz[j] * c.scale[j < n ? 0 : 1] * r * c.fn[j * c.K + k];
          dR[t * c.K + k] = v;
        }
      for (int64_t j = 0; j < c.N; ++j) {
        dbase[j] += dz[j];
        const double dD = dz[j] * c.scale[j < n ? 0 : j < 2 * n ? 1 : 2] * r;
        for (int64_t k = 0; k < c.K; ++k) dfn[j * c.K + k] += dD * A[t * c.K + k];
      }
    }
    for (float v : g.dscale) CHECK(v == 0.0f);
    for (int64_t j = 2 * n; j < c.N; ++j) CHECK(g.dbase[j] == 0.0f);
    for (int64_t e = 2 * n * c.K; e < c.N * c.K; ++e) REQUIRE(g.dfn[e] == 0.0f);
    CHECK(bwd::rel_err(g.dbase, dbase) <= 1e-6);
    CHECK(bwd::rel_err(g.dfn, dfn) <= 1e-6);
    std::string why;
    CHECK(oracle::bf16_mismatches(g.dR, dR, &why) == 0);
    INFO(why);
  }
}

TEST_CASE("A3': n = 1 has a constant comb: its gradient reaches nothing", "[backward][A3]") {
  // The 1 x 1 Sinkhorn gives (1 + eps) / (1 + 2 eps) for any logit: the softmax's reverse is
  // exactly 0, so dcomb changes no output bit and the comb's scale and base get exactly 0.
  bwd::PreCase c = bwd::make_pre_case(false, 4, 1, 11, 20);
  const bwd::PreGrads g = bwd::run_pre_backward(c);
  CHECK(g.dscale[2] == 0.0f);
  CHECK(g.dbase[2] == 0.0f);
  for (int64_t k = 0; k < c.K; ++k) REQUIRE(g.dfn[2 * c.K + k] == 0.0f);
  for (float& v : c.dcomb) v *= -7.0f;
  const bwd::PreGrads g2 = bwd::run_pre_backward(c);
  CHECK(oracle::same_bits(g.dR, g2.dR));
  CHECK(oracle::same_bits(g.dfn, g2.dfn));
  CHECK(oracle::same_bits(g.dbase, g2.dbase));
  CHECK(oracle::same_bits(g.dscale, g2.dscale));
}

TEST_CASE("A3': the comb logits' gradient sums to 0 along each row (softmax shift invariance)", "[backward][A3]") {
  // Adding a constant to a row of logits leaves the softmax, hence the comb, unchanged: for one
  // token, sum_k dbase[2n + j n + k] = 0 for every row j, whatever dcomb is.
  for (int n : {2, 3, 4})
    for (int repeat : {1, 2, 20}) {
      INFO("n " << n << " repeat " << repeat);
      bwd::PreCase c = bwd::make_pre_case(false, 1, n, 8, repeat);
      std::fill(c.dpost.begin(), c.dpost.end(), 0.0f);
      const bwd::PreGrads g = bwd::run_pre_backward(c);
      double scale_row = 0.0;
      for (int64_t j = 2 * n; j < c.N; ++j) scale_row = std::max(scale_row, std::fabs(double{g.dbase[j]}));
      REQUIRE(scale_row > 1e-4);  // a real gradient
      for (int j = 0; j < n; ++j) {
        double s = 0.0;
        for (int k = 0; k < n; ++k) s += g.dbase[2 * n + j * n + k];
        CHECK(std::fabs(s) <= 1e-6 * scale_row);
      }
    }
}

TEST_CASE("A3': accumulate adds to the outputs' contents, overwrite ignores them", "[backward][A3][accumulate]") {
  const bwd::PreCase c = bwd::make_pre_case(false, 3, 4, 8, 20);
  const bwd::PreRef ref = bwd::pre_oracle(c);
  const bwd::PreGrads fresh = bwd::run_pre_backward(c);
  constexpr uint32_t kAll = MHC_GRAD_ACCUMULATE_RESIDUAL | MHC_GRAD_ACCUMULATE_FN | MHC_GRAD_ACCUMULATE_SCALE |
                            MHC_GRAD_ACCUMULATE_BASE;
  // Zero contents: beta 1 gives the bits of beta 0.
  bwd::PreGrads zero{std::vector<uint16_t>(c.T * c.K, 0), std::vector<float>(c.N * c.K, 0.0f),
                     std::vector<float>(c.groups, 0.0f), std::vector<float>(c.N, 0.0f)};
  const bwd::PreGrads z = bwd::run_pre_backward(c, kAll, &zero);
  CHECK(oracle::same_bits(z.dR, fresh.dR));
  CHECK(oracle::same_bits(z.dfn, fresh.dfn));
  CHECK(oracle::same_bits(z.dscale, fresh.dscale));
  CHECK(oracle::same_bits(z.dbase, fresh.dbase));
  // Finite contents: the fp64 gradient added, one rounding (bf16(old + g), fp32(old + g)).
  bwd::PreGrads old{random_bf16(c.T * c.K, -3, 3), random_f32(c.N * c.K, -3, 3), random_f32(c.groups, -3, 3),
                    random_f32(c.N, -3, 3)};
  const bwd::PreGrads acc = bwd::run_pre_backward(c, kAll, &old);
  std::string why;
  CHECK(oracle::bf16_mismatches(acc.dR, bwd::plus(old.dR, ref.dR), &why) == 0);
  INFO(why);
  CHECK(bwd::rel_err(acc.dfn, bwd::plus(old.dfn, ref.dfn)) <= 1e-6);
  CHECK(bwd::rel_err(acc.dscale, bwd::plus(old.dscale, ref.dscale)) <= 1e-6);
  CHECK(bwd::rel_err(acc.dbase, bwd::plus(old.dbase, ref.dbase)) <= 1e-6);
  // Each bit alone: that output adds, the others (NaN-poisoned) are overwritten.
  for (uint32_t bit : {MHC_GRAD_ACCUMULATE_RESIDUAL, MHC_GRAD_ACCUMULATE_FN, MHC_GRAD_ACCUMULATE_SCALE,
                       MHC_GRAD_ACCUMULATE_BASE}) {
    INFO("bit " << bit);
    bwd::PreGrads mix = old;
    if (bit != MHC_GRAD_ACCUMULATE_RESIDUAL) poison(mix.dR);
    if (bit != MHC_GRAD_ACCUMULATE_FN) poison(mix.dfn);
    if (bit != MHC_GRAD_ACCUMULATE_SCALE) poison(mix.dscale);
    if (bit != MHC_GRAD_ACCUMULATE_BASE) poison(mix.dbase);
    const bwd::PreGrads m = bwd::run_pre_backward(c, bit, &mix);  // fails on any NaN left
    CHECK(oracle::same_bits(m.dR, bit == MHC_GRAD_ACCUMULATE_RESIDUAL ? acc.dR : fresh.dR));
    CHECK(oracle::same_bits(m.dfn, bit == MHC_GRAD_ACCUMULATE_FN ? acc.dfn : fresh.dfn));
    CHECK(oracle::same_bits(m.dscale, bit == MHC_GRAD_ACCUMULATE_SCALE ? acc.dscale : fresh.dscale));
    CHECK(oracle::same_bits(m.dbase, bit == MHC_GRAD_ACCUMULATE_BASE ? acc.dbase : fresh.dbase));
  }
}

TEST_CASE("A3': deterministic across runs and concurrent callers, over many worker threads",
          "[backward][A3][determinism]") {
  // T * K * (N + 2) >= 4e6: the host run splits its tokens (dR) and the rows of dfn over workers;
  // every reduction over tokens is in ascending t, so the bits never depend on the split.
  const bwd::PreCase c = bwd::make_pre_case(false, 300, 4, 160, 20, MHC_DTYPE_TF32);
  const bwd::PreGrads first = bwd::run_pre_backward(c);
  std::vector<bwd::PreGrads> got(3);
  {
    std::vector<std::thread> callers;
    for (auto& g : got)
      callers.emplace_back([&c, &g] {
        mhc_args_t a = oracle::args();
        g.dR.resize(c.T * c.K), g.dfn.resize(c.N * c.K), g.dscale.resize(3), g.dbase.resize(c.N);
        a.residual = c.R.data(), a.fn = c.fn.data(), a.scale = c.scale.data(), a.base = c.base.data();
        a.gemm_out = c.D.data(), a.sqrsum = c.Q.data(), a.grad_layer_input = c.dli.data();
        a.grad_post_mix = c.dpost.data(), a.grad_comb_mix = c.dcomb.data();
        a.out_grad_residual = g.dR.data(), a.out_grad_fn = g.dfn.data(), a.out_grad_scale = g.dscale.data();
        a.out_grad_base = g.dbase.data();
        const mhc_desc_t d = c.backward_desc();
        const mhc_preference_t pref = host_only();
        mhc_plan_t plan = nullptr;
        if (mhc_plan_select(&d, &pref, &plan) == MHC_STATUS_SUCCESS) mhc_plan_run(plan, nullptr, nullptr, 0, &a);
        mhc_plan_destroy(plan);
      });
    for (auto& th : callers) th.join();
  }
  for (const auto& g : got) {
    CHECK(oracle::same_bits(g.dR, first.dR));
    CHECK(oracle::same_bits(g.dfn, first.dfn));
    CHECK(oracle::same_bits(g.dscale, first.dscale));
    CHECK(oracle::same_bits(g.dbase, first.dbase));
  }
  // The first tokens' dR rows do not depend on how many tokens follow (a 7-token plan).
  bwd::PreCase head = c;
  head.T = 7, head.desc.tokens = 7;
  const bwd::PreGrads few = bwd::run_pre_backward(head);
  CHECK(std::equal(few.dR.begin(), few.dR.end(), first.dR.begin()));
}
