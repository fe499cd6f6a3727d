// A4 (post: out = post X + comb^T R) on the host reference: a hand case that a transposed comb
// fails, single rounding to bf16, the convex-mix invariant, and the fp64 oracle.
#include "test_numerics_oracle.hpp"

using namespace mhc_test;

namespace {

std::vector<uint16_t> run_a4(int64_t T, int n, int64_t C, const std::vector<uint16_t>& X,
                             const std::vector<uint16_t>& R, const std::vector<float>& post,
                             const std::vector<float>& comb) {
  std::vector<uint16_t> out(T * n * C);
  poison(out);
  mhc_args_t a = oracle::args();
  a.layer_output = X.data(), a.residual = R.data(), a.post_mix = post.data(), a.comb_mix = comb.data();
  a.out_residual = out.data();
  oracle::run_host(make_desc(MHC_OP_POST, T, n, C), a);
  REQUIRE_FALSE(any_poison(out));
  return out;
}

using oracle::bf16s;

}  // namespace

TEST_CASE("A4: n = 2 by hand with a non-symmetric comb (the sum runs over comb's first index)",
          "[numerics][A4]") {
  const auto X = bf16s({1.0, 2.0, -1.0});
  const auto R = bf16s({1.0, 0.5, 2.0,  /* stream 0 */ -2.0, 4.0, 0.25 /* stream 1 */});
  const std::vector<float> post = {0.5f, 2.0f};
  const std::vector<float> comb = {0.25f, 0.5f, /* comb[0][:] */ 0.75f, 1.5f /* comb[1][:] */};
  // out[0] = 0.5 X + comb[0][0] R0 + comb[1][0] R1 = 0.5 X + 0.25 R0 + 0.75 R1
  // out[1] = 2 X   + comb[0][1] R0 + comb[1][1] R1 = 2 X + 0.5 R0 + 1.5 R1
  const auto want = bf16s({-0.75, 4.125, 0.1875, /* out[0] */ -0.5, 10.25, -0.625 /* out[1] */});
  // comb read untransposed (out[0] = 0.5 X + 0.25 R0 + 0.5 R1) gives -0.25 at x = 0
  const auto out = run_a4(1, 2, 3, X, R, post, comb);
  CHECK(out == want);
  CHECK(out[0] != oracle::to_bf16(-0.25));
}

TEST_CASE("A4: the result is rounded once to bf16, ties to even", "[numerics][A4]") {
  // n = 1: out = post X + comb R. 2^-8 is half a bf16 ulp at 1.
  const double h = std::ldexp(1.0, -8);
  const auto X = bf16s({1.0, 1.0, 1.0, 1.0});
  const auto R = bf16s({h, 3 * h, h, -h});
  const std::vector<float> post = {1.0f};
  // 1 + h is a tie -> 1.0 (even); 1 + 3h is a tie -> 1 + 4h (even); 1 - h is a bf16 value.
  const auto out = run_a4(1, 1, 4, X, R, post, std::vector<float>{1.0f});
  CHECK(out == bf16s({1.0, 1.0 + 4 * h, 1.0, 1.0 - h}));
  // comb = 1 + 2^-22: x = 0 gives 1 + h + 2^-30, just above the tie: 1 + 2h. A float
  // accumulator would round 1 + h + 2^-30 to 1 + h first and then to 1.0 (double rounding);
  // the reference rounds its fp64 value once.
  const float c = 1.0f + std::ldexp(1.0f, -22);
  const auto out2 = run_a4(1, 1, 4, X, R, post, std::vector<float>{c});
  CHECK(out2[0] == oracle::to_bf16(1.0 + 2 * h));
}

TEST_CASE("A4: convex mix: post = 0, comb columns summing to 1 keep each stream in [min_j R, max_j R]",
          "[numerics][A4]") {
  const int64_t T = 6, C = 37;
  for (int n : {2, 4, 8}) {
    INFO("n " << n);
    const auto X = random_bf16(T * C, -100.0, 100.0);  // must not leak in: post = 0
    const auto R = random_bf16(T * n * C, -3.0, 3.0);
    std::vector<float> post(T * n, 0.0f);
    std::vector<float> comb = random_f32(T * n * n, 0.01, 1.0);
    for (int64_t t = 0; t < T; ++t)
      for (int k = 0; k < n; ++k) {  // column k of token t sums to 1
        double s = 0.0;
        for (int j = 0; j < n; ++j) s += comb[(t * n + j) * n + k];
        for (int j = 0; j < n; ++j) comb[(t * n + j) * n + k] = static_cast<float>(comb[(t * n + j) * n + k] / s);
      }
    const auto out = run_a4(T, n, C, X, R, post, comb);
    size_t outside = 0, strictly_inside = 0;
    for (int64_t t = 0; t < T; ++t)
      for (int k = 0; k < n; ++k)
        for (int64_t x = 0; x < C; ++x) {
          double lo = INFINITY, hi = -INFINITY;
          for (int j = 0; j < n; ++j) {
            lo = std::min(lo, oracle::from_bf16(R[(t * n + j) * C + x]));
            hi = std::max(hi, oracle::from_bf16(R[(t * n + j) * C + x]));
          }
          const double v = oracle::from_bf16(out[(t * n + k) * C + x]);
          // one bf16 ulp of slack on each side (the final rounding; fp32 column sums are 1 +- 1e-7)
          if (v < lo - oracle::bf16_ulp_at(lo) || v > hi + oracle::bf16_ulp_at(hi)) ++outside;
          strictly_inside += v > lo && v < hi;
        }
    CHECK(outside == 0);
    CHECK(strictly_inside > static_cast<size_t>(T * n * C / 2));  // a real mix, not a copy
  }
}

TEST_CASE("A4: random inputs against the fp64 oracle", "[numerics][A4]") {
  struct Case {
    int64_t T;
    int n;
    int64_t C;
  };
  const Case cases[] = {{1, 4, 72}, {2, 1, 13}, {65, 4, 33}, {3, 8, 24}, {2, 3, 7}};
  for (const Case& c : cases) {
    INFO("T " << c.T << " n " << c.n << " C " << c.C);
    const auto X = random_bf16(c.T * c.C), R = random_bf16(c.T * c.n * c.C);
    const auto post = random_f32(c.T * c.n, 0.0, 2.0), comb = random_f32(c.T * c.n * c.n, 0.0, 1.0);
    const auto out = run_a4(c.T, c.n, c.C, X, R, post, comb);
    std::string why;
    CHECK(oracle::bf16_mismatches(out, oracle::post(X, R, post, comb, c.T, c.n, c.C), &why) == 0);
    INFO(why);
    // the transposed reading is a different function on these inputs
    std::vector<float> combT(comb.size());
    for (int64_t t = 0; t < c.T; ++t)
      for (int j = 0; j < c.n; ++j)
        for (int k = 0; k < c.n; ++k) combT[(t * c.n + k) * c.n + j] = comb[(t * c.n + j) * c.n + k];
    if (c.n > 1) CHECK(oracle::bf16_mismatches(out, oracle::post(X, R, post, combT, c.T, c.n, c.C)) > 0);
  }
}
