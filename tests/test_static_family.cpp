// Static H, all three ops on the host reference: n = 1 by hand and random inputs against the
// fp64 oracle for n up to 32, fp32 and bf16 activations.
#include "static_harness.hpp"

using namespace mhc_test;

TEST_CASE("B: n = 1 by hand (B1, B2, B3, rms)", "[numerics][B]") {
  for (mhc_dtype_t dt : kDtypes) {
    INFO("act dtype " << dt);
    Layer L(1, 1, 2, dt);
    L.x.set(0, 6.0), L.x.set(1, 8.0);
    L.w = {oracle::to_bf16(1.0), oracle::to_bf16(2.0)};
    L.h_pre = {0.0f};    // s_pre = 0.5: y = [3, 4]
    L.h_post = {0.0f};   // s_post = 1
    L.h_res = {2.0f};    // exp(2) = 7.4 > eps: M = [[1]]
    L.eps = 3.5f;        // mean(y^2) + eps = 12.5 + 3.5 = 16: rms = 0.25, yn = [0.75, 2]
    std::vector<float> rms;
    const Act y = run_b1(L, &rms);
    CHECK(y.get(0) == 0.75);
    CHECK(y.get(1) == 2.0);
    CHECK(rms[0] == 0.25f);
    const Act out3 = run_b3(L);  // x + yn
    CHECK(out3.get(0) == 6.75);
    CHECK(out3.get(1) == 10.0);
    Act F(dt, 2);
    F.set(0, 1.0), F.set(1, -1.0);
    const Act out2 = run_b2(L, F);  // x + F
    CHECK(out2.get(0) == 7.0);
    CHECK(out2.get(1) == 7.0);
  }
}

TEST_CASE("B: random inputs against the fp64 oracle (n = 1..32, fp32 and bf16)", "[numerics][B]") {
  struct Case {
    int64_t B;
    int n;
    int64_t C;
  };
  const Case cases[] = {{1, 1, 24}, {3, 4, 24}, {2, 4, 7}, {2, 17, 24}, {1, 32, 33}, {2, 31, 5}};
  for (mhc_dtype_t dt : kDtypes)
    for (const Case& cs : cases) {
      INFO("act dtype " << dt << " B " << cs.B << " n " << cs.n << " C " << cs.C);
      const Layer L(cs.B, cs.n, cs.C, dt);
      std::vector<float> rms;
      std::vector<double> rms_ref;
      const Act y = run_b1(L, &rms);
      const auto yref = ref_b1(L, &rms_ref);
      check_act(y, yref);
      CHECK(oracle::max_rel_err(rms, rms_ref) <= 1e-6);
      const Act F = Act::random(dt, cs.B * cs.C);
      check_act(run_b2(L, F), ref_b2(L, F.values()));
      check_act(run_b3(L), ref_b3(L));
    }
}
