// A1 (prenorm GEMM + square-sum) on the host reference: split boundaries, partials vs reduced,
// tf32, tf32x3 and fp32 weights, and the fp64 oracle on shapes that straddle the 64-wide granules.
#include "test_numerics_oracle.hpp"

using namespace mhc_test;

namespace {

struct A1Out {
  std::vector<float> D, Q;
};

// Runs A1 on the host with S splits (0 = default policy); partials or reduced outputs.
A1Out run_a1(int64_t T, int n, int64_t C, int S, bool partials, mhc_dtype_t w, const std::vector<uint16_t>& R,
             const std::vector<float>& fn, int* resolved_S = nullptr) {
  mhc_desc_t d = make_desc(MHC_OP_PRENORM_GEMM, T, n, C);
  d.num_splits = S;
  d.weight_precision = w;
  if (partials) d.flags = MHC_DESC_FLAG_SPLIT_PARTIALS;
  mhc_plan_t plan = oracle::host_plan(d);
  mhc_desc_t got{};
  got.struct_size = sizeof got;
  REQUIRE_OK(mhc_plan_get_desc(plan, &got));
  const int parts = partials ? got.num_splits : 1;
  if (resolved_S) *resolved_S = got.num_splits;
  const int64_t N = int64_t{n} * (n + 2);
  A1Out o;
  o.D.resize(parts * T * N);
  o.Q.resize(parts * T);
  poison(o.D), poison(o.Q);
  mhc_args_t a = oracle::args();
  a.residual = R.data(), a.fn = fn.data(), a.out_gemm = o.D.data(), a.out_sqrsum = o.Q.data();
  REQUIRE_OK(mhc_plan_run(plan, nullptr, nullptr, 0, &a));
  mhc_plan_destroy(plan);
  REQUIRE_FALSE(any_poison(o.D));
  REQUIRE_FALSE(any_poison(o.Q));
  return o;
}

}  // namespace

TEST_CASE("A1: split boundaries by hand (K not a multiple of 64, uneven S)", "[numerics][A1]") {
  struct Case {
    int n;
    int64_t C;
    int S;
    std::vector<int64_t> bounds;  // written down by hand from docs/numerics.md A1
  };
  const Case cases[] = {
      {2, 100, 3, {0, 128, 192, 200}},             // K = 200: G = 4 (64,64,64,8); 2,1,1 granules
      {2, 100, 4, {0, 64, 128, 192, 200}},         // S = G: one granule each, the last short
      {3, 151, 3, {0, 192, 384, 453}},             // K = 453: G = 8; 3,3,2 granules
      {1, 300, 2, {0, 192, 300}},                  // K = 300: G = 5; 3,2 granules
      {1, 65, 2, {0, 64, 65}},                     // a 1-wide last granule
      {4, 16, 1, {0, 64}},                         // K = 64 exactly, one split
  };
  for (const Case& c : cases) {
    const int64_t K = c.n * c.C, N = int64_t{c.n} * (c.n + 2), T = 2;
    INFO("n " << c.n << " C " << c.C << " S " << c.S);
    REQUIRE(oracle::split_bounds(K, c.S) == c.bounds);  // the oracle's walk agrees with the hand values
    // A[t,k] = t+1 (so Q = (t+1)^2 * |K_s|); fn row 0 = 1 (D = (t+1) |K_s|); fn row 1 = k
    // (D = (t+1) * sum of k over the range); other rows 0.5.
    std::vector<uint16_t> R(T * K);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t k = 0; k < K; ++k) R[t * K + k] = oracle::to_bf16(static_cast<double>(t + 1));
    std::vector<float> fn(N * K, 0.5f);
    for (int64_t k = 0; k < K; ++k) fn[k] = 1.0f, fn[K + k] = static_cast<float>(k);
    for (mhc_dtype_t w : {MHC_DTYPE_TF32, MHC_DTYPE_FP32}) {
      const A1Out o = run_a1(T, c.n, c.C, c.S, true, w, R, fn);
      for (int s = 0; s < c.S; ++s)
        for (int64_t t = 0; t < T; ++t) {
          const double lo = static_cast<double>(c.bounds[s]), hi = static_cast<double>(c.bounds[s + 1]);
          const double len = hi - lo, ksum = (lo + hi - 1) * len / 2;
          INFO("split " << s << " token " << t << " weights " << w);
          CHECK(o.Q[s * T + t] == (t + 1) * (t + 1) * len);
          CHECK(o.D[(s * T + t) * N + 0] == (t + 1) * len);
          CHECK(o.D[(s * T + t) * N + 1] == (t + 1) * ksum);
          CHECK(o.D[(s * T + t) * N + 2] == 0.5 * (t + 1) * len);
        }
    }
  }
}

TEST_CASE("A1: S beyond the granule count is rejected", "[numerics][A1]") {
  mhc_desc_t d = make_desc(MHC_OP_PRENORM_GEMM, 1, 2, 100);  // G = 4
  d.num_splits = 5;
  mhc_preference_t pref = host_only();
  mhc_plan_t plan = nullptr;
  REQUIRE_STATUS(mhc_plan_select(&d, &pref, &plan), MHC_STATUS_BAD_PARAM_SHAPE, "num_splits");
  d.num_splits = 4;
  REQUIRE_OK(mhc_plan_select(&d, &pref, &plan));
  mhc_plan_destroy(plan);
}

TEST_CASE("A1: default split policy (32 for T <= 64, else 16, capped by G)", "[numerics][A1]") {
  struct Case {
    int64_t T, C;
    int n, want;
  };
  const Case cases[] = {{1, 4096, 4, 32}, {64, 4096, 4, 32}, {65, 4096, 4, 16}, {1, 100, 2, 4}, {100, 100, 2, 4},
                        {200, 320, 4, 16}, {3, 64 * 20, 1, 20}};
  for (const Case& c : cases) {
    mhc_desc_t d = make_desc(MHC_OP_PRENORM_GEMM, c.T, c.n, c.C);
    mhc_plan_t plan = oracle::host_plan(d);
    mhc_desc_t got{};
    got.struct_size = sizeof got;
    REQUIRE_OK(mhc_plan_get_desc(plan, &got));
    mhc_plan_destroy(plan);
    INFO("T " << c.T << " n " << c.n << " C " << c.C);
    CHECK(got.num_splits == c.want);
  }
}

TEST_CASE("A1: partials and reduced outputs against the fp64 oracle", "[numerics][A1]") {
  struct Case {
    int64_t T;
    int n;
    int64_t C;
    int S;
  };
  const Case cases[] = {{1, 4, 72, 3}, {2, 1, 13, 1}, {63, 2, 100, 4}, {64, 4, 72, 5},
                        {65, 3, 151, 3}, {5, 8, 24, 0}, {3, 4, 72, 0}};
  for (const Case& c : cases)
    for (mhc_dtype_t w : {MHC_DTYPE_TF32, MHC_DTYPE_FP32, MHC_DTYPE_TF32X3}) {
      INFO("T " << c.T << " n " << c.n << " C " << c.C << " S " << c.S << " weights " << w);
      const int64_t K = c.n * c.C, N = int64_t{c.n} * (c.n + 2);
      const auto R = random_bf16(c.T * K);
      const auto fn = random_f32(N * K, -0.1, 0.1);
      int S = 0;
      const A1Out part = run_a1(c.T, c.n, c.C, c.S, true, w, R, fn, &S);
      const A1Out red = run_a1(c.T, c.n, c.C, c.S, false, w, R, fn);
      const oracle::Gemm g = oracle::prenorm_gemm(R, fn, c.T, K, N, S, w);
      const oracle::Gemm r = oracle::reduce(g, S, c.T, N);
      // The reference is fp64 rounded once to fp32: within fp32 rounding of the oracle (values
      // that cancel to near 0 are compared on a floor far below any real error).
      const double floor = 1e-10 * static_cast<double>(K);
      CHECK(oracle::max_rel_err(part.D, g.D, floor) <= 1e-6);
      CHECK(oracle::max_rel_err(part.Q, g.Q) <= 1e-6);
      CHECK(oracle::max_rel_err(red.D, r.D, floor) <= 1e-6);
      CHECK(oracle::max_rel_err(red.Q, r.Q) <= 1e-6);
      // reduced == partials summed ascending: each is the fp64 value rounded once to fp32, so
      // |reduced - sum_s partial_s| <= 2^-24 (|reduced| + sum_s |partial_s|).
      double worst = 0.0;
      for (int64_t t = 0; t < c.T; ++t)
        for (int64_t j = -1; j < N; ++j) {  // j = -1: Q
          double sum = 0.0, mag = 0.0;
          for (int s = 0; s < S; ++s) {
            const double v = j < 0 ? part.Q[s * c.T + t] : part.D[(s * c.T + t) * N + j];
            sum += v, mag += std::fabs(v);
          }
          const double want = j < 0 ? red.Q[t] : red.D[t * N + j];
          const double bound = std::ldexp(1.0, -24) * (std::fabs(want) + mag) * (1 + 1e-9);
          worst = std::max(worst, std::fabs(want - sum) / bound);
        }
      CHECK(worst <= 1.0);
      if (S == 1) CHECK(oracle::same_bits(part.D, red.D));
    }
}

TEST_CASE("A1: tf32 rounding of fn changes D by the amounts written down by hand", "[numerics][A1][tf32]") {
  // n = 2 (N = 8), C = 64 (K = 128), A[k] = (k % 5) + 1: sum A = 25 * 15 + (1 + 2 + 3) = 381.
  const int n = 2;
  const int64_t C = 64, K = 128, N = 8, T = 1;
  std::vector<uint16_t> R(K);
  double sumA = 0.0;
  for (int64_t k = 0; k < K; ++k) {
    R[k] = oracle::to_bf16(static_cast<double>(k % 5 + 1));
    sumA += k % 5 + 1;
  }
  REQUIRE(sumA == 381.0);
  const float u = std::ldexp(1.0f, -11), tiny = std::ldexp(1.0f, -23);
  // fn row j is the constant w[j]; its tf32 value is written down by hand.
  const float w[N] = {1.0f,                   // tf32-exact
                      1.0f + u,               // half a tf32 ulp: a tie, stays at even 1.0
                      1.0f + 3 * u,           // 1.5 ulps: a tie, goes to even 1 + 2^-9
                      1.0f + u + tiny,        // just above the tie: up to 1 + 2^-10
                      1.0f + u - tiny,        // just below: down to 1.0
                      -(1.0f + 3 * u),        // symmetric in sign
                      0.75f,                  // exact
                      std::ldexp(1.0f, -149)};  // least subnormal: a tie with 0, to 0
  const double w_tf32[N] = {1.0, 1.0, 1.0 + std::ldexp(1.0, -9), 1.0 + std::ldexp(1.0, -10), 1.0,
                            -(1.0 + std::ldexp(1.0, -9)), 0.75, 0.0};
  const bool differs[N] = {false, true, true, true, true, true, false, true};
  std::vector<float> fn(N * K);
  for (int64_t j = 0; j < N; ++j)
    for (int64_t k = 0; k < K; ++k) fn[j * K + k] = w[j];
  const A1Out t32 = run_a1(T, n, C, 1, false, MHC_DTYPE_TF32, R, fn);
  const A1Out f32 = run_a1(T, n, C, 1, false, MHC_DTYPE_FP32, R, fn);
  for (int j = 0; j < N; ++j) {
    INFO("row " << j);
    // fp64 sums of A * w are exact here; sumA * w_tf32 has at most 9 + 11 significant bits, so
    // the tf32 result is exact in fp32; the fp32 one is sumA * w rounded once
    CHECK(static_cast<double>(t32.D[j]) == sumA * w_tf32[j]);
    CHECK(static_cast<double>(f32.D[j]) == static_cast<double>(static_cast<float>(sumA * static_cast<double>(w[j]))));
    CHECK((t32.D[j] != f32.D[j]) == differs[j]);
  }
  CHECK(t32.Q[0] == f32.Q[0]);  // the square-sum never sees fn
  // the known amounts: row 1 moves by -sumA*u, row 2 by +sumA*u, row 3 by +sumA*(u - tiny)
  CHECK(static_cast<double>(f32.D[1]) - t32.D[1] == sumA * u);
  CHECK(static_cast<double>(t32.D[2]) - f32.D[2] == sumA * u);
}

TEST_CASE("A1: tf32x3 weights are hi + lo, both tf32, by hand", "[numerics][A1][tf32x3]") {
  // n = 1 (N = 3), C = 64 (K = 64), A = 1: D = 64 w(fn), exact in fp64 and fp32.
  const int n = 1;
  const int64_t C = 64, K = 64, N = 3, T = 1;
  std::vector<uint16_t> R(K);
  for (int64_t k = 0; k < K; ++k) R[k] = oracle::to_bf16(1.0);
  const double sumA = 64.0, e = std::ldexp(1.0, -12);
  // Row 0: 1 + 2^-12 + 2^-20: hi = 1, lo = 2^-12 (1 + 2^-8) is tf32-exact, so hi + lo = fn.
  // Row 1: 1 + 2^-12 + 2^-23: lo = 2^-12 (1 + 2^-11) is a tie in tf32, to even 2^-12.
  // Row 2: -(1 + 2^-12 + 3*2^-23): lo = -2^-12 (1 + 3*2^-11) is a tie, to even -2^-12 (1 + 2^-9).
  const double w[N] = {1 + e + std::ldexp(1.0, -20), 1 + e + std::ldexp(1.0, -23), -(1 + e + 3 * std::ldexp(1.0, -23))};
  const double w_x3[N] = {w[0], 1 + e, -(1 + e + std::ldexp(e, -9))};
  std::vector<float> fn(N * K);
  for (int64_t j = 0; j < N; ++j)
    for (int64_t k = 0; k < K; ++k) fn[j * K + k] = static_cast<float>(w[j]);
  const A1Out x3 = run_a1(T, n, C, 1, false, MHC_DTYPE_TF32X3, R, fn);
  const A1Out f32 = run_a1(T, n, C, 1, false, MHC_DTYPE_FP32, R, fn);
  const A1Out t32 = run_a1(T, n, C, 1, false, MHC_DTYPE_TF32, R, fn);
  for (int j = 0; j < N; ++j) {
    INFO("row " << j);
    CHECK(static_cast<double>(x3.D[j]) == sumA * w_x3[j]);
    CHECK(static_cast<double>(f32.D[j]) == sumA * w[j]);
    CHECK(static_cast<double>(t32.D[j]) == sumA * (j == 2 ? -1.0 : 1.0));  // hi alone
  }
  CHECK(x3.D[0] == f32.D[0]);
  CHECK(x3.D[1] != f32.D[1]);
}

TEST_CASE("A1: tf32 and fp32 weights differ on random data, within the tf32 bound", "[numerics][A1][tf32]") {
  const int64_t T = 4, C = 72;
  const int n = 4;
  const int64_t K = n * C, N = 24;
  const auto R = random_bf16(T * K);
  const auto fn = random_f32(N * K, -0.1, 0.1);
  const A1Out t32 = run_a1(T, n, C, 2, false, MHC_DTYPE_TF32, R, fn);
  const A1Out f32 = run_a1(T, n, C, 2, false, MHC_DTYPE_FP32, R, fn);
  // |D_tf32 - D_fp32| <= sum_k |A_k| |fn_k - tf32(fn_k)| <= 2^-11 sum_k |A_k fn_k|
  size_t differ = 0;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t j = 0; j < N; ++j) {
      double bound = 0.0;
      for (int64_t k = 0; k < K; ++k)
        bound += std::fabs(oracle::from_bf16(R[t * K + k]) * fn[j * K + k]) * std::ldexp(1.0, -11);
      const double diff = std::fabs(static_cast<double>(t32.D[t * N + j]) - f32.D[t * N + j]);
      CHECK(diff <= bound * 1.01 + 1e-6 * std::fabs(f32.D[t * N + j]));
      differ += diff > 0;
    }
  CHECK(differ > static_cast<size_t>(T * N * 9 / 10));  // random fn is almost never tf32-exact
  CHECK(oracle::same_bits(t32.Q, f32.Q));
}

TEST_CASE("A1: tiny and huge bf16 values are neither flushed nor saturated", "[numerics][A1]") {
  // token 0: A = +-m 2^-60, token 1: A = +-m 2^20, m in {1, 2, 3}; fn = 1, +-1, 0.5. Every D and
  // Q is a small integer times a power of two, exact in fp64 and fp32.
  const int n = 1;
  const int64_t C = 70, K = 70, N = 3, T = 2;
  std::vector<uint16_t> R(T * K);
  std::vector<float> fn(N * K);
  for (int64_t k = 0; k < K; ++k) fn[k] = 1.0f, fn[K + k] = (k % 2) ? -1.0f : 1.0f, fn[2 * K + k] = 0.5f;
  double q[T] = {}, d[T][N] = {};
  for (int64_t t = 0; t < T; ++t)
    for (int64_t k = 0; k < K; ++k) {
      const double a = std::ldexp(1.0 + k % 3, t == 0 ? -60 : 20) * ((k % 7) < 3 ? -1 : 1);
      R[t * K + k] = oracle::to_bf16(a);
      q[t] += a * a, d[t][0] += a, d[t][1] += a * ((k % 2) ? -1 : 1), d[t][2] += 0.5 * a;
    }
  for (int S : {1, 2}) {
    const A1Out o = run_a1(T, n, C, S, false, MHC_DTYPE_TF32, R, fn);
    for (int64_t t = 0; t < T; ++t) {
      INFO("S " << S << " token " << t);
      CHECK(o.Q[t] != 0.0f);
      CHECK(static_cast<double>(o.Q[t]) == q[t]);
      for (int64_t j = 0; j < N; ++j) CHECK(static_cast<double>(o.D[t * N + j]) == d[t][j]);
    }
  }
}
