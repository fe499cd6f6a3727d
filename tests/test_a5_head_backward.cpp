// a5_head_backward (A5') on the host reference: every gradient against exact derivatives (dual
// numbers) at the saved (D, Q) and against finite differences of the fp64 head; a hand case; A5'
// equals A3' given the pre rows and no post or comb gradient; the accumulate bits.
#include "test_backward_oracle.hpp"

using namespace mhc_test;

namespace {

const bwd::Shape kShapes[] = {{1, 1, 3, 20}, {2, 2, 5, 20}, {3, 4, 8, 20},
                              {5, 2, 16, 20}, {1, 4, 16, 20}, {4, 8, 3, 20}};

}  // namespace

TEST_CASE("A5': every gradient against exact derivatives and finite differences", "[backward][A5]") {
  for (const bwd::Shape& s : kShapes)
    for (mhc_dtype_t w : {MHC_DTYPE_FP32, MHC_DTYPE_TF32}) {
      INFO("T " << s.T << " n " << s.n << " C " << s.C << " precision " << w);
      const bwd::PreCase c = bwd::make_pre_case(true, s.T, s.n, s.C, s.repeat, w);
      const bwd::PreGrads g = bwd::run_pre_backward(c);
      bwd::check_pre_grads(g, bwd::pre_oracle(c), 1e-6);
      bwd::check_pre_grads(g, bwd::pre_finite_differences(c), 2e-5);
    }
}

TEST_CASE("A5': head by hand, n = 2 (the forward's hand case of test_a5_head)", "[backward][A5]") {
  // R: stream 0 all 1, stream 1 all -1 (C = 64, K = 128); rms_eps = 3: Q / K = 1, r = 1/2.
  // D = (8, 2), scale 0.5, base (-2, 1.5): z = (0, 2), s = sigmoid(z).
  // With dli = 1 everywhere: dpre = (64, -64), dz_i = dpre_i s_i (1 - s_i), dscale = sum_i dz_i mix_i
  // with mix = (4, 1), dbase = dz, dD_i = dz_i * 0.5 * r, dr = sum_i dz_i 0.5 D_i,
  // dQ = dr * (-1/2) r^3 / K, dR[i,x] = pre_i + sum_j dD_j fn[j,k] + 2 dQ R[i,x].
  bwd::PreCase c = bwd::make_pre_case(true, 1, 2, 64);
  c.desc.rms_eps = 3.0f, c.desc.pre_eps = 0.25f;
  for (int k = 0; k < 128; ++k) c.R[k] = oracle::to_bf16(k < 64 ? 1.0 : -1.0);
  for (int k = 0; k < 128; ++k) c.fn[k] = k < 64 ? 0.25f : 0.125f, c.fn[128 + k] = k < 64 ? 1.0f / 64 : -1.0f / 64;
  c.scale = {0.5f}, c.base = {-2.0f, 1.5f};
  c.D = {8.0f, 2.0f}, c.Q = {128.0f};
  std::fill(c.dli.begin(), c.dli.end(), oracle::to_bf16(1.0));
  const double r = 0.5, s0 = 0.5, s1 = oracle::sigmoid(2.0);
  const double dz0 = 64 * s0 * (1 - s0), dz1 = -64 * s1 * (1 - s1);
  const double dD0 = dz0 * 0.5 * r, dD1 = dz1 * 0.5 * r;
  const double dQ = (dz0 * 0.5 * 8.0 + dz1 * 0.5 * 2.0) * -0.5 * r * r * r / 128.0;
  for (mhc_dtype_t w : {MHC_DTYPE_TF32, MHC_DTYPE_FP32}) {  // every fn value is tf32-exact
    c.desc.weight_precision = w;
    const bwd::PreGrads g = bwd::run_pre_backward(c);
    CHECK(g.dbase[0] == static_cast<float>(dz0));
    CHECK(g.dbase[1] == static_cast<float>(dz1));
    CHECK(g.dscale[0] == static_cast<float>(dz0 * 4.0 + dz1 * 1.0));
    for (int k = 0; k < 128; ++k) {
      const double a = k < 64 ? 1.0 : -1.0, pre = (k < 64 ? s0 : s1) + 0.25;
      INFO("k " << k);
      REQUIRE(g.dR[k] == oracle::to_bf16(pre + dD0 * c.fn[k] + dD1 * c.fn[128 + k] + 2 * dQ * a));
      REQUIRE(g.dfn[k] == static_cast<float>(dD0 * a));
      REQUIRE(g.dfn[128 + k] == static_cast<float>(dD1 * a));
    }
  }
}

TEST_CASE("A5' equals A3' on the pre rows when post and comb get no gradient", "[backward][A5][A3]") {
  // A3' with dpost = dcomb = 0 gets exactly 0 from the post and comb logits: its dR, its dfn and
  // dbase rows [0, n) and dscale[0] are the head's bits for fn_head = fn[0, n), the same D[0, n).
  for (int n : {1, 2, 4}) {
    INFO("n " << n);
    bwd::PreCase pre = bwd::make_pre_case(false, 3, n, 10, 20, MHC_DTYPE_TF32);
    std::fill(pre.dpost.begin(), pre.dpost.end(), 0.0f);
    std::fill(pre.dcomb.begin(), pre.dcomb.end(), 0.0f);
    bwd::PreCase head = pre;
    head.head = true, head.desc.op = MHC_OP_HEAD, head.N = n, head.groups = 1;
    head.fn.resize(n * pre.K), head.scale.resize(1), head.base.resize(n), head.dpost.clear(), head.dcomb.clear();
    head.D.clear();
    for (int64_t t = 0; t < pre.T; ++t)
      for (int j = 0; j < n; ++j) head.D.push_back(pre.D[t * pre.N + j]);
    const bwd::PreGrads a3 = bwd::run_pre_backward(pre), a5 = bwd::run_pre_backward(head);
    CHECK(oracle::same_bits(a3.dR, a5.dR));
    CHECK(std::equal(a5.dfn.begin(), a5.dfn.end(), a3.dfn.begin()));
    CHECK(std::equal(a5.dbase.begin(), a5.dbase.end(), a3.dbase.begin()));
    CHECK(a5.dscale[0] == a3.dscale[0]);
    CHECK(a3.dscale[1] == 0.0f);
    CHECK(a3.dscale[2] == 0.0f);
    for (int64_t j = n; j < pre.N; ++j) CHECK(a3.dbase[j] == 0.0f);
  }
}

TEST_CASE("A5': accumulate adds to the outputs' contents", "[backward][A5][accumulate]") {
  const bwd::PreCase c = bwd::make_pre_case(true, 4, 4, 8);
  const bwd::PreRef ref = bwd::pre_oracle(c);
  bwd::PreGrads old{random_bf16(c.T * c.K, -3, 3), random_f32(c.N * c.K, -3, 3), random_f32(1, -3, 3),
                    random_f32(c.N, -3, 3)};
  const bwd::PreGrads acc =
      bwd::run_pre_backward(c,
                            MHC_GRAD_ACCUMULATE_RESIDUAL | MHC_GRAD_ACCUMULATE_FN | MHC_GRAD_ACCUMULATE_SCALE |
                                MHC_GRAD_ACCUMULATE_BASE,
                            &old);
  CHECK(oracle::bf16_mismatches(acc.dR, bwd::plus(old.dR, ref.dR)) == 0);
  CHECK(bwd::rel_err(acc.dfn, bwd::plus(old.dfn, ref.dfn)) <= 1e-6);
  CHECK(bwd::rel_err(acc.dscale, bwd::plus(old.dscale, ref.dscale)) <= 1e-6);
  CHECK(bwd::rel_err(acc.dbase, bwd::plus(old.dbase, ref.dbase)) <= 1e-6);
}
