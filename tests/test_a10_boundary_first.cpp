// a10_boundary_first (MHC_OP_BOUNDARY_FIRST) on the host reference: the first boundary. H is A6's
// expand of E bit for bit; shifted, the layer input is E itself (the carried pre is e_0); V4, it is
// A6 then A3 bit for bit (+ the norm); every mode against the fp64 oracle; all-zero tokens.
#include "test_boundary_oracle.hpp"

using namespace mhc_test;
using namespace boundary;

namespace {

std::vector<uint16_t> expand(const Dims& d, const std::vector<uint16_t>& E) {
  std::vector<uint16_t> H(d.T * d.K());
  poison(H);
  mhc_args_t a = oracle::args();
  a.embedding = E.data(), a.out_residual = H.data();
  oracle::run_host(desc(MHC_OP_EXPAND, d, Consts{}, 0), a);
  REQUIRE_FALSE(any_poison(H));
  return H;
}

}  // namespace

TEST_CASE("A10: by hand, n = 2: V4 collapses with its own pre, shifted with e_0", "[numerics][A10]") {
  // fn = 0, base = 0: pre = sigmoid(0) + 0.5 = 1 per stream, post = 3 sigmoid(0) = 1.5.
  const Dims d{1, 2, 4};
  const std::vector<uint16_t> E = {oracle::to_bf16(1.0), oracle::to_bf16(-0.5), oracle::to_bf16(3.0),
                                   oracle::to_bf16(0.25)};
  Consts k;
  k.pre_eps = 0.5f;
  k.post_mult = 3.0f;
  Site s;
  s.fn.assign(d.N() * d.K(), 0.0f);
  s.scale = {1.0f, 1.0f, 1.0f};
  s.base.assign(d.N(), 0.0f);
  for (uint32_t flags : {0u, kShifted}) {
    INFO((flags ? "shifted" : "V4"));
    const Out o = run_first(d, k, flags, E, s);
    CHECK(o.H == std::vector<uint16_t>{E[0], E[1], E[2], E[3], E[0], E[1], E[2], E[3]});
    CHECK(o.p == std::vector<float>{1.0f, 1.0f});
    CHECK(o.q == std::vector<float>{1.5f, 1.5f});
    if (flags & kShifted) {
      CHECK(o.x == E);  // e_0: stream 0 alone
    } else {
      // 1 * E + 1 * E
      CHECK(o.x == std::vector<uint16_t>{oracle::to_bf16(2.0), oracle::to_bf16(-1.0), oracle::to_bf16(6.0),
                                         oracle::to_bf16(0.5)});
    }
  }
}

TEST_CASE("A10 shifted: the layer input is E exactly, H is expand(E)", "[numerics][A10][A6]") {
  for (const Dims& d : shapes()) {
    INFO("T " << d.T << " n " << d.n << " C " << d.C);
    auto E = random_bf16(d.T * d.C);
    // bits that any arithmetic would disturb travel unchanged: -0, subnormals, the top of the range
    const uint16_t specials[] = {0x8000, 0x0001, 0x807f, 0x7f00, 0xff00};
    for (size_t i = 0; i < 5 && static_cast<int64_t>(i) < d.T * d.C; ++i) E[(3 * i + 1) % E.size()] = specials[i];
    const Site s = random_site(d);
    const Out o = run_first(d, odd_consts(), kShifted, E, s);
    CHECK(o.x == E);
    CHECK(o.H == expand(d, E));
  }
}

TEST_CASE("A10 V4 mode is A6 then A3 bit for bit, plus the oracle's RMSNorm", "[numerics][A10][A6][A3]") {
  for (const Dims& d : shapes())
    for (bool norm : {false, true})
      for (int32_t S : {0, 2}) {
        if (S > (d.K() + 63) / 64) continue;
        INFO("T " << d.T << " n " << d.n << " C " << d.C << " norm " << norm << " S " << S);
        const Consts k = odd_consts(norm ? MHC_DTYPE_TF32X3 : MHC_DTYPE_TF32);
        const auto E = random_bf16(d.T * d.C);
        const Site s = random_site(d);
        const Out o = run_first(d, k, norm ? kNorm : 0u, E, s, S);
        const auto H6 = expand(d, E);
        std::vector<float> post3(d.T * d.n), comb3(d.T * d.n * d.n);
        std::vector<uint16_t> li3(d.T * d.C);
        poison(post3), poison(comb3), poison(li3);
        mhc_args_t a = oracle::args();
        a.residual = H6.data(), a.fn = s.fn.data(), a.scale = s.scale.data(), a.base = s.base.data();
        a.out_post_mix = post3.data(), a.out_comb_mix = comb3.data(), a.out_layer_input = li3.data();
        oracle::run_host(desc(MHC_OP_PRE, d, k, 0, S), a);
        REQUIRE_FALSE(any_poison(li3));
        CHECK(oracle::same_bits(o.H, H6));
        CHECK(oracle::same_bits(o.q, post3));
        CHECK(oracle::same_bits(o.c, comb3));
        if (norm) CHECK(oracle::same_bits(o.x, to_bf16(rmsnorm(d, li3, s.w, k.norm_eps, k.norm_scale))));
        else CHECK(oracle::same_bits(o.x, li3));
        // out_pre_mix is optional in V4 mode: without it the rest is unchanged.
        const Out without = run_first(d, k, norm ? kNorm : 0u, E, s, S, false);
        CHECK(oracle::same_bits(without.x, o.x));
        CHECK(oracle::same_bits(without.q, o.q));
      }
}

TEST_CASE("A10: every mode against the fp64 oracle, constants away from their defaults", "[numerics][A10]") {
  const mhc_dtype_t precisions[] = {MHC_DTYPE_FP32, MHC_DTYPE_TF32X3, MHC_DTYPE_TF32};
  int which = 0;
  for (const Dims& d : shapes())
    for (uint32_t flags : {0u, kNorm, kShifted, kShifted | kNorm}) {
      const Consts k = odd_consts(precisions[which++ % 3]);
      INFO("T " << d.T << " n " << d.n << " C " << d.C << " flags " << flags << " precision " << k.precision);
      const auto E = random_bf16(d.T * d.C);
      const Site s = random_site(d);
      const Out o = run_first(d, k, flags, E, s);
      check(o, ref_first(d, k, flags, E, s));
      // shifted + norm: the first sublayer's input is RMSNorm(E)
      if (flags == (kShifted | kNorm))
        CHECK(oracle::bf16_mismatches(o.x, rmsnorm(d, E, s.w, k.norm_eps, k.norm_scale)) == 0);
    }
}

TEST_CASE("A10: an all-zero token with rms_eps = norm_eps = 1e-20 gives zeros, never NaN or inf",
          "[numerics][A10]") {
  const Dims d{3, 4, 24};
  Consts k = odd_consts();
  k.rms_eps = k.norm_eps = 1e-20f;
  for (uint32_t flags : {0u, kNorm, kShifted, kShifted | kNorm}) {
    INFO("flags " << flags);
    auto E = random_bf16(d.T * d.C);
    for (int64_t x = 0; x < d.C; ++x) E[d.C + x] = 0;
    const Site s = random_site(d);
    const Out o = run_first(d, k, flags, E, s);
    CHECK(all_finite(o));
    for (int64_t x = 0; x < d.C; ++x) CHECK(oracle::from_bf16(o.x[d.C + x]) == 0.0);
    check(o, ref_first(d, k, flags, E, s));
  }
}
