// b3_static_layer_backward (B3') on the host reference: every gradient against exact derivatives
// (dual numbers) and finite differences of the fp64 forward, B3' = B2' then B1', a hand case, the
// accumulate bits, determinism.
#include "static_backward_oracle.hpp"

using namespace mhc_test;

namespace {

constexpr mhc_op_t kOp = MHC_OP_STATIC_LAYER_BACKWARD;

}  // namespace

TEST_CASE("B3': every gradient against exact derivatives and finite differences, n = 1..32", "[backward][B3]") {
  sbwd::check_every_shape(kOp, 2e-5);
}

TEST_CASE("B3': n = 1 by hand (the forward's hand case: out = x + yn)", "[backward][B3]") {
  // sbwd::hand_case: yn = [3/4, 2], s_post = 1, M = [[1]] (normalized). G = [1, 1/2]: dF = G, which
  // B1's hand case takes as dyn: dx = G + [11, 4] / 256; dh_pre = 98/512; dw = [3/4, 1/2];
  // dh_post = (G . yn) / 2; dh_res = 0.
  for (mhc_dtype_t dt : kDtypes) {
    INFO("act dtype " << dt);
    const sbwd::Out o = sbwd::run(sbwd::hand_case(kOp, dt));
    Act want(dt, 2);
    want.set(0, 1.0 + 11.0 / 256), want.set(1, 0.5 + 4.0 / 256);  // rounded once to act_dtype
    CHECK(o.dx.values() == want.values());
    CHECK(o.dh_pre[0] == 98.0f / 512);
    CHECK(o.dw == std::vector<float>{0.75f, 0.5f});
    CHECK(o.dh_post[0] == 0.875f);
    CHECK(o.dh_res[0] == 0.0f);
  }
}

TEST_CASE("B3' equals B2' then B1' (F = B1's layer_input, dyn = B2's dF)", "[backward][B3]") {
  // The chain rounds F and dF to fp32 in between (B3' does not): equal within that rounding.
  for (int n : {1, 4, 17, 32}) {
    INFO("n " << n);
    const sbwd::Case c = sbwd::make_case(kOp, 3, n, 12, MHC_DTYPE_FP32, 20);
    const sbwd::Out whole = sbwd::run(c);
    sbwd::Case post = sbwd::make_case(MHC_OP_STATIC_POST_BACKWARD, 3, n, 12, MHC_DTYPE_FP32, 20);
    post.L = c.L, post.G = c.G, post.F = run_b1(c.L);
    const sbwd::Out o2 = sbwd::run(post);
    sbwd::Case pre = sbwd::make_case(MHC_OP_STATIC_PRE_BACKWARD, 3, n, 12, MHC_DTYPE_FP32, 20);
    pre.L = c.L, pre.G = o2.dF;
    const sbwd::Out o1 = sbwd::run(pre);
    std::vector<double> dx = o2.dx.values();
    for (size_t k = 0; k < dx.size(); ++k) dx[k] += o1.dx.get(k);
    CHECK(bwd::rel_err(whole.dx.f, dx) <= 1e-5);
    CHECK(bwd::rel_err(whole.dh_post, bwd::values(o2.dh_post)) <= 1e-5);
    CHECK(bwd::rel_err(whole.dh_res, bwd::values(o2.dh_res)) <= 1e-5);
    CHECK(bwd::rel_err(whole.dh_pre, bwd::values(o1.dh_pre)) <= 1e-5);
    CHECK(bwd::rel_err(whole.dw, bwd::values(o1.dw)) <= 1e-5);
  }
}

TEST_CASE("B3': accumulate adds to the outputs' contents, overwrite ignores them", "[backward][B3][accumulate]") {
  sbwd::check_accumulate(kOp);
}

TEST_CASE("B3': deterministic across runs, concurrent callers and worker threads", "[backward][B3][determinism]") {
  sbwd::check_deterministic(kOp, MHC_DTYPE_BF16);
  sbwd::check_deterministic(kOp, MHC_DTYPE_FP32);
}
