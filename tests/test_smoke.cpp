#include "support.hpp"

using namespace mhc_test;

TEST_CASE("smoke: host pre runs and writes every output", "[smoke]") {
  const int64_t T = 3, C = 72;
  const int n = 4;
  mhc_desc_t d = make_desc(MHC_OP_PRE, T, n, C);
  mhc_preference_t pref = host_only();
  mhc_plan_t plan = nullptr;
  REQUIRE_OK(mhc_plan_select(&d, &pref, &plan));
  const int64_t K = n * C, N = n * (n + 2);
  auto R = random_bf16(T * K);
  auto fn = random_f32(N * K, -0.05, 0.05);
  auto scale = random_f32(3, 0.5, 1.5);
  auto base = random_f32(N);
  std::vector<float> post(T * n), comb(T * n * n);
  std::vector<uint16_t> li(T * C);
  poison(post), poison(comb), poison(li);
  mhc_args_t a;
  mhc_args_init(&a);
  a.residual = R.data(), a.fn = fn.data(), a.scale = scale.data(), a.base = base.data();
  a.out_post_mix = post.data(), a.out_comb_mix = comb.data(), a.out_layer_input = li.data();
  REQUIRE_OK(mhc_plan_run(plan, nullptr, nullptr, 0, &a));
  CHECK_FALSE(any_poison(post));
  CHECK_FALSE(any_poison(comb));
  CHECK_FALSE(any_poison(li));
  mhc_sku_t sku = 0;
  REQUIRE_OK(mhc_plan_get_sku(plan, &sku));
  CHECK(std::string(mhc_sku_name(sku)) == "host_fp64_pre");
  REQUIRE_OK(mhc_plan_destroy(plan));
}
