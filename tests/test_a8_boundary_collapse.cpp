// a8_boundary_collapse (MHC_OP_BOUNDARY_COLLAPSE) on the host reference: the critical part of a
// V4.1 boundary (post, collapse with the carried pre, optional RMSNorm). Hand cases, the fp64
// oracle, the V4.1 head (out_residual NULL), the split boundary (this op then BOUNDARY_MIX) ==
// the fused shifted BOUNDARY bit for bit, and all-zero tokens.
#include "test_boundary_oracle.hpp"

using namespace mhc_test;
using namespace boundary;

using oracle::bf16s;

TEST_CASE("A8: by hand, n = 2: post with comb transposed, then the carried pre", "[numerics][A8]") {
  const Dims d{1, 2, 4};
  State prev;
  prev.H = bf16s({1.0, 0.5, 2.0, -4.0, /* stream 0 */ -2.0, 4.0, 0.25, 1.0 /* stream 1 */});
  prev.q = {0.5f, 2.0f};
  prev.c = {0.25f, 0.5f, 0.75f, 1.5f};
  prev.p = {0.5f, 0.25f};
  const auto Y = bf16s({1.0, 2.0, -1.0, 0.5});
  const Consts k;
  for (bool keep_H : {true, false}) {
    INFO("out_residual " << (keep_H ? "given" : "NULL"));
    const Out o = run_collapse(d, k, 0, Y, prev, {}, keep_H);
    if (keep_H) CHECK(o.H == bf16s({-0.75, 4.125, 0.1875, 0.0, -0.5, 10.25, -0.625, 0.5}));
    // u = 0.5 H[0] + 0.25 H[1]
    CHECK(o.x == bf16s({-0.5, 4.625, -0.0625, 0.125}));
  }
}

TEST_CASE("A8: the RMSNorm by hand (eps inside the rsqrt, norm_scale)", "[numerics][A8]") {
  // n = 1: H = 0*Y + 1*R = R, u = 1*H. mean(u^2) = 4, norm_eps = 12: rsqrt(16) = 1/4.
  const Dims d{1, 1, 4};
  State prev;
  prev.H = bf16s({2.0, -2.0, 2.0, -2.0});
  prev.q = {0.0f};
  prev.c = {1.0f};
  prev.p = {1.0f};
  Consts k;
  k.norm_eps = 12.0f;
  k.norm_scale = 0.75f;
  const Out o = run_collapse(d, k, kNorm, bf16s({5.0, 5.0, 5.0, 5.0}), prev, bf16s({1.0, 0.5, 3.0, -1.5}));
  CHECK(o.x == bf16s({0.375, -0.1875, 1.125, 0.5625}));
}

TEST_CASE("A8: random inputs against the fp64 oracle", "[numerics][A8]") {
  for (const Dims& d : shapes())
    for (uint32_t flags : {0u, kNorm})
      for (bool keep_H : {true, false}) {
        INFO("T " << d.T << " n " << d.n << " C " << d.C << " flags " << flags << " keep_H " << keep_H);
        const Consts k = odd_consts();
        const auto Y = random_bf16(d.T * d.C);
        const State prev = random_state(d);
        const auto w = random_bf16(d.C, 0.5, 1.5);
        const Out o = run_collapse(d, k, flags, Y, prev, w, keep_H);
        check(o, ref_collapse_op(d, k, flags, Y, prev, w));
        CHECK(o.H.empty() == !keep_H);
      }
}

TEST_CASE("A8 as the V4.1 head: post, the last carried pre, the final norm, no new residual",
          "[numerics][A8][head]") {
  // Research note A.3: u = bf16(sum_i p_last[i] H[i]) with H = the last sublayer's post (A4), then
  // RMSNorm with the final norm weight: checked against A4 on the library and the oracle's
  // collapse and norm, bit for bit.
  for (const Dims& d : shapes()) {
    INFO("T " << d.T << " n " << d.n << " C " << d.C);
    const Consts k = v41_consts();
    const auto Y = random_bf16(d.T * d.C);
    const State prev = random_state(d);
    const auto w_final = random_bf16(d.C, 0.5, 1.5);
    const Out head = run_collapse(d, k, kNorm, Y, prev, w_final, false);
    REQUIRE(head.H.empty());

    std::vector<uint16_t> H4(d.T * d.K());
    poison(H4);
    mhc_args_t a = oracle::args();
    a.layer_output = Y.data(), a.residual = prev.H.data(), a.post_mix = prev.q.data(), a.comb_mix = prev.c.data();
    a.out_residual = H4.data();
    oracle::run_host(desc(MHC_OP_POST, d, k, 0), a);
    REQUIRE_FALSE(any_poison(H4));
    const auto u = to_bf16(collapse(d, H4, to_f64(prev.p)));
    CHECK(oracle::same_bits(head.x, to_bf16(rmsnorm(d, u, w_final, k.norm_eps, k.norm_scale))));
    // The same run with out_residual given writes A4's residual and the same layer input.
    const Out with_H = run_collapse(d, k, kNorm, Y, prev, w_final, true);
    CHECK(oracle::same_bits(with_H.H, H4));
    CHECK(oracle::same_bits(with_H.x, head.x));
  }
}

TEST_CASE("A8 then A9 on its new residual is the shifted A7, bit for bit", "[numerics][A8][A9][A7]") {
  for (const Dims& d : shapes())
    for (uint32_t norm : {0u, kNorm})
      for (int32_t S : {0, 2}) {
        if (S > (d.K() + 63) / 64) continue;
        INFO("T " << d.T << " n " << d.n << " C " << d.C << " norm " << norm << " S " << S);
        const Consts k = odd_consts(S ? MHC_DTYPE_TF32 : MHC_DTYPE_FP32);
        const auto Y = random_bf16(d.T * d.C);
        const State prev = random_state(d);
        const Site s = random_site(d);
        const Out fused = run_boundary(d, k, kShifted | norm, Y, prev, s, S);
        const Out crit = run_collapse(d, k, norm, Y, prev, s.w);
        const Out m = run_mix(d, k, crit.H, s, S);
        CHECK(oracle::same_bits(crit.H, fused.H));
        CHECK(oracle::same_bits(crit.x, fused.x));
        CHECK(oracle::same_bits(m.q, fused.q));
        CHECK(oracle::same_bits(m.c, fused.c));
        CHECK(oracle::same_bits(m.p, fused.p));
      }
}

TEST_CASE("A8: an all-zero token with norm_eps = 1e-20 gives zeros, never NaN or inf", "[numerics][A8]") {
  const Dims d{3, 2, 40};
  Consts k = odd_consts();
  k.norm_eps = 1e-20f;
  for (uint32_t flags : {0u, kNorm}) {
    INFO("flags " << flags);
    auto Y = random_bf16(d.T * d.C);
    State prev = random_state(d);
    for (int64_t x = 0; x < d.C; ++x) Y[2 * d.C + x] = 0;
    for (int64_t x = 0; x < d.K(); ++x) prev.H[2 * d.K() + x] = 0;
    const auto w = random_bf16(d.C, 0.5, 1.5);
    const Out o = run_collapse(d, k, flags, Y, prev, w);
    CHECK(all_finite(o));
    for (int64_t x = 0; x < d.C; ++x) CHECK(oracle::from_bf16(o.x[2 * d.C + x]) == 0.0);
    check(o, ref_collapse_op(d, k, flags, Y, prev, w));
  }
}
