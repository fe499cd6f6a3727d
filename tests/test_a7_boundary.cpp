// a7_boundary (MHC_OP_BOUNDARY) on the host reference: hand cases of each step, every mode
// against the fp64 oracle with constants away from their defaults (and a check that each
// constant is read from its own field), V4 mode == A4 then A3 (+ the norm) bit for bit, the
// V4.1 shifted mode over a chain of boundaries against DeepSeek-V4.1's model recurrence (docs/numerics.md),
// fused and split (BOUNDARY_COLLAPSE + BOUNDARY_MIX), and all-zero (padding) tokens.
#include "test_boundary_oracle.hpp"

using namespace mhc_test;
using namespace boundary;

namespace {

using oracle::bf16s;

// A site whose mixes are all 0 (fn = 0): pre = sigmoid(base) + pre_eps, post = post_mult *
// sigmoid(base), comb = Sinkhorn(softmax(base)).
Site zero_site(const Dims& d, std::vector<uint16_t> w = {}) {
  Site s;
  s.fn.assign(d.N() * d.K(), 0.0f);
  s.scale = {1.0f, 1.0f, 1.0f};
  s.base.assign(d.N(), 0.0f);
  s.w = w.empty() ? std::vector<uint16_t>(d.C, oracle::to_bf16(1.0)) : w;
  return s;
}

// The synthetic sublayer F_s of the chain: Y[t,x] = bf16(0.75 x[t,x] - 0.5 x[t,x+1 mod C] + Z_s[t,x]).
// It reads the layer input, so a wrong collapse or norm travels down the chain.
std::vector<uint16_t> sublayer(const Dims& d, const std::vector<uint16_t>& x, const std::vector<uint16_t>& Z) {
  std::vector<uint16_t> Y(x.size());
  for (int64_t t = 0; t < d.T; ++t)
    for (int64_t c = 0; c < d.C; ++c)
      Y[t * d.C + c] = oracle::to_bf16(0.75 * oracle::from_bf16(x[t * d.C + c]) -
                                       0.5 * oracle::from_bf16(x[t * d.C + (c + 1) % d.C]) +
                                       oracle::from_bf16(Z[t * d.C + c]));
  return Y;
}

}  // namespace

TEST_CASE("A7: by hand, n = 2: post with comb transposed, the collapse of the rounded H, both modes",
          "[numerics][A7]") {
  const Dims d{1, 2, 4};
  State prev;
  prev.H = bf16s({1.0, 0.5, 2.0, -4.0, /* stream 0 */ -2.0, 4.0, 0.25, 1.0 /* stream 1 */});
  prev.q = {0.5f, 2.0f};
  prev.c = {0.25f, 0.5f, /* comb[0][:] */ 0.75f, 1.5f /* comb[1][:] */};
  prev.p = {0.5f, 0.25f};  // the carried pre (shifted mode)
  const auto Y = bf16s({1.0, 2.0, -1.0, 0.5});
  // H[0] = 0.5 Y + 0.25 R0 + 0.75 R1; H[1] = 2 Y + 0.5 R0 + 1.5 R1 (comb read untransposed would
  // give H[0][0] = 0.5 + 0.25 - 1 = -0.25).
  const auto H = bf16s({-0.75, 4.125, 0.1875, 0.0, /* H[0] */ -0.5, 10.25, -0.625, 0.5 /* H[1] */});
  // fn = 0 and base = 0: pre = sigmoid(0) + pre_eps = 0.5 + 0.5 = 1, post = 3 * sigmoid(0) = 1.5,
  // comb uniform.
  Consts k;
  k.pre_eps = 0.5f;
  k.post_mult = 3.0f;
  const Site s = zero_site(d);
  for (uint32_t flags : {0u, kShifted}) {
    INFO((flags ? "shifted" : "V4"));
    const Out o = run_boundary(d, k, flags, Y, prev, s);
    CHECK(o.H == H);
    CHECK(o.H[0] != oracle::to_bf16(-0.25));
    CHECK(o.q == std::vector<float>{1.5f, 1.5f});
    CHECK(o.p == std::vector<float>{1.0f, 1.0f});  // this site's pre, in both modes
    for (float c : o.c) CHECK(c == o.c[0]);
    CHECK(std::fabs(o.c[0] - 0.5f) < 1e-5f);
    if (flags & kShifted) {
      // u = 0.5 H[0] + 0.25 H[1]: the carried pre, not this site's
      CHECK(o.x == bf16s({-0.5, 4.625, -0.0625, 0.125}));
    } else {
      // u = 1 H[0] + 1 H[1]
      CHECK(o.x == bf16s({-1.25, 14.375, -0.4375, 0.5}));
    }
  }
}

TEST_CASE("A7: the RMSNorm by hand: eps inside the rsqrt, the weight times norm_scale", "[numerics][A7]") {
  // n = 1, post 0 and comb 1: H = R, and u = R in both modes (carried pre 1; own pre 0.5 + 0.5).
  // mean(u^2) = 4 and norm_eps = 12: rsqrt(16) = 1/4 exactly, so x = u/4 * w * 0.75.
  const Dims d{1, 1, 4};
  State prev;
  prev.H = bf16s({2.0, -2.0, 2.0, -2.0});
  prev.q = {0.0f};
  prev.c = {1.0f};
  prev.p = {1.0f};
  const auto Y = bf16s({7.0, 7.0, 7.0, 7.0});  // times post = 0
  Consts k;
  k.pre_eps = 0.5f;
  k.norm_eps = 12.0f;
  k.norm_scale = 0.75f;
  const Site s = zero_site(d, bf16s({1.0, 0.5, 3.0, -1.5}));
  for (uint32_t mode : {0u, kShifted}) {
    INFO((mode ? "shifted" : "V4"));
    const Out o = run_boundary(d, k, mode | kNorm, Y, prev, s);
    CHECK(o.H == prev.H);
    CHECK(o.x == bf16s({0.375, -0.1875, 1.125, 0.5625}));
    // eps outside the rsqrt (rsqrt(4) + 12) or no norm_scale would give other values
    const Out plain = run_boundary(d, k, mode, Y, prev, s);
    CHECK(plain.x == prev.H);
  }
}

TEST_CASE("A7: every mode against the fp64 oracle, constants away from their defaults", "[numerics][A7]") {
  const mhc_dtype_t precisions[] = {MHC_DTYPE_TF32, MHC_DTYPE_FP32, MHC_DTYPE_TF32X3};
  int which = 0;
  for (const Dims& d : shapes())
    for (uint32_t flags : {0u, kNorm, kShifted, kShifted | kNorm}) {
      const Consts k = odd_consts(precisions[which++ % 3]);
      INFO("T " << d.T << " n " << d.n << " C " << d.C << " flags " << flags << " precision " << k.precision);
      const auto Y = random_bf16(d.T * d.C);
      const State prev = random_state(d);
      const Site s = random_site(d);
      const Out o = run_boundary(d, k, flags, Y, prev, s);
      check(o, ref_boundary(d, k, flags, Y, prev, s));
    }
}

TEST_CASE("A7: each constant is read from its own field (a miswired oracle disagrees)", "[numerics][A7]") {
  const Dims d{3, 4, 24};
  struct Wrong {
    const char* what;
    void (*spoil)(Consts&);
  };
  const Wrong wrongs[] = {
      {"rms_eps <-> norm_eps", [](Consts& k) { std::swap(k.rms_eps, k.norm_eps); }},
      {"pre_eps <-> sinkhorn_eps", [](Consts& k) { std::swap(k.pre_eps, k.sinkhorn_eps); }},
      {"rms_eps default", [](Consts& k) { k.rms_eps = 1e-6f; }},
      {"pre_eps default", [](Consts& k) { k.pre_eps = 1e-6f; }},
      {"sinkhorn_eps default", [](Consts& k) { k.sinkhorn_eps = 1e-6f; }},
      {"post_mult default", [](Consts& k) { k.post_mult = 2.0f; }},
      {"sinkhorn_repeat default", [](Consts& k) { k.repeat = 20; }},
      {"norm_eps default", [](Consts& k) { k.norm_eps = 1e-6f; }},
      {"norm_scale default", [](Consts& k) { k.norm_scale = 1.0f; }},
      {"fp32 weights for tf32", [](Consts& k) { k.precision = MHC_DTYPE_FP32; }},
  };
  for (uint32_t flags : {kNorm, kShifted | kNorm}) {
    INFO("flags " << flags);
    const Consts k = odd_consts();
    const auto Y = random_bf16(d.T * d.C);
    const State prev = random_state(d);
    const Site s = random_site(d);
    const Out o = run_boundary(d, k, flags, Y, prev, s);
    REQUIRE(mismatches(o, ref_boundary(d, k, flags, Y, prev, s)) == 0);
    for (const Wrong& w : wrongs) {
      INFO(w.what);
      Consts bad = k;
      w.spoil(bad);
      CHECK(mismatches(o, ref_boundary(d, bad, flags, Y, prev, s)) > 0);
    }
  }
}

TEST_CASE("A7 V4 mode is A4 then A3 bit for bit, plus the oracle's RMSNorm", "[numerics][A7][A4][A3]") {
  for (const Dims& d : shapes())
    for (bool norm : {false, true})
      for (int32_t S : {0, 1, 3}) {
        if (S > (d.K() + 63) / 64) continue;
        const Consts k = odd_consts(norm ? MHC_DTYPE_TF32 : MHC_DTYPE_FP32);
        INFO("T " << d.T << " n " << d.n << " C " << d.C << " norm " << norm << " S " << S);
        const auto Y = random_bf16(d.T * d.C);
        const State prev = random_state(d);
        const Site s = random_site(d);
        const Out o = run_boundary(d, k, norm ? kNorm : 0u, Y, prev, s, S);

        std::vector<uint16_t> H4(d.T * d.K());
        poison(H4);
        mhc_args_t a4 = oracle::args();
        a4.layer_output = Y.data(), a4.residual = prev.H.data(), a4.post_mix = prev.q.data();
        a4.comb_mix = prev.c.data(), a4.out_residual = H4.data();
        oracle::run_host(desc(MHC_OP_POST, d, k, 0), a4);
        REQUIRE_FALSE(any_poison(H4));

        std::vector<float> post3(d.T * d.n), comb3(d.T * d.n * d.n);
        std::vector<uint16_t> li3(d.T * d.C);
        poison(post3), poison(comb3), poison(li3);
        mhc_args_t a3 = oracle::args();
        a3.residual = H4.data(), a3.fn = s.fn.data(), a3.scale = s.scale.data(), a3.base = s.base.data();
        a3.out_post_mix = post3.data(), a3.out_comb_mix = comb3.data(), a3.out_layer_input = li3.data();
        oracle::run_host(desc(MHC_OP_PRE, d, k, 0, S), a3);
        REQUIRE_FALSE(any_poison(li3));

        CHECK(oracle::same_bits(o.H, H4));
        CHECK(oracle::same_bits(o.q, post3));
        CHECK(oracle::same_bits(o.c, comb3));
        if (norm) CHECK(oracle::same_bits(o.x, to_bf16(rmsnorm(d, li3, s.w, k.norm_eps, k.norm_scale))));
        else CHECK(oracle::same_bits(o.x, li3));
        // out_pre_mix is this site's pre (the one the collapse used); leaving it out changes nothing.
        CHECK(f32_off(o.p, mix(d, k, H4, s).pre) == 0);
        const Out without = run_boundary(d, k, norm ? kNorm : 0u, Y, prev, s, S, false);
        CHECK(oracle::same_bits(without.H, o.H));
        CHECK(oracle::same_bits(without.x, o.x));
        CHECK(oracle::same_bits(without.q, o.q));
        CHECK(oracle::same_bits(without.c, o.c));
      }
}

TEST_CASE("A7 shifted: a chain of boundaries is the V4.1 recurrence, fused or split",
          "[numerics][A7][A8][A9][A10][chain]") {
  struct Config {
    const char* what;
    Dims d;
    Consts k;
    bool norm;
  };
  Consts negative_scale = odd_consts(MHC_DTYPE_TF32);
  negative_scale.norm_scale = -1.25f;
  const Config configs[] = {
      {"V4.1 constants, fp32 weights, norm", {3, 4, 40}, v41_consts(MHC_DTYPE_FP32), true},
      {"odd constants, tf32, norm_scale -1.25", {2, 2, 33}, negative_scale, true},
      {"odd constants, tf32x3, no norm", {2, 3, 17}, odd_consts(MHC_DTYPE_TF32X3), false},
  };
  constexpr int kBoundaries = 4;  // BOUNDARY_FIRST, then 3 x BOUNDARY; then the head
  for (const Config& cfg : configs) {
    INFO(cfg.what);
    const Dims& d = cfg.d;
    const Consts& k = cfg.k;
    const uint32_t nf = cfg.norm ? kNorm : 0u;
    const auto E = random_bf16(d.T * d.C);
    std::vector<Site> sites;
    std::vector<std::vector<uint16_t>> Z;  // the fixed part of each synthetic sublayer
    for (int s = 0; s < kBoundaries; ++s) sites.push_back(random_site(d)), Z.push_back(random_bf16(d.T * d.C, -1, 1));
    const auto w_final = random_bf16(d.C, 0.5, 1.5);  // the final norm before the LM head

    // The library: what a V4.1 serving loop runs, each boundary's outputs fed to the next.
    auto library_chain = [&](bool split) {
      std::vector<Out> steps{run_first(d, k, kShifted | nf, E, sites[0])};
      for (int s = 1; s < kBoundaries; ++s) {
        const auto Y = sublayer(d, steps.back().x, Z[s - 1]);
        const State prev = steps.back().state();
        if (!split) {
          steps.push_back(run_boundary(d, k, kShifted | nf, Y, prev, sites[s]));
        } else {
          const Out crit = run_collapse(d, k, nf, Y, prev, sites[s].w);  // critical path
          const Out m = run_mix(d, k, crit.H, sites[s]);                  // beside the sublayer
          steps.push_back(Out{crit.H, crit.x, m.q, m.c, m.p});
        }
      }
      // The head: post of the last sublayer, collapse with the last carried pre, final norm.
      const auto Y = sublayer(d, steps.back().x, Z[kBoundaries - 1]);
      steps.push_back(run_collapse(d, k, nf, Y, steps.back().state(), w_final, false));
      return steps;
    };
    const std::vector<Out> fused = library_chain(false), split = library_chain(true);

    // The oracle: A.1 literally. H_0 = E in every stream, p_{-1} = e_0; per sublayer s:
    // (p_s, q_s, c_s) = MIX_s(H_s); u_s = bf16(sum_i p_{s-1}[i] H_s[i]); x_s = RMSNorm_{w_s}(u_s);
    // Y_s = F_s(x_s); H_{s+1} = bf16(q_s Y_s + c_s^T H_s). p, q, c travel as fp32.
    std::vector<uint16_t> H(d.T * d.K());
    for (int64_t t = 0; t < d.T; ++t)
      for (int i = 0; i < d.n; ++i)
        for (int64_t x = 0; x < d.C; ++x) H[(t * d.n + i) * d.C + x] = E[t * d.C + x];
    std::vector<double> H_value = oracle::bf16_values(H);
    std::vector<double> p_prev(d.T * d.n, 0.0);
    for (int64_t t = 0; t < d.T; ++t) p_prev[t * d.n] = 1.0;
    for (int s = 0; s <= kBoundaries; ++s) {
      INFO("boundary " << s << (s == kBoundaries ? " (the head)" : ""));
      const std::vector<uint16_t>& w = s < kBoundaries ? sites[s].w : w_final;
      const std::vector<double> u = collapse(d, H, p_prev);
      Ref r;
      r.x = layer_input(d, k, nf, u, w);
      if (s < kBoundaries) {
        const Mix m = mix(d, k, H, sites[s]);
        r.H = H_value, r.q = m.post, r.c = m.comb, r.p = m.pre;
        const auto Y = sublayer(d, to_bf16(r.x), Z[s]);
        State st{H, to_f32(m.post), to_f32(m.comb), {}};
        H_value = post(d, Y, st);
        H = to_bf16(H_value);
        p_prev = to_f64(to_f32(m.pre));
      }
      check(fused[s], r);
      if (s == 0 && !cfg.norm) CHECK(fused[0].x == E);  // u_0 = E exactly
      // The split boundary gives the fused one's bits.
      CHECK(oracle::same_bits(split[s].H, fused[s].H));
      CHECK(oracle::same_bits(split[s].x, fused[s].x));
      CHECK(oracle::same_bits(split[s].q, fused[s].q));
      CHECK(oracle::same_bits(split[s].c, fused[s].c));
      CHECK(oracle::same_bits(split[s].p, fused[s].p));
    }
    CHECK(fused[kBoundaries].H.empty());
  }
}

TEST_CASE("A7: an all-zero token with rms_eps = norm_eps = 1e-20 gives zeros, never NaN or inf",
          "[numerics][A7]") {
  // Y and H_prev zero at token 1: H = 0, D = Q = 0 (every mix 0 whatever rsqrt(1e-20) is), u = 0,
  // and the norm 0 * rsqrt(0 + 1e-20) * w = 0. The other tokens are untouched.
  const Dims d{3, 4, 24};
  Consts k = odd_consts();
  k.rms_eps = k.norm_eps = 1e-20f;
  for (uint32_t flags : {0u, kNorm, kShifted, kShifted | kNorm}) {
    INFO("flags " << flags);
    auto Y = random_bf16(d.T * d.C);
    State prev = random_state(d);
    for (int64_t x = 0; x < d.C; ++x) Y[d.C + x] = 0;
    for (int64_t x = 0; x < d.K(); ++x) prev.H[d.K() + x] = 0;
    const Site s = random_site(d);
    const Out o = run_boundary(d, k, flags, Y, prev, s);
    CHECK(all_finite(o));
    for (int64_t x = 0; x < d.C; ++x) CHECK(oracle::from_bf16(o.x[d.C + x]) == 0.0);
    for (int64_t x = 0; x < d.K(); ++x) CHECK(oracle::from_bf16(o.H[d.K() + x]) == 0.0);
    check(o, ref_boundary(d, k, flags, Y, prev, s));
    // The zero token's coefficients are those of base alone (all mixes 0).
    const std::vector<double> zeros(d.N(), 0.0);
    const oracle::Coeffs c = oracle::coeffs({d.n, d.C, k.rms_eps, k.pre_eps, k.sinkhorn_eps, k.post_mult, k.repeat},
                                            zeros.data(), 0.0, s.scale.data(), s.base.data());
    for (int i = 0; i < d.n; ++i) CHECK(std::fabs(o.p[d.n + i] - c.pre[i]) <= 1e-6 * c.pre[i]);
    for (int i = 0; i < d.n; ++i) CHECK(std::fabs(o.q[d.n + i] - c.post[i]) <= 1e-6 * c.post[i]);
  }
}
