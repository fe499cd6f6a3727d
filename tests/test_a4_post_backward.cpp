// a4_post_backward (A4') on the host reference: a hand case that a transposed comb fails, comb =
// identity, every gradient against the fp64 formulas and against finite differences of the fp64
// post, one rounding, the accumulate bits.
#include "test_backward_oracle.hpp"

using namespace mhc_test;

namespace {

struct PostCase {
  int64_t T, C;
  int n;
  std::vector<uint16_t> X, R, G;  // layer_output [T,C], residual [T,n,C], grad_residual [T,n,C]
  std::vector<float> post, comb;  // [T,n], [T,n,n]
};

PostCase random_case(int64_t T, int n, int64_t C) {
  return {T, C, n, random_bf16(T * C), random_bf16(T * n * C), random_bf16(T * n * C, -1, 1),
          random_f32(T * n, 0.0, 2.0), random_f32(T * n * n, 0.0, 1.0)};
}

struct PostGrads {
  std::vector<uint16_t> dX, dR;
  std::vector<float> dpost, dcomb;
};

PostGrads run_a4b(const PostCase& c, uint32_t accumulate = 0, const PostGrads* init = nullptr) {
  PostGrads g;
  if (init) {
    g = *init;
  } else {
    g.dX.resize(c.T * c.C), g.dR.resize(c.T * c.n * c.C), g.dpost.resize(c.T * c.n), g.dcomb.resize(c.T * c.n * c.n);
    poison(g.dX), poison(g.dR), poison(g.dpost), poison(g.dcomb);
  }
  mhc_args_t a = oracle::args();
  a.layer_output = c.X.data(), a.residual = c.R.data(), a.post_mix = c.post.data(), a.comb_mix = c.comb.data();
  a.grad_residual = c.G.data();
  a.out_grad_layer_output = g.dX.data(), a.out_grad_residual = g.dR.data();
  a.out_grad_post_mix = g.dpost.data(), a.out_grad_comb_mix = g.dcomb.data();
  a.grad_accumulate = accumulate;
  oracle::run_host(make_desc(MHC_OP_POST_BACKWARD, c.T, c.n, c.C), a);
  REQUIRE_FALSE(any_poison(g.dX));
  REQUIRE_FALSE(any_poison(g.dR));
  REQUIRE_FALSE(any_poison(g.dpost));
  REQUIRE_FALSE(any_poison(g.dcomb));
  return g;
}

struct PostRef {
  std::vector<double> dX, dR, dpost, dcomb;
};

// docs/numerics.md A4', in fp64.
PostRef formulas(const PostCase& c) {
  const int n = c.n;
  PostRef r;
  r.dX.assign(c.T * c.C, 0.0), r.dR.assign(c.T * n * c.C, 0.0), r.dpost.assign(c.T * n, 0.0);
  r.dcomb.assign(c.T * n * n, 0.0);
  auto G = [&](int64_t t, int k, int64_t x) { return oracle::from_bf16(c.G[(t * n + k) * c.C + x]); };
  for (int64_t t = 0; t < c.T; ++t) {
    for (int64_t x = 0; x < c.C; ++x)
      for (int k = 0; k < n; ++k) r.dX[t * c.C + x] += double{c.post[t * n + k]} * G(t, k, x);
    for (int k = 0; k < n; ++k)
      for (int64_t x = 0; x < c.C; ++x) r.dpost[t * n + k] += G(t, k, x) * oracle::from_bf16(c.X[t * c.C + x]);
    for (int j = 0; j < n; ++j)
      for (int k = 0; k < n; ++k)
        for (int64_t x = 0; x < c.C; ++x)
          r.dcomb[(t * n + j) * n + k] += G(t, k, x) * oracle::from_bf16(c.R[(t * n + j) * c.C + x]);
    for (int j = 0; j < n; ++j)
      for (int64_t x = 0; x < c.C; ++x)
        for (int k = 0; k < n; ++k) r.dR[(t * n + j) * c.C + x] += double{c.comb[(t * n + j) * n + k]} * G(t, k, x);
  }
  return r;
}

// Central differences of L = sum G . post(X, R, post, comb), the unrounded fp64 forward (A4).
PostRef finite_differences(const PostCase& c) {
  const int n = c.n;
  std::vector<double> X = bwd::values(c.X), R = bwd::values(c.R), q = bwd::values(c.post), m = bwd::values(c.comb);
  const std::vector<double> G = bwd::values(c.G);
  const auto L = [&] {
    double s = 0.0;
    for (int64_t t = 0; t < c.T; ++t)
      for (int k = 0; k < n; ++k)
        for (int64_t x = 0; x < c.C; ++x) {
          double out = q[t * n + k] * X[t * c.C + x];
          for (int j = 0; j < n; ++j) out += m[(t * n + j) * n + k] * R[(t * n + j) * c.C + x];
          s += G[(t * n + k) * c.C + x] * out;
        }
    return s;
  };
  return {bwd::central_differences(X, L), bwd::central_differences(R, L), bwd::central_differences(q, L),
          bwd::central_differences(m, L)};
}

void check_against(const PostGrads& g, const PostRef& r, double fp32_tol) {
  std::string why;
  CHECK(oracle::bf16_mismatches(g.dX, r.dX, &why) == 0);
  CHECK(oracle::bf16_mismatches(g.dR, r.dR, &why) == 0);
  INFO(why);
  CHECK(bwd::rel_err(g.dpost, r.dpost, 1e-6) <= fp32_tol);
  CHECK(bwd::rel_err(g.dcomb, r.dcomb, 1e-6) <= fp32_tol);
}

using oracle::bf16s;

}  // namespace

TEST_CASE("A4': n = 2 by hand with a non-symmetric comb", "[backward][A4]") {
  // The forward's hand case (test_a4_post): out[k] = post[k] X + sum_j comb[j][k] R[j].
  PostCase c{1, 3, 2, bf16s({1.0, 2.0, -1.0}), bf16s({1.0, 0.5, 2.0, -2.0, 4.0, 0.25}),
             bf16s({1.0, -1.0, 0.5, 2.0, 0.25, -4.0}), {0.5f, 2.0f}, {0.25f, 0.5f, 0.75f, 1.5f}};
  const PostGrads g = run_a4b(c);
  CHECK(g.dX == bf16s({4.5, 0.0, -7.75}));                          // 0.5 G0 + 2 G1
  CHECK(g.dpost == std::vector<float>{-1.5f, 6.5f});                // G[k] . X
  CHECK(g.dcomb == std::vector<float>{1.5f, -5.875f, -5.875f, -4.0f});  // dcomb[j][k] = G[k] . R[j]
  CHECK(g.dR == bf16s({1.25, -0.125, -1.875, 3.75, -0.375, -5.625}));    // dR[j] = sum_k comb[j][k] G[k]
  CHECK(g.dR[0] != oracle::to_bf16(1.75));  // comb read transposed: 0.25 G0 + 0.75 G1
}

TEST_CASE("A4': comb = identity, post = 0: dR = G exactly, dX = 0", "[backward][A4]") {
  for (int n : {1, 2, 4}) {
    INFO("n " << n);
    PostCase c = random_case(3, n, 11);
    std::fill(c.post.begin(), c.post.end(), 0.0f);
    std::fill(c.comb.begin(), c.comb.end(), 0.0f);
    for (int64_t t = 0; t < c.T; ++t)
      for (int j = 0; j < n; ++j) c.comb[(t * n + j) * n + j] = 1.0f;
    const PostGrads g = run_a4b(c);
    CHECK(g.dR == c.G);
    for (uint16_t v : g.dX) CHECK(oracle::from_bf16(v) == 0.0);
    CHECK(bwd::rel_err(g.dpost, formulas(c).dpost, 0.0) <= 1e-7);
  }
}

TEST_CASE("A4': every gradient against the fp64 formulas and finite differences", "[backward][A4][fd]") {
  const bwd::Shape shapes[] = {{1, 1, 3, 0}, {2, 2, 16, 0}, {5, 4, 7, 0}, {3, 8, 5, 0}, {65, 4, 33, 0}};
  for (const bwd::Shape& s : shapes) {
    INFO("T " << s.T << " n " << s.n << " C " << s.C);
    const PostCase c = random_case(s.T, s.n, s.C);
    const PostGrads g = run_a4b(c);
    check_against(g, formulas(c), 1e-7);  // fp64 sums, one rounding
    if (s.T < 10) check_against(g, finite_differences(c), 1e-6);
  }
}

TEST_CASE("A4': accumulate adds to the outputs' contents, overwrite ignores them", "[backward][A4][accumulate]") {
  const PostCase c = random_case(4, 4, 19);
  const PostRef r = formulas(c);
  const PostGrads fresh = run_a4b(c);
  constexpr uint32_t kAll = MHC_GRAD_ACCUMULATE_LAYER_OUTPUT | MHC_GRAD_ACCUMULATE_RESIDUAL |
                            MHC_GRAD_ACCUMULATE_POST_MIX | MHC_GRAD_ACCUMULATE_COMB_MIX;
  const PostGrads old{random_bf16(c.T * c.C, -3, 3), random_bf16(c.T * c.n * c.C, -3, 3), random_f32(c.T * c.n, -3, 3),
                      random_f32(c.T * c.n * c.n, -3, 3)};
  const PostGrads acc = run_a4b(c, kAll, &old);
  check_against(acc, {bwd::plus(old.dX, r.dX), bwd::plus(old.dR, r.dR), bwd::plus(old.dpost, r.dpost),
                      bwd::plus(old.dcomb, r.dcomb)},
                1e-7);
  // bf16(old + g): one rounding of the fp64 sum, not old + bf16(g).
  int64_t differ = 0;
  for (size_t i = 0; i < acc.dR.size(); ++i)
    differ += acc.dR[i] != oracle::to_bf16(oracle::from_bf16(old.dR[i]) + oracle::from_bf16(fresh.dR[i]));
  CHECK(differ > 0);
  for (uint32_t bit : {MHC_GRAD_ACCUMULATE_LAYER_OUTPUT, MHC_GRAD_ACCUMULATE_RESIDUAL, MHC_GRAD_ACCUMULATE_POST_MIX,
                       MHC_GRAD_ACCUMULATE_COMB_MIX}) {
    INFO("bit " << bit);
    PostGrads mix = old;
    if (bit != MHC_GRAD_ACCUMULATE_LAYER_OUTPUT) poison(mix.dX);
    if (bit != MHC_GRAD_ACCUMULATE_RESIDUAL) poison(mix.dR);
    if (bit != MHC_GRAD_ACCUMULATE_POST_MIX) poison(mix.dpost);
    if (bit != MHC_GRAD_ACCUMULATE_COMB_MIX) poison(mix.dcomb);
    const PostGrads m = run_a4b(c, bit, &mix);
    CHECK(m.dX == (bit == MHC_GRAD_ACCUMULATE_LAYER_OUTPUT ? acc.dX : fresh.dX));
    CHECK(m.dR == (bit == MHC_GRAD_ACCUMULATE_RESIDUAL ? acc.dR : fresh.dR));
    CHECK(oracle::same_bits(m.dpost, bit == MHC_GRAD_ACCUMULATE_POST_MIX ? acc.dpost : fresh.dpost));
    CHECK(oracle::same_bits(m.dcomb, bit == MHC_GRAD_ACCUMULATE_COMB_MIX ? acc.dcomb : fresh.dcomb));
  }
}
