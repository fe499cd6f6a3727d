// Family A CUDA SKUs against the fp64 host reference (docs/numerics.md tolerances), on random inputs with
// outputs poisoned, over shapes that straddle every tile edge.
#include "dynamic_harness.hpp"

using namespace mhc_test;

namespace {

mhc_desc_t desc(mhc_op_t op, int64_t T, int n, int64_t C, int S = 0, mhc_dtype_t w = MHC_DTYPE_TF32) {
  mhc_desc_t d = make_desc(op, T, n, C);
  d.num_splits = S;
  d.weight_precision = w;
  return d;
}

const int64_t kSmallT[] = {1, 2, 3, 63, 64, 65};
const int64_t kSmallC[] = {8, 13, 72, 1280};
const int kN[] = {1, 2, 4, 8};

}  // namespace

TEST_CASE("A1 prenorm GEMM: every split count, both weight precisions", "[cuda][a1]") {
  uint64_t seed = 1;
  for (int n : kN)
    for (int64_t C : {int64_t{72}, int64_t{13}, int64_t{1280}, int64_t{7168}})
      for (int64_t T : {int64_t{1}, int64_t{3}, int64_t{64}, int64_t{65}})
        for (int S : {1, 2, 16, 32, 7}) {
          const int64_t G = (n * C + 63) / 64;
          if (S > G) continue;
          for (mhc_dtype_t w : {MHC_DTYPE_TF32, MHC_DTYPE_FP32}) {
            mhc_desc_t d = desc(MHC_OP_PRENORM_GEMM, T, n, C, S, w);
            check_against_host(d, seed++);
            d.flags = MHC_DESC_FLAG_SPLIT_PARTIALS;
            check_against_host(d, seed++);
          }
        }
}

TEST_CASE("A1 prenorm GEMM: many K blocks in one split (DeepGEMM #449)", "[cuda][a1]") {
  // S = 1 over K = 57344: 896 granules through one CTA's pipeline.
  check_against_host(desc(MHC_OP_PRENORM_GEMM, 137, 8, 7168, 1), 99);
  check_against_host(desc(MHC_OP_PRENORM_GEMM, 1000, 4, 7168, 1, MHC_DTYPE_FP32), 98);
  check_against_host(desc(MHC_OP_PRENORM_GEMM, 4097, 4, 4096, 0), 97);
}

TEST_CASE("A2 fused pre stage: reduced and split partials", "[cuda][a2]") {
  uint64_t seed = 100;
  for (int n : kN)
    for (int64_t C : kSmallC)
      for (int64_t T : kSmallT) {
        check_against_host(desc(MHC_OP_PRE_FUSE, T, n, C), seed++);
        mhc_desc_t d = desc(MHC_OP_PRE_FUSE, T, n, C, 3);
        d.flags = MHC_DESC_FLAG_SPLIT_PARTIALS;
        if ((n * C + 63) / 64 >= 3) check_against_host(d, seed++);
      }
  mhc_desc_t r1 = desc(MHC_OP_PRE_FUSE, 5, 4, 72);
  r1.sinkhorn_repeat = 1;
  check_against_host(r1, seed++);
}

TEST_CASE("A3 pre end to end: decode, prefill chunks, odd shapes", "[cuda][a3]") {
  uint64_t seed = 200;
  for (int n : kN)
    for (int64_t C : kSmallC)
      for (int64_t T : kSmallT) check_against_host(desc(MHC_OP_PRE, T, n, C), seed++);
  for (int64_t C : {int64_t{4096}, int64_t{7168}})
    for (int64_t T : {int64_t{1}, int64_t{64}, int64_t{1000}, int64_t{4097}})
      for (mhc_dtype_t w : {MHC_DTYPE_TF32, MHC_DTYPE_FP32}) check_against_host(desc(MHC_OP_PRE, T, 4, C, 0, w), seed++);
  check_against_host(desc(MHC_OP_PRE, 1000, 8, 7168, 0), seed++);
  for (int S : {1, 2, 7, 32}) check_against_host(desc(MHC_OP_PRE, 65, 4, 1280, S), seed++);
  check_against_host(desc(MHC_OP_PRE, 300, 4, 4096), seed++, MHC_SKU_NONE, 0, /*with_optional=*/true);
}

TEST_CASE("A3 equals A1 then A2 bit for bit (same S)", "[cuda][a3]") {
  for (int64_t T : {int64_t{1}, int64_t{65}, int64_t{700}}) {
    const int n = 4;
    const int64_t C = 4096;
    const int S = T <= 64 ? 32 : 16;
    mhc_desc_t d3 = desc(MHC_OP_PRE, T, n, C, S);
    OpData data = make_op_data(d3, 7 + T);
    RawDevice dev(data);
    PlanHolder p3, p1, p2;
    mhc_preference_t pref = cuda_only();
    REQUIRE_OK(mhc_plan_select(&d3, &pref, &p3.plan));
    const mhc_args_t a3 = data.args(dev.ptrs);
    REQUIRE_OK(mhc_plan_run(p3.plan, nullptr, nullptr, 0, &a3));

    const int64_t N = n * (n + 2);
    DeviceBuffer<float> D(S * T * N), Q(S * T), post(T * n), comb(T * n * n);
    DeviceBuffer<uint16_t> li(T * C);
    mhc_desc_t d1 = desc(MHC_OP_PRENORM_GEMM, T, n, C, S);
    d1.flags = MHC_DESC_FLAG_SPLIT_PARTIALS;
    REQUIRE_OK(mhc_plan_select(&d1, &pref, &p1.plan));
    mhc_args_t a1 = MHC_ARGS_INIT;
    a1.residual = a3.residual, a1.fn = a3.fn, a1.out_gemm = D.get(), a1.out_sqrsum = Q.get();
    REQUIRE_OK(mhc_plan_run(p1.plan, nullptr, nullptr, 0, &a1));
    mhc_desc_t d2 = desc(MHC_OP_PRE_FUSE, T, n, C, S);
    d2.flags = MHC_DESC_FLAG_SPLIT_PARTIALS;
    REQUIRE_OK(mhc_plan_select(&d2, &pref, &p2.plan));
    mhc_args_t a2 = MHC_ARGS_INIT;
    a2.gemm_out = D.get(), a2.sqrsum = Q.get(), a2.scale = a3.scale, a2.base = a3.base, a2.residual = a3.residual;
    a2.out_post_mix = post.get(), a2.out_comb_mix = comb.get(), a2.out_layer_input = li.get();
    REQUIRE_OK(mhc_plan_run(p2.plan, nullptr, nullptr, 0, &a2));
    CUDA_REQUIRE(cudaDeviceSynchronize());
    auto bytes_equal = [](const auto& a, const std::vector<unsigned char>& b) {
      return a.size() * sizeof(a[0]) == b.size() && std::memcmp(a.data(), b.data(), b.size()) == 0;
    };
    CHECK(bytes_equal(post.download(), dev.download(4)));
    CHECK(bytes_equal(comb.download(), dev.download(5)));
    CHECK(bytes_equal(li.download(), dev.download(6)));
  }
}

TEST_CASE("A4 post and A6 expand", "[cuda][a4]") {
  uint64_t seed = 300;
  for (int n : kN)
    for (int64_t C : kSmallC)
      for (int64_t T : kSmallT) {
        check_against_host(desc(MHC_OP_POST, T, n, C), seed++);
        check_against_host(desc(MHC_OP_EXPAND, T, n, C), seed++);
      }
  check_against_host(desc(MHC_OP_POST, 4097, 4, 7168), seed++);
  check_against_host(desc(MHC_OP_POST, 70000, 1, 8), seed++);  // more tokens than one grid.y
}

TEST_CASE("A5 head", "[cuda][a5]") {
  uint64_t seed = 400;
  for (int n : kN)
    for (int64_t C : kSmallC)
      for (int64_t T : {int64_t{1}, int64_t{64}, int64_t{65}}) check_against_host(desc(MHC_OP_HEAD, T, n, C), seed++);
  check_against_host(desc(MHC_OP_HEAD, 1000, 4, 7168, 0, MHC_DTYPE_FP32), seed++);
}

TEST_CASE("portable sm80 SKUs on this GPU", "[cuda][sm80]") {
  check_against_host(desc(MHC_OP_PRE, 65, 4, 1280), 500, MHC_SKU_SM80_PRE);
  check_against_host(desc(MHC_OP_HEAD, 65, 4, 1280), 501, MHC_SKU_SM80_HEAD);
  check_against_host(desc(MHC_OP_PRENORM_GEMM, 65, 4, 1280, 16), 502, MHC_SKU_SM80_PRENORM_GEMM);
}
