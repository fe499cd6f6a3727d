// a9_boundary_mix (MHC_OP_BOUNDARY_MIX) on the host reference: the mix part of a V4.1 boundary
// (pre, post, comb of the new residual). A hand case, the fp64 oracle with constants away from
// their defaults, A3's post and comb bit for bit, and all-zero tokens.
#include "test_boundary_oracle.hpp"

using namespace mhc_test;
using namespace boundary;

TEST_CASE("A9: by hand, n = 2", "[numerics][A9]") {
  // K = 128: stream 0 all 1, stream 1 all -1, so Q / K = 1 and r = 1 / sqrt(1 + 3) = 1/2.
  const Dims d{1, 2, 64};
  std::vector<uint16_t> H(d.K());
  for (int64_t k = 0; k < d.K(); ++k) H[k] = oracle::to_bf16(k < d.C ? 1.0 : -1.0);
  Consts k;
  k.rms_eps = 3.0f;
  k.pre_eps = 0.25f;
  k.post_mult = 3.0f;
  Site s;
  s.fn.assign(d.N() * d.K(), 0.0f);
  // pre row 0: 0.25 then 0.125 -> D = 8, mix = 4; pre row 1: 1/64 then -1/64 -> D = 2, mix = 1.
  for (int64_t x = 0; x < d.K(); ++x) {
    s.fn[x] = x < d.C ? 0.25f : 0.125f;
    s.fn[d.K() + x] = x < d.C ? 1.0f / 64 : -1.0f / 64;
  }
  s.scale = {0.5f, 7.0f, 7.0f};  // post and comb mixes are 0: their scale does not matter
  s.base = {-2.0f, 1.5f, /* post */ 0.0f, 1.0f, /* comb */ 0.0f, 0.0f, 0.0f, 0.0f};
  for (mhc_dtype_t w : {MHC_DTYPE_TF32, MHC_DTYPE_FP32, MHC_DTYPE_TF32X3}) {
    k.precision = w;
    const Out o = run_mix(d, k, H, s);
    // pre0 = sigmoid(4 * 0.5 - 2) + 0.25 = 0.75 exactly; pre1 = sigmoid(1 * 0.5 + 1.5) + 0.25
    CHECK(o.p[0] == 0.75f);
    CHECK(std::fabs(o.p[1] - (1.0 / (1.0 + std::exp(-2.0)) + 0.25)) <= 1e-7);
    // post = 3 sigmoid(0) = 1.5, 3 sigmoid(1)
    CHECK(o.q[0] == 1.5f);
    CHECK(std::fabs(o.q[1] - 3.0 / (1.0 + std::exp(-1.0))) <= 1e-6);
    for (float c : o.c) CHECK(c == o.c[0]);  // a uniform start stays uniform
  }
}

TEST_CASE("A9: random inputs against the fp64 oracle", "[numerics][A9]") {
  const mhc_dtype_t precisions[] = {MHC_DTYPE_TF32, MHC_DTYPE_FP32, MHC_DTYPE_TF32X3};
  for (const Dims& d : shapes())
    for (mhc_dtype_t w : precisions) {
      INFO("T " << d.T << " n " << d.n << " C " << d.C << " precision " << w);
      const Consts k = odd_consts(w);
      const auto H = random_bf16(d.T * d.K());
      const Site s = random_site(d);
      check(run_mix(d, k, H, s), ref_mix_op(d, k, H, s));
    }
}

TEST_CASE("A9's post and comb are A3's, bit for bit; its pre is the one A3 collapses with", "[numerics][A9][A3]") {
  for (const Dims& d : shapes())
    for (int32_t S : {0, 1, 3}) {
      if (S > (d.K() + 63) / 64) continue;
      INFO("T " << d.T << " n " << d.n << " C " << d.C << " S " << S);
      const Consts k = odd_consts();
      const auto H = random_bf16(d.T * d.K());
      const Site s = random_site(d);
      const Out o = run_mix(d, k, H, s, S);
      std::vector<float> post3(d.T * d.n), comb3(d.T * d.n * d.n);
      std::vector<uint16_t> li3(d.T * d.C);
      poison(post3), poison(comb3), poison(li3);
      mhc_args_t a = oracle::args();
      a.residual = H.data(), a.fn = s.fn.data(), a.scale = s.scale.data(), a.base = s.base.data();
      a.out_post_mix = post3.data(), a.out_comb_mix = comb3.data(), a.out_layer_input = li3.data();
      oracle::run_host(desc(MHC_OP_PRE, d, k, 0, S), a);
      REQUIRE_FALSE(any_poison(li3));
      CHECK(oracle::same_bits(o.q, post3));
      CHECK(oracle::same_bits(o.c, comb3));
      // A3's layer input is the collapse with the oracle's pre, which A9 returns (rounded to fp32;
      // the collapse with those fp32 values is within an ulp).
      const Mix m = mix(d, k, H, s);
      CHECK(f32_off(o.p, m.pre) == 0);
      CHECK(oracle::bf16_mismatches(li3, collapse(d, H, m.pre)) == 0);
      CHECK(oracle::max_bf16_ulps(li3, to_bf16(collapse(d, H, to_f64(o.p)))) <= 1);
    }
}

TEST_CASE("A9: an all-zero token with rms_eps = 1e-20: coefficients from base alone, finite", "[numerics][A9]") {
  const Dims d{3, 4, 24};
  Consts k = odd_consts();
  k.rms_eps = 1e-20f;
  auto H = random_bf16(d.T * d.K());
  for (int64_t x = 0; x < d.K(); ++x) H[x] = 0;  // token 0
  const Site s = random_site(d);
  const Out o = run_mix(d, k, H, s);
  CHECK(all_finite(o));
  check(o, ref_mix_op(d, k, H, s));
  const std::vector<double> zeros(d.N(), 0.0);
  const oracle::Coeffs c = oracle::coeffs({d.n, d.C, k.rms_eps, k.pre_eps, k.sinkhorn_eps, k.post_mult, k.repeat},
                                          zeros.data(), 0.0, s.scale.data(), s.base.data());
  for (int i = 0; i < d.n; ++i) CHECK(std::fabs(o.p[i] - c.pre[i]) <= 1e-6 * c.pre[i]);
  for (int i = 0; i < d.n; ++i) CHECK(std::fabs(o.q[i] - c.post[i]) <= 1e-6 * c.post[i]);
  for (int j = 0; j < d.n * d.n; ++j) CHECK(std::fabs(o.c[j] - c.comb[j]) <= 1e-6 * c.comb[j]);
}
