// b2_static_post on the host reference: M and s_post by hand, M doubly stochastic, and the
// `only if sum > eps` Sinkhorn guard, M read out through a one-hot residual.
#include "static_harness.hpp"

using namespace mhc_test;

TEST_CASE("B: M and s_post by hand for n = 2, one and two Sinkhorn iterations", "[numerics][B]") {
  const std::vector<float> h_res = {0.5f, -0.25f, 1.0f, 0.75f}, h_post = {0.3f, -1.2f};
  // exp(h - rowmax): row 0 [1, a], row 1 [1, b]
  const double a = std::exp(-0.75), b = std::exp(-0.25);
  double m[2][2] = {{1.0, a}, {1.0, b}};
  auto step = [&m] {
    for (auto& row : m) {
      const double s = row[0] + row[1];
      row[0] /= s, row[1] /= s;
    }
    for (int j = 0; j < 2; ++j) {
      const double s = m[0][j] + m[1][j];
      m[0][j] /= s, m[1][j] /= s;
    }
  };
  step();
  const std::vector<double> M1 = {m[0][0], m[0][1], m[1][0], m[1][1]};
  step();
  const std::vector<double> M2 = {m[0][0], m[0][1], m[1][0], m[1][1]};
  const std::vector<double> s_post = {2.0 / (1.0 + std::exp(-0.3)), 2.0 / (1.0 + std::exp(1.2))};
  for (mhc_dtype_t dt : kDtypes)
    for (int iters : {1, 2}) {
      INFO("act dtype " << dt << " iters " << iters);
      const Readout r = read_out_M(2, dt, h_res, h_post, iters, 1e-5f);
      const auto& want = iters == 1 ? M1 : M2;
      for (int i = 0; i < 4; ++i) CHECK(std::fabs(r.M[i] - want[i]) <= (dt == MHC_DTYPE_FP32 ? 1e-7 : 4e-3) * want[i]);
      for (int i = 0; i < 2; ++i)
        CHECK(std::fabs(r.s_post[i] - s_post[i]) <= (dt == MHC_DTYPE_FP32 ? 1e-7 : 4e-3) * s_post[i]);
    }
  CHECK(std::fabs(M1[0] - M2[0]) > 1e-3);  // the two iteration counts are told apart
}

TEST_CASE("B: M is doubly stochastic after 20 iterations, n up to 32", "[numerics][B]") {
  for (int n : {2, 4, 17, 32}) {
    INFO("n " << n);
    const auto h_res = random_f32(n * n, -2.0, 2.0), h_post = random_f32(n, -2.0, 2.0);
    const Readout r = read_out_M(n, MHC_DTYPE_FP32, h_res, h_post, 20, 1e-5f);
    const oracle::Static c = oracle::static_coeffs(n, {}, h_post, h_res, 20, 1e-5);
    double col_worst = 0.0, row_worst = 0.0, rel = 0.0;
    for (int i = 0; i < n; ++i) {
      double row = 0.0, col = 0.0;
      for (int j = 0; j < n; ++j) {
        row += r.M[i * n + j], col += r.M[j * n + i];
        rel = std::max(rel, std::fabs(r.M[i * n + j] - c.M[i * n + j]) / c.M[i * n + j]);
      }
      row_worst = std::max(row_worst, std::fabs(row - 1.0));
      col_worst = std::max(col_worst, std::fabs(col - 1.0));
      CHECK(std::fabs(r.s_post[i] - c.s_post[i]) <= 1e-7 * c.s_post[i]);
    }
    INFO("row error " << row_worst << " column error " << col_worst << " M vs oracle " << rel);
    CHECK(rel <= 1e-6);
    CHECK(col_worst <= 1e-5);  // the last step is a column step (no eps: exact up to fp32 storage)
    CHECK(row_worst <= 1e-4);
  }
}

TEST_CASE("B: the Sinkhorn guard normalizes only sums > eps", "[numerics][B]") {
  SECTION("a column far below eps is left alone") {
    // h = [[0, -40], [0, -40]]: column 1 sums to ~2 e^-40 << eps on every pass and is skipped;
    // without the guard it would become [0.5, 0.5].
    const Readout r = read_out_M(2, MHC_DTYPE_FP32, {0.0f, -40.0f, 0.0f, -40.0f}, {1.0f, 1.0f}, 20, 1e-5f);
    const oracle::Static c = oracle::static_coeffs(2, {}, {1.0f, 1.0f}, {0.0f, -40.0f, 0.0f, -40.0f}, 20, 1e-5);
    for (int i = 0; i < 2; ++i) {
      CHECK(std::fabs(r.M[i * 2] - 0.5) <= 1e-7);
      CHECK(r.M[i * 2 + 1] > 0.0);
      CHECK(r.M[i * 2 + 1] < 1e-9);
      CHECK(std::fabs(r.M[i * 2 + 1] - c.M[i * 2 + 1]) <= 1e-6 * c.M[i * 2 + 1]);
    }
  }
  SECTION("sums equal to eps are not normalized (strict >)") {
    // h = 0: exp gives ones; every row and column sums to 2.
    const std::vector<float> h0 = {0.0f, 0.0f, 0.0f, 0.0f}, hp = {0.5f, 0.5f};
    const Readout at = read_out_M(2, MHC_DTYPE_FP32, h0, hp, 3, 2.0f);
    for (double v : at.M) CHECK(v == 1.0);
    const Readout below = read_out_M(2, MHC_DTYPE_FP32, h0, hp, 3, 1.99f);
    for (double v : below.M) CHECK(v == 0.5);
  }
  SECTION("M starts from exp(h): a row far below ln(eps) is left alone, not normalized") {
    // Row 0 = [-40, -40] starts as [4e-18, 4e-18]: its sum stays below eps on every pass, so the
    // guard leaves it (exp(h - rowmax) would start it at [1, 1] and give 0.5 everywhere).
    const std::vector<float> h = {-40.0f, -40.0f, 0.0f, 0.0f};
    const Readout r = read_out_M(2, MHC_DTYPE_FP32, h, {0.5f, 0.5f}, 20, 1e-5f);
    const oracle::Static c = oracle::static_coeffs(2, {}, {0.5f, 0.5f}, h, 20, 1e-5);
    for (int i = 0; i < 4; ++i) CHECK(std::fabs(r.M[i] - c.M[i]) <= 1e-6 * c.M[i]);
    CHECK(r.M[0] < 1e-9);
    CHECK(r.M[1] < 1e-9);
    CHECK(std::fabs(r.M[2] - 1.0) <= 1e-6);  // column 0 is normalized: row 1 takes all of it
  }
  SECTION("a row of -inf stays zero: no NaN") {
    const float ninf = -INFINITY;
    const std::vector<float> h = {ninf, ninf, 0.5f, -0.5f};
    const Readout r = read_out_M(2, MHC_DTYPE_FP32, h, {0.5f, 0.5f}, 20, 1e-5f);
    const oracle::Static c = oracle::static_coeffs(2, {}, {0.5f, 0.5f}, h, 20, 1e-5);
    for (int i = 0; i < 4; ++i) {
      CHECK(std::isfinite(r.M[i]));
      CHECK(std::fabs(r.M[i] - c.M[i]) <= 1e-6 * std::max(c.M[i], 1e-30));
    }
    CHECK(r.M[0] == 0.0);
    CHECK(r.M[1] == 0.0);
  }
  SECTION("a row far below ln(eps), n = 4, against the guarded formula") {
    // exp(-100) ~ 3.7e-44: the row is never normalized; the other rows are.
    std::vector<float> h = random_f32(16, -1.0, 1.0);
    for (int j = 0; j < 4; ++j) h[4 + j] = -100.0f - j;
    const std::vector<float> hp = random_f32(4);
    const Readout r = read_out_M(4, MHC_DTYPE_FP32, h, hp, 20, 1e-5f);
    const oracle::Static c = oracle::static_coeffs(4, {}, hp, h, 20, 1e-5);
    for (int i = 0; i < 16; ++i) CHECK(std::fabs(r.M[i] - c.M[i]) <= 1e-6 * std::max(c.M[i], 1e-30) + 1e-45);
    for (int j = 0; j < 4; ++j) CHECK(r.M[4 + j] < 1e-40);
  }
  SECTION("a row whose exp overflows is normalized (the guard on its unshifted sum)") {
    // exp(800) overflows fp64: the row is shifted by its max; its unshifted sum is above any eps,
    // so the first row step normalizes it: [1/(1+e^-10), e^-10/(1+e^-10)] before the column steps.
    const std::vector<float> h = {800.0f, 790.0f, 0.0f, 0.0f};
    const Readout r = read_out_M(2, MHC_DTYPE_FP32, h, {0.5f, 0.5f}, 1, 2.0f);
    // eps = 2: row 0's shifted sum (1 + e^-10) is below eps, its unshifted sum is not.
    const double a = 1.0 / (1.0 + std::exp(-10.0)), b = 1.0 - a;
    // row 1 = [1, 1] sums to 2 <= eps: left. Columns: [a + 1, b + 1], both > 2? a + 1 < 2: left.
    CHECK(std::fabs(r.M[0] - a) <= 1e-7);
    CHECK(std::fabs(r.M[1] - b) <= 1e-7 * b + 1e-12);
    CHECK(r.M[2] == 1.0);
    CHECK(r.M[3] == 1.0);
  }
  SECTION("row sums below eps are skipped too") {
    // eps = 1.5, h = [[0, -1], [-1, 0]]: every row and column sums to 1 + e^-1 < 1.5, so M stays
    // exp(h - rowmax).
    const Readout r = read_out_M(2, MHC_DTYPE_FP32, {0.0f, -1.0f, -1.0f, 0.0f}, {0.5f, 0.5f}, 20, 1.5f);
    const double e = std::exp(-1.0);
    const std::vector<double> want = {1.0, e, e, 1.0};
    for (int i = 0; i < 4; ++i) CHECK(std::fabs(r.M[i] - want[i]) <= 1e-7 * want[i]);
  }
}
