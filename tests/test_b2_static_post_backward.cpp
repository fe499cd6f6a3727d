// b2_static_post_backward (B2') on the host reference: every gradient against exact derivatives
// (dual numbers) and finite differences of the fp64 forward, through every guarded Sinkhorn step,
// lines the guard leaves on both sides of finite differences, hand cases, the overflow shift, -inf
// rows, the accumulate bits, determinism.
#include <thread>

#include "static_backward_oracle.hpp"

using namespace mhc_test;

namespace {

constexpr mhc_op_t kOp = MHC_OP_STATIC_POST_BACKWARD;

// The n x n readout of a [n*n] fp32 gradient.
double at(const std::vector<float>& v, int n, int i, int j) { return v[i * n + j]; }

}  // namespace

TEST_CASE("B2': every gradient against exact derivatives and finite differences, n = 1..32", "[backward][B2]") {
  sbwd::check_every_shape(kOp, 2e-5);
}

TEST_CASE("B2': lines the guard leaves pass the gradient through (row and column, several passes)",
          "[backward][B2][guard]") {
  // eps = 0.5; row 0 of exp(h_res) at 0.2 / n and column n-1 at exp(-3) ~ 0.05: row 0 sums to
  // ~0.2 and column n-1 to ~0.1 on every pass (left as they are), the other lines to ~1 (normalized).
  for (int n : {2, 4, 17})
    for (int iters : {1, 2, 20}) {
      INFO("n " << n << " iters " << iters);
      sbwd::Case c = sbwd::make_case(kOp, 2, n, 5, MHC_DTYPE_FP32, iters, 0.5f);
      c.L.h_res = random_f32(n * n, -0.5, 0.5);
      for (int k = 0; k < n; ++k) c.L.h_res[k * n + n - 1] = -3.0f;
      for (int k = 0; k < n; ++k) c.L.h_res[k] = static_cast<float>(std::log(0.2 / n));
      sbwd::GuardStats st;
      sbwd::sinkhorn_of(c, c.inputs().h_res, &st);
      INFO("guarded " << st.guarded << " normalized " << st.scaled << " margin " << st.margin);
      REQUIRE(st.guarded >= 2 * iters);  // row 0 and the last column on every pass
      REQUIRE(st.scaled > 0);
      REQUIRE(st.margin > 1e-2);  // a finite-difference step never crosses eps
      const sbwd::Out o = sbwd::run(c);
      sbwd::check(o, sbwd::exact(c), 1e-6);
      sbwd::check(o, sbwd::finite_differences(c), 2e-5);
      // Without the guard (eps 1e-5: every line normalized) dh_res is another function.
      sbwd::Case all = c;
      all.L.eps = 1e-5f;
      CHECK(bwd::rel_err(o.dh_res, sbwd::exact(all).h_res) > 1e-2);
    }
}

TEST_CASE("B2': n = 1 by hand: the 1x1 Sinkhorn normalized (dh_res = 0) or left by the guard", "[backward][B2]") {
  for (mhc_dtype_t dt : kDtypes) {
    INFO("act dtype " << dt);
    sbwd::Case c = sbwd::make_case(kOp, 1, 1, 2, dt, 20, 4.0f);
    c.L.x.set(0, 1.0), c.L.x.set(1, 2.0);
    c.F.set(0, 2.0), c.F.set(1, -1.0);
    c.G.set(0, 0.5), c.G.set(1, 0.25);
    c.L.h_post = {0.0f};  // s_post = 1, ds_post/dh = 1/2
    c.L.h_res = {0.0f};   // exp(0) = 1 <= eps = 4: M = 1, never normalized
    sbwd::Out o = sbwd::run(c);
    CHECK(o.dx.get(0) == 0.5);   // M G
    CHECK(o.dx.get(1) == 0.25);
    CHECK(o.dF.get(0) == 0.5);   // s_post G
    CHECK(o.dF.get(1) == 0.25);
    CHECK(o.dh_post[0] == 0.375f);  // (0.5 * 2 + 0.25 * -1) / 2
    CHECK(o.dh_res[0] == 1.0f);     // dM = G . x = 1, times exp(0)
    c.L.eps = 0.5f;                 // 1 > eps: normalized to 1 whatever h_res is
    o = sbwd::run(c);
    CHECK(o.dh_res[0] == 0.0f);
    CHECK(o.dx.get(0) == 0.5);
    CHECK(o.dh_post[0] == 0.375f);
  }
}

TEST_CASE("B2': n = 2 with every line left (M = exp(h_res)): dx = M^T G, dh_res = dM exp(h)", "[backward][B2]") {
  // eps = 100: no line is normalized, so M = exp(h_res), a non-symmetric matrix; dx[j] = sum_i
  // M[i,j] G[i] (M read as it stands, not transposed) and dh_res[i,j] = (sum_x G[i,x] x[j,x]) M[i,j].
  sbwd::Case c = sbwd::make_case(kOp, 2, 2, 3, MHC_DTYPE_FP32, 20, 100.0f);
  c.L.h_res = {0.0f, -1.0f, 1.5f, 0.5f};
  const sbwd::Out o = sbwd::run(c);
  const int n = 2;
  std::vector<double> M(4), dx(2 * 2 * 3), dM(4, 0.0), dF(2 * 3, 0.0);
  for (int k = 0; k < 4; ++k) M[k] = std::exp(static_cast<double>(c.L.h_res[k]));
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t x = 0; x < 3; ++x)
      for (int j = 0; j < n; ++j) {
        double s = 0.0;
        for (int i = 0; i < n; ++i) {
          s += M[i * n + j] * c.G.get((b * n + i) * 3 + x);
          dM[i * n + j] += c.G.get((b * n + i) * 3 + x) * c.L.x.get((b * n + j) * 3 + x);
        }
        dx[(b * n + j) * 3 + x] = s;
      }
  CHECK(bwd::rel_err(o.dx.f, dx) <= 1e-7);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) CHECK(std::fabs(at(o.dh_res, n, i, j) - dM[i * n + j] * M[i * n + j]) <= 1e-6);
  // M transposed would give another dx.
  CHECK(std::fabs(o.dx.f[0] - (M[0] * c.G.get(0) + M[1] * c.G.get(3))) > 0.05);
}

TEST_CASE("B2': a row normalized by the first step is shift-invariant: its dh_res sums to 0", "[backward][B2]") {
  // Adding c to a row of h_res scales that row of exp(h_res) by e^c, which its first (normalizing)
  // row step removes: sum_j dh_res[i,j] = 0 for each such row, whatever G is.
  for (int n : {2, 4, 17, 32})
    for (int iters : {1, 2, 20}) {
      INFO("n " << n << " iters " << iters);
      const sbwd::Case c = sbwd::make_case(kOp, 2, n, 6, MHC_DTYPE_FP32, iters);
      const sbwd::Out o = sbwd::run(c);
      double scale = 0.0;
      for (float v : o.dh_res) scale = std::max(scale, std::fabs(double{v}));
      REQUIRE(scale > 1e-4);
      for (int i = 0; i < n; ++i) {
        double s = 0.0;
        for (int j = 0; j < n; ++j) s += at(o.dh_res, n, i, j);
        CHECK(std::fabs(s) <= 1e-6 * scale * n);
      }
    }
}

TEST_CASE("B2': a row whose exp overflows is shifted, with the gradient of the unshifted formula", "[backward][B2]") {
  // Row 1 at 800 + k/64 (exact in fp32): exp overflows fp64, the host shifts it by its max, and
  // its first row step normalizes it (its unshifted sum is far above eps). Normalized, it equals
  // the row at k/64, so every gradient equals that problem's within fp64 rounding.
  const int n = 4;
  sbwd::Case low = sbwd::make_case(kOp, 2, n, 5, MHC_DTYPE_FP32, 20);
  for (int j = 0; j < n; ++j) low.L.h_res[n + j] = static_cast<float>((j * 37 % 64 - 32) / 64.0);
  sbwd::Case high = low;
  for (int j = 0; j < n; ++j) high.L.h_res[n + j] += 800.0f;
  REQUIRE(high.L.h_res[n] - 800.0f == low.L.h_res[n]);
  const sbwd::Out a = sbwd::run(low), b = sbwd::run(high);
  CHECK(bwd::rel_err(b.dh_res, bwd::values(a.dh_res)) <= 1e-6);
  CHECK(bwd::rel_err(b.dh_post, bwd::values(a.dh_post)) <= 1e-6);
  CHECK(bwd::rel_err(b.dx.f, a.dx.values()) <= 1e-6);
  sbwd::check(a, sbwd::exact(low), 1e-6);
}

TEST_CASE("B2': a row of -inf stays 0 and gets no gradient (no NaN)", "[backward][B2]") {
  for (int n : {2, 4}) {
    INFO("n " << n);
    sbwd::Case c = sbwd::make_case(kOp, 2, n, 5, MHC_DTYPE_FP32, 20);
    for (int j = 0; j < n; ++j) c.L.h_res[j] = -INFINITY;
    const sbwd::Out o = sbwd::run(c);
    for (int j = 0; j < n; ++j) CHECK(o.dh_res[j] == 0.0f);
    for (float v : o.dh_res) CHECK(std::isfinite(v));
    sbwd::check(o, sbwd::exact(c), 1e-6);
  }
}

TEST_CASE("B2': a line sum equal to eps is left as it is (strict >): its gradient passes through",
          "[backward][B2][guard]") {
  // h = 0, n = 2: every line of exp(h) sums to 2. eps = 2: nothing normalized, dh_res = dM;
  // eps = 1.99: M = 1/2 everywhere, normalized on the first step.
  sbwd::Case c = sbwd::make_case(kOp, 1, 2, 4, MHC_DTYPE_FP32, 3, 2.0f);
  c.L.h_res.assign(4, 0.0f);
  const sbwd::Out o = sbwd::run(c);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) {
      double dM = 0.0;
      for (int64_t x = 0; x < 4; ++x) dM += c.G.get(i * 4 + x) * c.L.x.get(j * 4 + x);
      CHECK(at(o.dh_res, 2, i, j) == static_cast<float>(dM));
    }
  c.L.eps = 1.99f;
  sbwd::check(sbwd::run(c), sbwd::exact(c), 1e-6);
}

TEST_CASE("B2': accumulate adds to the outputs' contents, overwrite ignores them", "[backward][B2][accumulate]") {
  sbwd::check_accumulate(kOp);
}

TEST_CASE("B2': deterministic across runs, concurrent callers and worker threads", "[backward][B2][determinism]") {
  sbwd::check_deterministic(kOp, MHC_DTYPE_BF16);
}
