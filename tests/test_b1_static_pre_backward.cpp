// b1_static_pre_backward (B1') on the host reference: every gradient against exact derivatives
// (dual numbers) and finite differences of the fp64 forward, a hand case, the RMS norm's scale
// invariance, the accumulate bits, determinism.
#include "static_backward_oracle.hpp"

using namespace mhc_test;

namespace {

constexpr mhc_op_t kOp = MHC_OP_STATIC_PRE_BACKWARD;

}  // namespace

TEST_CASE("B1': every gradient against exact derivatives and finite differences, n = 1..32", "[backward][B1]") {
  sbwd::check_every_shape(kOp, 2e-5);
}

TEST_CASE("B1': n = 1 by hand (the forward's hand case, rms recomputed)", "[backward][B1]") {
  // sbwd::hand_case: y = [3, 4], rms = 1/4, w = [1, 2], dyn = [1, 1/2]. dw = dyn y rms = [3/4, 1/2];
  // S = sum dyn w y = 7; dy = rms w dyn - y rms^3 / C S = [11, 4] / 128; dx = s_pre dy;
  // dh_pre = (dy . x) s (1 - s) = 98/128 / 4.
  for (mhc_dtype_t dt : kDtypes) {
    INFO("act dtype " << dt);
    const sbwd::Out o = sbwd::run(sbwd::hand_case(kOp, dt));
    CHECK(o.dx.get(0) == 11.0 / 256);
    CHECK(o.dx.get(1) == 4.0 / 256);
    CHECK(o.dh_pre[0] == 98.0f / 512);
    CHECK(o.dw == std::vector<float>{0.75f, 0.5f});
  }
}

TEST_CASE("B1': scaling every s_pre leaves the norm's output: sum_i dh_pre[i] / (1 - s_pre[i]) = 0",
          "[backward][B1]") {
  // yn(a y) = yn(y) as eps -> 0, so sum_i s_pre[i] ds_pre[i] = sum_x dy[x] y[x] = rms S eps /
  // (mean(y^2) + eps): 0 to ~1e-20 here, while each term is O(1).
  for (int n : {2, 4, 17, 32}) {
    INFO("n " << n);
    const sbwd::Case c = sbwd::make_case(kOp, 3, n, 10, MHC_DTYPE_FP32, 20, 1e-20f);
    const sbwd::Out o = sbwd::run(c);
    double s = 0.0, scale = 0.0;
    for (int i = 0; i < n; ++i) {
      const double sp = oracle::sigmoid(c.L.h_pre[i]);
      s += o.dh_pre[i] / (1.0 - sp);
      scale = std::max(scale, std::fabs(o.dh_pre[i] / (1.0 - sp)));
    }
    REQUIRE(scale > 1e-3);
    CHECK(std::fabs(s) <= 1e-6 * scale * n);
    // With a large eps the norm is not scale-invariant: the sum is far from 0.
    sbwd::Case big = c;
    big.L.eps = 4.0f;
    const sbwd::Out ob = sbwd::run(big);
    double sb = 0.0;
    for (int i = 0; i < n; ++i) sb += ob.dh_pre[i] / (1.0 - oracle::sigmoid(c.L.h_pre[i]));
    CHECK(std::fabs(sb) > 1e-3 * scale);
  }
}

TEST_CASE("B1': accumulate adds to the outputs' contents, overwrite ignores them", "[backward][B1][accumulate]") {
  sbwd::check_accumulate(kOp);
}

TEST_CASE("B1': deterministic across runs, concurrent callers and worker threads", "[backward][B1][determinism]") {
  sbwd::check_deterministic(kOp, MHC_DTYPE_FP32);
}
