// a5_head on the host reference: a hand case, head == the pre path of a full layer (fn rows
// [0, n), scale[0], base[0, n)), and the fp64 oracle.
#include "test_numerics_oracle.hpp"

using namespace mhc_test;

namespace {

std::vector<uint16_t> run_head(const mhc_desc_t& d, const std::vector<uint16_t>& R, const std::vector<float>& fn,
                               const std::vector<float>& scale, const std::vector<float>& base) {
  std::vector<uint16_t> y(d.tokens * d.hidden);
  poison(y);
  mhc_args_t a = oracle::args();
  a.residual = R.data(), a.fn = fn.data(), a.scale = scale.data(), a.base = base.data();
  a.out_layer_input = y.data();
  oracle::run_host(d, a);
  REQUIRE_FALSE(any_poison(y));
  return y;
}

}  // namespace

TEST_CASE("A5: head by hand, n = 2", "[numerics][A5]") {
  mhc_desc_t d = make_desc(MHC_OP_HEAD, 1, 2, 64);  // K = 128
  d.rms_eps = 3.0f;
  d.pre_eps = 0.25f;
  // stream 0 all 1, stream 1 all -1: Q / K = 1, r = 1 / sqrt(1 + 3) = 0.5
  std::vector<uint16_t> R(128);
  for (int k = 0; k < 128; ++k) R[k] = oracle::to_bf16(k < 64 ? 1.0 : -1.0);
  // fn_head row 0: 0.25 then 0.125 -> D0 = 64*0.25 - 64*0.125 = 8, mix0 = 4;
  // row 1: 1/64 then -1/64 -> D1 = 1 + 1 = 2, mix1 = 1. (All tf32-exact.)
  std::vector<float> fn(2 * 128);
  for (int k = 0; k < 128; ++k) fn[k] = k < 64 ? 0.25f : 0.125f, fn[128 + k] = k < 64 ? 1.0f / 64 : -1.0f / 64;
  const std::vector<float> scale = {0.5f}, base = {-2.0f, 1.5f};
  // pre0 = sigmoid(4 * 0.5 - 2) + 0.25 = 0.75; pre1 = sigmoid(1 * 0.5 + 1.5) + 0.25
  const double pre0 = 0.75, pre1 = 1.0 / (1.0 + std::exp(-2.0)) + 0.25;
  const uint16_t want = oracle::to_bf16(pre0 * 1.0 + pre1 * -1.0);
  for (mhc_dtype_t w : {MHC_DTYPE_TF32, MHC_DTYPE_FP32}) {
    d.weight_precision = w;
    const auto y = run_head(d, R, fn, scale, base);
    for (int x = 0; x < 64; ++x) CHECK(y[x] == want);
  }
}

TEST_CASE("A5: head equals A3's layer_input when it gets the pre rows of a full fn", "[numerics][A5][A3]") {
  struct Case {
    int64_t T;
    int n;
    int64_t C;
  };
  const Case cases[] = {{1, 4, 72}, {5, 4, 100}, {2, 1, 13}, {3, 8, 24}};
  for (const Case& c : cases)
    for (mhc_dtype_t w : {MHC_DTYPE_TF32, MHC_DTYPE_FP32}) {
      INFO("T " << c.T << " n " << c.n << " C " << c.C << " precision " << w);
      const int64_t K = c.n * c.C, N = int64_t{c.n} * (c.n + 2);
      const auto R = random_bf16(c.T * K);
      const auto fn = random_f32(N * K, -0.1, 0.1);
      const auto scale = random_f32(3, 0.5, 2.0), base = random_f32(N);

      mhc_desc_t d3 = make_desc(MHC_OP_PRE, c.T, c.n, c.C);
      d3.weight_precision = w;
      std::vector<float> post(c.T * c.n), comb(c.T * c.n * c.n);
      std::vector<uint16_t> li(c.T * c.C);
      poison(li);
      mhc_args_t a = oracle::args();
      a.residual = R.data(), a.fn = fn.data(), a.scale = scale.data(), a.base = base.data();
      a.out_post_mix = post.data(), a.out_comb_mix = comb.data(), a.out_layer_input = li.data();
      oracle::run_host(d3, a);

      mhc_desc_t dh = make_desc(MHC_OP_HEAD, c.T, c.n, c.C);
      dh.weight_precision = w;
      const std::vector<float> fn_head(fn.begin(), fn.begin() + c.n * K);
      const std::vector<float> scale_head = {scale[0]}, base_head(base.begin(), base.begin() + c.n);
      const auto y = run_head(dh, R, fn_head, scale_head, base_head);
      // Same fp64 formula on the same values: the reference gives identical bits.
      CHECK(y == li);
      // and both against the oracle
      const oracle::Gemm g = oracle::prenorm_gemm(R, fn_head, c.T, K, c.n, 1, w);
      std::vector<double> ref;
      for (int64_t t = 0; t < c.T; ++t) {
        const oracle::Coeffs co = oracle::coeffs(oracle::params(dh), &g.D[t * c.n], g.Q[t], scale_head.data(),
                                                 base_head.data(), true);
        const auto yt = oracle::pre_mix(R, t, c.n, c.C, co.pre);
        ref.insert(ref.end(), yt.begin(), yt.end());
      }
      std::string why;
      CHECK(oracle::bf16_mismatches(y, ref, &why) == 0);
      INFO(why);
    }
}

TEST_CASE("A5: the optional out_gemm, out_sqrsum are the reduced D [T, n] and Q [T] (saved for A5')",
          "[numerics][A5]") {
  const int64_t T = 5, C = 40;
  const int n = 4;
  const int64_t K = n * C;
  const auto R = random_bf16(T * K);
  const auto fn = random_f32(n * K, -0.1, 0.1);
  const std::vector<float> scale = {0.8f}, base = random_f32(n);
  for (mhc_dtype_t w : {MHC_DTYPE_TF32, MHC_DTYPE_FP32}) {
    INFO("precision " << w);
    mhc_desc_t d = make_desc(MHC_OP_HEAD, T, n, C);
    d.weight_precision = w;
    std::vector<uint16_t> y(T * C);
    std::vector<float> D(T * n), Q(T);
    poison(y), poison(D), poison(Q);
    mhc_args_t a = oracle::args();
    a.residual = R.data(), a.fn = fn.data(), a.scale = scale.data(), a.base = base.data();
    a.out_layer_input = y.data(), a.out_gemm = D.data(), a.out_sqrsum = Q.data();
    oracle::run_host(d, a);
    const oracle::Gemm g = oracle::prenorm_gemm(R, fn, T, K, n, 1, w);
    CHECK(oracle::max_rel_err(D, g.D, 1e-10 * K) <= 1e-6);
    CHECK(oracle::max_rel_err(Q, g.Q) <= 1e-6);
    CHECK(y == run_head(d, R, fn, scale, base));  // the main output does not change
  }
}
