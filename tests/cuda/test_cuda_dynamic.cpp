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
          for (mhc_dtype_t w : {MHC_DTYPE_TF32, MHC_DTYPE_FP32, MHC_DTYPE_TF32X3}) {
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

// A token's outputs do not depend on the run's other tokens: runs of 1 and 3 tokens starting at
// each of `starts`, cut out of a run of the whole plan (the residual and the named outputs sliced at
// that row), give the whole run's rows bit for bit.
void check_rows_alone(const mhc_desc_t& d, const mhc_preference_t& pref, uint64_t seed,
                      std::initializer_list<int64_t> starts, std::initializer_list<const char*> outputs) {
  OpData data = make_op_data(d, seed);
  RawDevice dev(data);
  PlanHolder plan;
  REQUIRE_OK(mhc_plan_select(&d, &pref, &plan.plan));
  const mhc_args_t all = data.args(dev.ptrs);
  REQUIRE_OK(mhc_plan_run(plan.plan, nullptr, nullptr, 0, &all));
  auto index_of = [&](const char* name) {
    for (size_t i = 0; i < data.specs.size(); ++i)
      if (data.specs[i].name == std::string(name)) return i;
    FAIL("no tensor " << name);
    return size_t{0};
  };
  const size_t ir = index_of("args->residual");
  std::vector<size_t> outs;
  std::vector<std::vector<unsigned char>> whole;
  for (const char* name : outputs) {
    outs.push_back(index_of(name));
    whole.push_back(dev.download(outs.back()));
  }
  const int64_t T = d.tokens;
  for (int64_t t : starts)
    for (int64_t tokens : {int64_t{1}, int64_t{3}}) {
      if (t + tokens > T) continue;
      mhc_args_t one = all;
      one.tokens = tokens;
      auto set_field = [&one](size_t offset, const void* ptr) {
        *reinterpret_cast<const void**>(reinterpret_cast<char*>(&one) + offset) = ptr;
      };
      set_field(data.specs[ir].offset, static_cast<const char*>(dev.ptrs[ir]) + t * (data.specs[ir].bytes() / T));
      std::vector<DeviceBuffer<unsigned char>> bufs;  // poisoned: all-ones bytes are NaNs in bf16 and fp32
      for (size_t o : outs) {
        const size_t bytes = tokens * (data.specs[o].bytes() / T);
        bufs.emplace_back(bytes);
        CUDA_REQUIRE(cudaMemset(bufs.back().get(), 0xff, bytes));
        set_field(data.specs[o].offset, bufs.back().get());
      }
      REQUIRE_OK(mhc_plan_run(plan.plan, nullptr, nullptr, 0, &one));
      for (size_t k = 0; k < outs.size(); ++k) {
        const size_t row = data.specs[outs[k]].bytes() / T;
        const auto got = bufs[k].download();
        INFO(data.specs[outs[k]].name << ": token " << t << ", run of " << tokens);
        CHECK(std::memcmp(got.data(), whole[k].data() + t * row, tokens * row) == 0);
      }
    }
}

TEST_CASE("A3 pre end to end: decode, prefill chunks, odd shapes", "[cuda][a3]") {
  uint64_t seed = 200;
  for (int n : kN)
    for (int64_t C : kSmallC)
      for (int64_t T : kSmallT) check_against_host(desc(MHC_OP_PRE, T, n, C), seed++);
  for (int64_t C : {int64_t{4096}, int64_t{7168}})
    for (int64_t T : {int64_t{1}, int64_t{64}, int64_t{1000}, int64_t{4097}})
      for (mhc_dtype_t w : {MHC_DTYPE_TF32, MHC_DTYPE_FP32, MHC_DTYPE_TF32X3})
        check_against_host(desc(MHC_OP_PRE, T, 4, C, 0, w), seed++);
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

// ---- the one-pass engine (sm_90) and the token-block fuse ----------------------------------

namespace {

// Runs `d` on the forced SKU and on `other` (same inputs) and REQUIREs byte-equal outputs.
void check_same_bits(const mhc_desc_t& d, mhc_sku_t a, mhc_sku_t b, uint64_t seed, bool with_optional = false) {
  const auto out_a = check_against_host(d, seed, a, 0, with_optional);
  const auto out_b = check_against_host(d, seed, b, 0, with_optional);
  REQUIRE(out_a.size() == out_b.size());
  for (size_t i = 0; i < out_a.size(); ++i) {
    INFO("output " << i << " of sku " << std::hex << a << " vs " << b);
    CHECK(out_a[i] == out_b[i]);
  }
}

}  // namespace

TEST_CASE("A3 one-pass: against the host, tile edges, both tiles, both weight precisions", "[cuda][a3][onepass]") {
  if (!have_sm90()) {
    WARN("the one-pass SKUs need sm_90: not run");
    return;
  }
  uint64_t seed = 600;
  for (mhc_sku_t sku : {MHC_SKU_SM90_PRE_ONEPASS, MHC_SKU_SM90_PRE_ONEPASS_TB16}) {
    for (int64_t T : {int64_t{1}, int64_t{15}, int64_t{16}, int64_t{17}, int64_t{63}, int64_t{64}, int64_t{65},
                      int64_t{300}, int64_t{2049}})
      for (int64_t C : {int64_t{4096}, int64_t{5120}, int64_t{7168}})
        check_against_host(desc(MHC_OP_PRE, T, 4, C), seed++, sku);
    for (int n : {1, 2, 3, 5, 8})
      for (int64_t C : {int64_t{8}, int64_t{72}, int64_t{1280}}) {
        // n = 8, C = 1280 at the default S = 16: an fn slot (80 mixes x 640) does not fit with
        // the fuse stage's shared memory; S = 32 halves it.
        const int S = n == 8 && C == 1280 ? 32 : 0;
        check_against_host(desc(MHC_OP_PRE, 70, n, C, S), seed++, sku);
      }
    check_against_host(desc(MHC_OP_PRE, 333, 4, 4096, 0, MHC_DTYPE_FP32), seed++, sku);
    check_against_host(desc(MHC_OP_PRE, 40, 2, 1280, 0, MHC_DTYPE_FP32), seed++, sku);
    // S = 1 would need the whole fn (24 x 5120 floats, 480 KiB) in one CTA's shared memory: the
    // SKU refuses it (tested below); S = 4 is the fewest splits whose slot fits.
    for (int S : {4, 7, 56}) check_against_host(desc(MHC_OP_PRE, 100, 4, 1280, S), seed++, sku);
    check_against_host(desc(MHC_OP_PRE, 300, 4, 4096), seed++, sku, 0, /*with_optional=*/true);
    check_against_host(desc(MHC_OP_PRE, 4100, 4, 4096), seed++, sku, MHC_GUARANTEE_BATCH_INVARIANT);
  }
}

TEST_CASE("A3 one-pass: unsupported shapes are refused, forcing selects it", "[cuda][a3][onepass]") {
  if (!have_sm90()) {
    WARN("the one-pass SKUs need sm_90: not run");
    return;
  }
  // C % 8 != 0 is not the one-pass kernel's: select goes on to the two-pass SKU.
  mhc_desc_t odd = desc(MHC_OP_PRE, 65, 4, 13);
  check_against_host(odd, 650);
  mhc_preference_t pref = cuda_only();
  pref.forced_sku = MHC_SKU_SM90_PRE_ONEPASS;
  PlanHolder p;
  CHECK(mhc_plan_select(&odd, &pref, &p.plan) == MHC_STATUS_NOT_SUPPORTED_SKU);
  // One split over K = 5120: the fn slot (480 KiB) cannot be staged in shared memory.
  mhc_desc_t whole = desc(MHC_OP_PRE, 100, 4, 1280, 1);
  PlanHolder w;
  CHECK(mhc_plan_select(&whole, &pref, &w.plan) == MHC_STATUS_NOT_SUPPORTED_SKU);
  mhc_desc_t d = desc(MHC_OP_PRE, 4096, 4, 7168);
  PlanHolder def;
  mhc_preference_t any = cuda_only();
  REQUIRE_OK(mhc_plan_select(&d, &any, &def.plan));
  mhc_sku_t sku = 0;
  REQUIRE_OK(mhc_plan_get_sku(def.plan, &sku));
  CHECK(sku == MHC_SKU_SM90_PRE_BF16);  // the one-pass SKUs are reached only when forced
  PlanHolder forced;
  REQUIRE_OK(mhc_plan_select(&d, &pref, &forced.plan));
  REQUIRE_OK(mhc_plan_get_sku(forced.plan, &sku));
  CHECK(sku == MHC_SKU_SM90_PRE_ONEPASS);
}

TEST_CASE("A1 and A5 one-pass against the host", "[cuda][a1][a5][onepass]") {
  if (!have_sm90()) {
    WARN("the one-pass SKUs need sm_90: not run");
    return;
  }
  uint64_t seed = 700;
  for (int64_t T : {int64_t{1}, int64_t{33}, int64_t{1000}})
    for (int n : {1, 4, 8})
      for (int S : {2, 16, 32})
        for (mhc_dtype_t w : {MHC_DTYPE_TF32, MHC_DTYPE_FP32, MHC_DTYPE_TF32X3}) {
          if (S > (n * 1280 + 63) / 64) continue;  // more splits than K granules
          mhc_desc_t d = desc(MHC_OP_PRENORM_GEMM, T, n, 1280, S, w);
          {  // an fn slot too large for shared memory is refused (and goes to the two-pass SKU)
            mhc_preference_t pref = cuda_only();
            pref.forced_sku = MHC_SKU_SM90_PRENORM_GEMM_ONEPASS;
            PlanHolder probe;
            if (mhc_plan_select(&d, &pref, &probe.plan) == MHC_STATUS_NOT_SUPPORTED_SKU) continue;
          }
          check_against_host(d, seed++, MHC_SKU_SM90_PRENORM_GEMM_ONEPASS);
          d.flags = MHC_DESC_FLAG_SPLIT_PARTIALS;
          check_against_host(d, seed++, MHC_SKU_SM90_PRENORM_GEMM_ONEPASS);
        }
  check_against_host(desc(MHC_OP_PRENORM_GEMM, 4097, 4, 7168, 16), seed++, MHC_SKU_SM90_PRENORM_GEMM_ONEPASS);
  for (int n : {1, 2, 4, 8})
    for (int64_t T : {int64_t{1}, int64_t{64}, int64_t{1000}})
      check_against_host(desc(MHC_OP_HEAD, T, n, 4096), seed++, MHC_SKU_SM90_HEAD_ONEPASS);
  check_against_host(desc(MHC_OP_HEAD, 300, 4, 7168, 0, MHC_DTYPE_FP32), seed++, MHC_SKU_SM90_HEAD_ONEPASS);
  check_against_host(desc(MHC_OP_HEAD, 300, 4, 4096, 0, MHC_DTYPE_TF32X3), seed++, MHC_SKU_SM90_HEAD_ONEPASS);
}

TEST_CASE("the token-block fuse equals the per-token fuse bit for bit", "[cuda][a2]") {
  uint64_t seed = 800;
  for (int n : kN)
    for (int64_t C : {int64_t{13}, int64_t{1280}, int64_t{7168}})
      for (int64_t T : {int64_t{1}, int64_t{9}, int64_t{300}}) {
        mhc_desc_t d = desc(MHC_OP_PRE_FUSE, T, n, C, 16);
        d.flags = MHC_DESC_FLAG_SPLIT_PARTIALS;
        if ((n * C + 63) / 64 < 16) d.num_splits = 1;
        check_same_bits(d, MHC_SKU_SM80_PRE_FUSE_TOKENS, MHC_SKU_SM80_PRE_FUSE, seed++);
      }
}

TEST_CASE("one-pass and two-pass engines give the same bits where their slots agree", "[cuda][onepass][bits]") {
  if (!have_sm90()) {
    WARN("the one-pass SKUs need sm_90: not run");
    return;
  }
  // Tokens as the MMA's M (one-pass) or its N (two-pass): each output element sums the same
  // products in the same k order, so the partials, and everything after them, agree.
  check_same_bits(desc(MHC_OP_PRE, 300, 4, 4096), MHC_SKU_SM90_PRE_ONEPASS, MHC_SKU_SM90_PRE, 900);
  check_same_bits(desc(MHC_OP_PRE, 1, 4, 7168), MHC_SKU_SM90_PRE_ONEPASS, MHC_SKU_SM90_PRE, 901);
  mhc_desc_t a1 = desc(MHC_OP_PRENORM_GEMM, 100, 4, 4096, 16, MHC_DTYPE_FP32);
  a1.flags = MHC_DESC_FLAG_SPLIT_PARTIALS;
  check_same_bits(a1, MHC_SKU_SM90_PRENORM_GEMM_ONEPASS, MHC_SKU_SM90_PRENORM_GEMM, 902);
  check_same_bits(desc(MHC_OP_HEAD, 77, 4, 7168), MHC_SKU_SM90_HEAD_ONEPASS, MHC_SKU_SM90_HEAD, 903);
}

TEST_CASE("the wide-token GEMM kernels give the narrow kernel's partials bit for bit", "[cuda][a1][wide]") {
  if (!have_sm90()) {
    WARN("the narrow-only SKU needs sm_90: not run");
    return;
  }
  // T = 1100: eight full 128-token CTAs and a partial one. K from one chunk (every warp of the
  // narrow kernel but the first empty) to 1024 chunks per slot; n = 8 fills five mix tiles;
  // C = 13 takes the scalar path (the register-pipelined wide kernel under both SKUs). The default
  // SKU runs the staged kernel on the vector path, the wide-registers SKU the earlier one.
  uint64_t seed = 1000;
  for (int n : {1, 2, 4, 5, 8})
    for (int64_t C : {int64_t{13}, int64_t{72}, int64_t{4096}})
      for (int S : {1, 7, 16})
        for (mhc_dtype_t w : {MHC_DTYPE_TF32, MHC_DTYPE_FP32, MHC_DTYPE_TF32X3}) {
          if (S > (n * C + 63) / 64 || (n * C > 8192 && w != MHC_DTYPE_TF32 && n != 4)) continue;
          mhc_desc_t d = desc(MHC_OP_PRENORM_GEMM, 1100, n, C, S, w);
          d.flags = MHC_DESC_FLAG_SPLIT_PARTIALS;
          check_same_bits(d, MHC_SKU_SM90_PRENORM_GEMM, MHC_SKU_SM90_PRENORM_GEMM_NARROW, seed++);
          check_same_bits(d, MHC_SKU_SM90_PRENORM_GEMM_WIDE_REGS, MHC_SKU_SM90_PRENORM_GEMM_NARROW, seed++);
        }
  // Reduced output and the pre (chunks of 4096 tokens, a short last chunk on the narrow kernel).
  check_same_bits(desc(MHC_OP_PRENORM_GEMM, 5000, 4, 7168, 16), MHC_SKU_SM90_PRENORM_GEMM,
                  MHC_SKU_SM90_PRENORM_GEMM_NARROW, seed++);
  check_against_host(desc(MHC_OP_PRE, 5000, 4, 7168), seed++);
  check_against_host(desc(MHC_OP_PRE, 4100, 4, 4096, 0, MHC_DTYPE_FP32), seed++);
}

TEST_CASE("the bf16 GEMM against the host: every n, CTA and slot edges, every weight precision", "[cuda][a1][a3][bf16]") {
  if (!have_sm90()) {
    WARN("the bf16 GEMM SKUs need sm_90: not run");
    return;
  }
  // Plans of 1024 tokens and more whose split count comes from T. T = 1100: eight full
  // 128-token CTAs and a partial one; n = 1..8 takes every mix-tile count (1, 1, 2, 3, 5, 6, 8,
  // 10); C = 72 gives slots of one or two chunks, C = 1288 slots that are not whole chunks.
  uint64_t seed = 1300;
  for (int n = 1; n <= 8; ++n)
    for (mhc_dtype_t w : {MHC_DTYPE_TF32, MHC_DTYPE_FP32, MHC_DTYPE_TF32X3}) {
      if (w == MHC_DTYPE_TF32X3 && n != 4) continue;
      check_against_host(desc(MHC_OP_PRE, 1100, n, 72, 0, w), seed++, MHC_SKU_SM90_PRE_BF16);
      check_against_host(desc(MHC_OP_PRENORM_GEMM, 1100, n, 72, 0, w), seed++, MHC_SKU_SM90_PRENORM_GEMM_BF16);
      if (n == 3 || n == 4 || n == 8)
        check_against_host(desc(MHC_OP_PRE, 1100, n, 1288, 0, w), seed++, MHC_SKU_SM90_PRE_BF16);
    }
  // Long runs: chunks of 4096 tokens and a short last chunk, all on the bf16 kernel; a run of the
  // plan shorter than 1024 tokens takes the tf32 kernels; C % 8 != 0 (K % 8 != 0) too.
  check_against_host(desc(MHC_OP_PRE, 5000, 4, 7168), seed++, MHC_SKU_SM90_PRE_BF16);
  check_against_host(desc(MHC_OP_PRE, 4100, 4, 4096, 0, MHC_DTYPE_FP32), seed++, MHC_SKU_SM90_PRE_BF16);
  check_against_host(desc(MHC_OP_PRE, 1024, 8, 7168), seed++, MHC_SKU_SM90_PRE_BF16);
  check_against_host(desc(MHC_OP_PRE, 1030, 4, 13), seed++, MHC_SKU_SM90_PRE_BF16);
  check_against_host(desc(MHC_OP_PRE, 2048, 4, 4096), seed++, MHC_SKU_SM90_PRE_BF16, 0, /*with_optional=*/true);
}

TEST_CASE("the bf16 GEMM: the plans it serves, and the same bits for a run however it is chunked", "[cuda][bf16]") {
  if (!have_sm90()) {
    WARN("the bf16 GEMM SKUs need sm_90: not run");
    return;
  }
  mhc_preference_t pref = cuda_only();
  pref.forced_sku = MHC_SKU_SM90_PRE_BF16;
  // An explicit split count (a batch-invariant plan) or a plan under 1024 tokens: refused when
  // forced, and the default is the tf32 SKU.
  for (const mhc_desc_t& d : {desc(MHC_OP_PRE, 4096, 4, 7168, 16), desc(MHC_OP_PRE, 1000, 4, 7168)}) {
    PlanHolder forced, def;
    CHECK(mhc_plan_select(&d, &pref, &forced.plan) == MHC_STATUS_NOT_SUPPORTED_SKU);
    mhc_preference_t any = cuda_only();
    REQUIRE_OK(mhc_plan_select(&d, &any, &def.plan));
    mhc_sku_t sku = 0;
    REQUIRE_OK(mhc_plan_get_sku(def.plan, &sku));
    CHECK(sku == MHC_SKU_SM90_PRE);
  }
  // A3 over 5000 tokens (chunks of 4096 and 904 tokens) saves D and Q as A1 computes them over
  // all 5000 in one launch, bit for bit (the same S from T; the 904-token chunk takes the bf16
  // kernel too, and both sum the partials in slot order).
  const mhc_desc_t d3 = desc(MHC_OP_PRE, 5000, 4, 7168);
  OpData data = make_op_data(d3, 1390, /*with_optional=*/true);
  RawDevice dev(data);
  PlanHolder p3, p1;
  REQUIRE_OK(mhc_plan_select(&d3, &pref, &p3.plan));
  const mhc_args_t a3 = data.args(dev.ptrs);
  REQUIRE_OK(mhc_plan_run(p3.plan, nullptr, nullptr, 0, &a3));
  const mhc_desc_t d1 = desc(MHC_OP_PRENORM_GEMM, 5000, 4, 7168);
  mhc_preference_t pref1 = cuda_only();
  pref1.forced_sku = MHC_SKU_SM90_PRENORM_GEMM_BF16;
  REQUIRE_OK(mhc_plan_select(&d1, &pref1, &p1.plan));
  DeviceBuffer<float> D(5000 * 24), Q(5000);
  mhc_args_t a1 = MHC_ARGS_INIT;
  a1.residual = a3.residual, a1.fn = a3.fn, a1.out_gemm = D.get(), a1.out_sqrsum = Q.get();
  REQUIRE_OK(mhc_plan_run(p1.plan, nullptr, nullptr, 0, &a1));
  CUDA_REQUIRE(cudaDeviceSynchronize());
  const std::vector<float> d_a1 = D.download(), q_a1 = Q.download();
  auto index_of = [&](const char* name) {
    for (size_t i = 0; i < data.specs.size(); ++i)
      if (std::string(data.specs[i].name) == name) return i;
    FAIL("no tensor " << name);
    return size_t{0};
  };
  const std::vector<unsigned char> d_a3 = dev.download(index_of("args->out_gemm"));
  const std::vector<unsigned char> q_a3 = dev.download(index_of("args->out_sqrsum"));
  REQUIRE(d_a3.size() == d_a1.size() * sizeof(float));
  REQUIRE(q_a3.size() == q_a1.size() * sizeof(float));
  CHECK(std::memcmp(d_a1.data(), d_a3.data(), d_a3.size()) == 0);
  CHECK(std::memcmp(q_a1.data(), q_a3.data(), q_a3.size()) == 0);

  // A row's result does not depend on its position in the run: token 0's residual copied to rows
  // at tile, CTA and chunk edges gives row 0's outputs there, bit for bit.
  const int64_t T = 4500, C = 1280, n = 4, K = n * C;
  const mhc_desc_t dp = desc(MHC_OP_PRE, T, n, C);
  OpData rows = make_op_data(dp, 1391);
  const size_t ir = [&] {
    for (size_t i = 0; i < rows.specs.size(); ++i)
      if (std::string(rows.specs[i].name) == "args->residual") return i;
    return size_t{0};
  }();
  const int64_t copies[] = {7, 8, 15, 16, 127, 128, 1100, 4095, 4096, T - 1};
  for (int64_t r : copies)
    std::memcpy(rows.host[ir].data() + r * K * 2, rows.host[ir].data(), static_cast<size_t>(K) * 2);
  RawDevice rdev(rows);
  PlanHolder pp;
  REQUIRE_OK(mhc_plan_select(&dp, &pref, &pp.plan));
  const mhc_args_t ap = rows.args(rdev.ptrs);
  REQUIRE_OK(mhc_plan_run(pp.plan, nullptr, nullptr, 0, &ap));
  CUDA_REQUIRE(cudaDeviceSynchronize());
  for (size_t i = 0; i < rows.specs.size(); ++i) {
    if (rows.specs[i].role != mhc::Role::kOutput) continue;
    const std::vector<unsigned char> out = rdev.download(i);
    const size_t row = out.size() / static_cast<size_t>(T);
    for (int64_t r : copies) {
      INFO(rows.specs[i].name << " row " << r);
      CHECK(std::memcmp(out.data(), out.data() + r * row, row) == 0);
    }
  }
}

TEST_CASE("the staged GEMM kernel on small shapes (the sanitizers' subset)", "[cuda][sanitize-staged]") {
  if (!have_sm90()) {
    WARN("the narrow-only SKU needs sm_90: not run");
    return;
  }
  // 1030 tokens (a partial last CTA), one slot of a few chunks and slots shorter than the ring,
  // tf32 and fp32 weights (the lo buffers), n = 4 and 8.
  uint64_t seed = 1200;
  for (int n : {4, 8})
    for (int S : {1, 3})
      for (mhc_dtype_t w : {MHC_DTYPE_TF32, MHC_DTYPE_FP32}) {
        mhc_desc_t d = desc(MHC_OP_PRENORM_GEMM, 1030, n, 72, S, w);
        d.flags = MHC_DESC_FLAG_SPLIT_PARTIALS;
        check_same_bits(d, MHC_SKU_SM90_PRENORM_GEMM, MHC_SKU_SM90_PRENORM_GEMM_NARROW, seed++);
      }
  check_against_host(desc(MHC_OP_PRE, 1030, 4, 1280), seed++);
}

TEST_CASE("the bf16 GEMM on small shapes (the sanitizers' subset)", "[cuda][sanitize-bf16]") {
  if (!have_sm90()) {
    WARN("the bf16 GEMM SKUs need sm_90: not run");
    return;
  }
  // 1030 tokens (a partial last CTA), slots of one or two chunks (C = 72) and slots that are not
  // whole chunks (C = 1288); tf32 weights (two fn terms) and fp32 (three); n = 4 and 8 (3 and 10
  // mix tiles, one and two CTAs per SM).
  uint64_t seed = 1400;
  for (int n : {4, 8})
    for (mhc_dtype_t w : {MHC_DTYPE_TF32, MHC_DTYPE_FP32})
      check_against_host(desc(MHC_OP_PRENORM_GEMM, 1030, n, 72, 0, w), seed++, MHC_SKU_SM90_PRENORM_GEMM_BF16);
  check_against_host(desc(MHC_OP_PRE, 1030, 4, 1288), seed++, MHC_SKU_SM90_PRE_BF16);
}

TEST_CASE("one-pass SKUs on small shapes (the sanitizers' subset)", "[cuda][sanitize-onepass]") {
  if (!have_sm90()) {
    WARN("the one-pass SKUs need sm_90: not run");
    return;
  }
  check_against_host(desc(MHC_OP_PRE, 70, 4, 1280), 950, MHC_SKU_SM90_PRE_ONEPASS);
  check_against_host(desc(MHC_OP_PRE, 33, 4, 4096), 951, MHC_SKU_SM90_PRE_ONEPASS_TB16);
  mhc_desc_t a1 = desc(MHC_OP_PRENORM_GEMM, 40, 4, 1280, 8);
  check_against_host(a1, 952, MHC_SKU_SM90_PRENORM_GEMM_ONEPASS);
  check_against_host(desc(MHC_OP_HEAD, 40, 4, 1280), 953, MHC_SKU_SM90_HEAD_ONEPASS);
  mhc_desc_t f = desc(MHC_OP_PRE_FUSE, 20, 4, 1280, 4);
  f.flags = MHC_DESC_FLAG_SPLIT_PARTIALS;
  check_against_host(f, 954, MHC_SKU_SM80_PRE_FUSE_TOKENS);
}

TEST_CASE("A5 cluster head against the host: n 1..4, block and slice edges, every weight precision",
          "[cuda][a5][cluster]") {
  if (!have_sm90()) {
    WARN("the cluster head needs sm_90: not run");
    return;
  }
  uint64_t seed = 1100;
  for (int n : {1, 2, 3, 4})
    for (int64_t C : {int64_t{1024}, int64_t{4096}, int64_t{7168}})
      for (int64_t T : {int64_t{1}, int64_t{7}, int64_t{8}, int64_t{9}, int64_t{300}})
        check_against_host(desc(MHC_OP_HEAD, T, n, C), seed++, MHC_SKU_SM90_HEAD_CLUSTER);
  for (mhc_dtype_t w : {MHC_DTYPE_FP32, MHC_DTYPE_TF32X3})
    check_against_host(desc(MHC_OP_HEAD, 300, 4, 7168, 0, w), seed++, MHC_SKU_SM90_HEAD_CLUSTER);
  // More blocks than resident clusters (the persistent loop and the ring's refills), the saved
  // D and Q (training), C = 5120 and 8192.
  check_against_host(desc(MHC_OP_HEAD, 4097, 4, 7168), seed++, MHC_SKU_SM90_HEAD_CLUSTER, 0, /*with_optional=*/true);
  check_against_host(desc(MHC_OP_HEAD, 1000, 4, 5120), seed++, MHC_SKU_SM90_HEAD_CLUSTER, 0, /*with_optional=*/true);
  check_against_host(desc(MHC_OP_HEAD, 333, 4, 8192), seed++, MHC_SKU_SM90_HEAD_CLUSTER);
}

TEST_CASE("A5 cluster head: refused shapes, repeated runs and rows alone bit for bit", "[cuda][a5][cluster]") {
  if (!have_sm90()) {
    WARN("the cluster head needs sm_90: not run");
    return;
  }
  mhc_preference_t pref = cuda_only();
  pref.forced_sku = MHC_SKU_SM90_HEAD_CLUSTER;
  for (auto [n, C] : {std::pair<int, int64_t>{8, 4096}, {4, 1280}, {4, 9216}}) {
    mhc_desc_t bad = desc(MHC_OP_HEAD, 16, n, C);
    PlanHolder p;
    CHECK(mhc_plan_select(&bad, &pref, &p.plan) == MHC_STATUS_NOT_SUPPORTED_SKU);
  }
  const auto a = check_against_host(desc(MHC_OP_HEAD, 777, 4, 7168), 1200, MHC_SKU_SM90_HEAD_CLUSTER);
  const auto b = check_against_host(desc(MHC_OP_HEAD, 777, 4, 7168), 1200, MHC_SKU_SM90_HEAD_CLUSTER);
  CHECK(a == b);

  check_rows_alone(desc(MHC_OP_HEAD, 300, 4, 4096), pref, 1201, {0, 7, 8, 150, 299}, {"args->out_layer_input"});
}

TEST_CASE("A5 selection: the cluster head for plans of >= 256 tokens unless batch invariance is required",
          "[cuda][a5][cluster]") {
  if (!have_sm90()) {
    WARN("the cluster head needs sm_90: not run");
    return;
  }
  struct Case {
    int64_t T, C;
    int n;
    mhc_guarantee_flags_t required;
    mhc_sku_t want;
  };
  const Case cases[] = {{255, 7168, 4, 0, MHC_SKU_SM90_HEAD},
                        {256, 7168, 4, 0, MHC_SKU_SM90_HEAD_CLUSTER},
                        {4096, 4096, 4, 0, MHC_SKU_SM90_HEAD_CLUSTER},
                        {4096, 7168, 4, MHC_GUARANTEE_BATCH_INVARIANT, MHC_SKU_SM90_HEAD},
                        {4096, 1280, 4, 0, MHC_SKU_SM90_HEAD},   // C not a multiple of 1024
                        {4096, 4096, 8, 0, MHC_SKU_SM90_HEAD}};  // n > 4
  for (const Case& c : cases) {
    mhc_desc_t d = desc(MHC_OP_HEAD, c.T, c.n, c.C);
    mhc_preference_t pref = cuda_only();
    pref.required = c.required;
    PlanHolder p;
    REQUIRE_OK(mhc_plan_select(&d, &pref, &p.plan));
    mhc_sku_t sku = MHC_SKU_NONE;
    REQUIRE_OK(mhc_plan_get_sku(p.plan, &sku));
    mhc_precision_guarantee_t g{};
    g.struct_size = sizeof g;
    REQUIRE_OK(mhc_plan_get_precision_guarantee(p.plan, &g));
    INFO("T=" << c.T << " C=" << c.C << " n=" << c.n << " required=" << c.required);
    CHECK(sku == c.want);
    CHECK(((g.flags & MHC_GUARANTEE_BATCH_INVARIANT) != 0) == (sku != MHC_SKU_SM90_HEAD_CLUSTER));
  }
  // Forcing it still serves any T, and a forced plan requiring batch invariance is refused.
  mhc_desc_t small = desc(MHC_OP_HEAD, 16, 4, 4096);
  mhc_preference_t pref = cuda_only();
  pref.forced_sku = MHC_SKU_SM90_HEAD_CLUSTER;
  PlanHolder forced;
  REQUIRE_OK(mhc_plan_select(&small, &pref, &forced.plan));
  pref.required = MHC_GUARANTEE_BATCH_INVARIANT;
  PlanHolder refused;
  CHECK(mhc_plan_select(&small, &pref, &refused.plan) == MHC_STATUS_NOT_SUPPORTED_SKU);
  // A default plan of 4096 tokens against the host, its optional outputs included.
  check_against_host(desc(MHC_OP_HEAD, 4096, 4, 7168), 1210, MHC_SKU_NONE, 0, /*with_optional=*/true);
}

TEST_CASE("A5 pipelined cluster head: the cluster head's bits, the host's values", "[cuda][a5][cluster]") {
  if (!have_sm90()) {
    WARN("the cluster head needs sm_90: not run");
    return;
  }
  // Every n; one block, a partial block, two blocks (the pipeline's first and last), more blocks
  // than resident clusters (the ring's refills and both exchange buffers many times); the saved
  // D and Q; tf32 and fp32 weights.
  uint64_t seed = 1250;
  for (int n : {1, 2, 3, 4})
    for (int64_t C : {int64_t{1024}, int64_t{7168}})
      for (int64_t T : {int64_t{1}, int64_t{7}, int64_t{16}, int64_t{300}, int64_t{4097}}) {
        if (T == 4097 && n < 4) continue;
        for (mhc_dtype_t w : {MHC_DTYPE_TF32, MHC_DTYPE_FP32}) {
          if (w == MHC_DTYPE_FP32 && T != 300) continue;
          INFO("T=" << T << " n=" << n << " C=" << C << " w=" << w);
          check_same_bits(desc(MHC_OP_HEAD, T, n, C, 0, w), MHC_SKU_SM90_HEAD_CLUSTER_PIPELINED, MHC_SKU_SM90_HEAD_CLUSTER,
                          seed++, /*with_optional=*/true);
        }
      }
}

TEST_CASE("A3 decode cluster pre against the host: n 1..4, every token count of a cluster, every weight precision",
          "[cuda][a3][cluster]") {
  if (!have_sm90()) {
    WARN("the cluster pre needs sm_90: not run");
    return;
  }
  uint64_t seed = 1400;
  for (int n : {1, 2, 3, 4})
    for (int64_t C : {int64_t{128}, int64_t{1280}, int64_t{4096}, int64_t{7168}})
      for (int64_t T : {int64_t{1}, int64_t{3}, int64_t{8}, int64_t{9}, int64_t{64}})
        check_against_host(desc(MHC_OP_PRE, T, n, C), seed++, MHC_SKU_SM90_PRE_CLUSTER);
  for (mhc_dtype_t w : {MHC_DTYPE_FP32, MHC_DTYPE_TF32X3})
    for (int64_t T : {int64_t{1}, int64_t{16}})
      check_against_host(desc(MHC_OP_PRE, T, 4, 7168, 0, w), seed++, MHC_SKU_SM90_PRE_CLUSTER);
  // The saved D and Q and the pre gates (training, the boundary); C = 5120 and 8192 (the largest
  // slice that fits); a forced plan of many clusters (more than are resident at once).
  check_against_host(desc(MHC_OP_PRE, 5, 4, 7168), seed++, MHC_SKU_SM90_PRE_CLUSTER, 0, /*with_optional=*/true);
  check_against_host(desc(MHC_OP_PRE, 16, 4, 5120), seed++, MHC_SKU_SM90_PRE_CLUSTER, 0, /*with_optional=*/true);
  check_against_host(desc(MHC_OP_PRE, 2, 4, 8192), seed++, MHC_SKU_SM90_PRE_CLUSTER);
  check_against_host(desc(MHC_OP_PRE, 1000, 4, 4096), seed++, MHC_SKU_SM90_PRE_CLUSTER);
  mhc_desc_t r1 = desc(MHC_OP_PRE, 4, 4, 1280);
  r1.sinkhorn_repeat = 1;
  check_against_host(r1, seed++, MHC_SKU_SM90_PRE_CLUSTER);
}

TEST_CASE("A3 decode cluster pre: refused shapes, repeated runs and rows alone bit for bit", "[cuda][a3][cluster]") {
  if (!have_sm90()) {
    WARN("the cluster pre needs sm_90: not run");
    return;
  }
  mhc_preference_t pref = cuda_only();
  pref.forced_sku = MHC_SKU_SM90_PRE_CLUSTER;
  for (auto [n, C] : {std::pair<int, int64_t>{8, 4096}, {4, 1000}, {4, 9216}, {2, 64}}) {
    mhc_desc_t bad = desc(MHC_OP_PRE, 16, n, C);
    PlanHolder p;
    INFO("n=" << n << " C=" << C);
    CHECK(mhc_plan_select(&bad, &pref, &p.plan) == MHC_STATUS_NOT_SUPPORTED_SKU);
  }
  mhc_desc_t split = desc(MHC_OP_PRE, 16, 4, 4096, 8);  // an explicit split count
  PlanHolder ps;
  CHECK(mhc_plan_select(&split, &pref, &ps.plan) == MHC_STATUS_NOT_SUPPORTED_SKU);
  const auto a = check_against_host(desc(MHC_OP_PRE, 37, 4, 7168), 1500, MHC_SKU_SM90_PRE_CLUSTER);
  const auto b = check_against_host(desc(MHC_OP_PRE, 37, 4, 7168), 1500, MHC_SKU_SM90_PRE_CLUSTER);
  CHECK(a == b);

  // At the edges of the 8-token cluster blocks.
  check_rows_alone(desc(MHC_OP_PRE, 64, 4, 4096), pref, 1501, {0, 7, 8, 30, 63},
                   {"args->out_layer_input", "args->out_post_mix", "args->out_comb_mix"});
}

TEST_CASE("A3 selection: the decode cluster pre only when forced; the plans it refuses", "[cuda][a3][cluster]") {
  if (!have_sm90()) {
    WARN("the cluster pre needs sm_90: not run");
    return;
  }
  // Until measured on a GPU, a default decode plan keeps the two-pass engine.
  mhc_desc_t decode = desc(MHC_OP_PRE, 1, 4, 7168);
  mhc_preference_t pref = cuda_only();
  PlanHolder p;
  REQUIRE_OK(mhc_plan_select(&decode, &pref, &p.plan));
  mhc_sku_t sku = MHC_SKU_NONE;
  REQUIRE_OK(mhc_plan_get_sku(p.plan, &sku));
  CHECK(sku == MHC_SKU_SM90_PRE);
  // Forced: no BATCH_INVARIANT in its guarantee, and a plan that requires it, or sets a split
  // count, is refused.
  pref.forced_sku = MHC_SKU_SM90_PRE_CLUSTER;
  PlanHolder forced;
  REQUIRE_OK(mhc_plan_select(&decode, &pref, &forced.plan));
  mhc_precision_guarantee_t g{};
  g.struct_size = sizeof g;
  REQUIRE_OK(mhc_plan_get_precision_guarantee(forced.plan, &g));
  CHECK((g.flags & MHC_GUARANTEE_BATCH_INVARIANT) == 0);
  CHECK((g.flags & MHC_GUARANTEE_DETERMINISTIC) != 0);
  mhc_desc_t split = desc(MHC_OP_PRE, 1, 4, 7168, 32);
  PlanHolder ps;
  CHECK(mhc_plan_select(&split, &pref, &ps.plan) == MHC_STATUS_NOT_SUPPORTED_SKU);
  pref.required = MHC_GUARANTEE_BATCH_INVARIANT;
  PlanHolder pbi;
  CHECK(mhc_plan_select(&decode, &pref, &pbi.plan) == MHC_STATUS_NOT_SUPPORTED_SKU);
}

TEST_CASE("the cluster head on small shapes (the sanitizers' subset)", "[cuda][sanitize-cluster]") {
  if (!have_sm90()) {
    WARN("the cluster head needs sm_90: not run");
    return;
  }
  check_against_host(desc(MHC_OP_HEAD, 19, 4, 1024), 1300, MHC_SKU_SM90_HEAD_CLUSTER, 0, /*with_optional=*/true);
  check_against_host(desc(MHC_OP_HEAD, 200, 2, 2048), 1301, MHC_SKU_SM90_HEAD_CLUSTER);
  check_against_host(desc(MHC_OP_HEAD, 200, 4, 1024), 1302, MHC_SKU_SM90_HEAD_CLUSTER_PIPELINED, 0, /*with_optional=*/true);
  check_against_host(desc(MHC_OP_PRE, 9, 4, 1024), 1303, MHC_SKU_SM90_PRE_CLUSTER, 0, /*with_optional=*/true);
  check_against_host(desc(MHC_OP_PRE, 3, 2, 2048), 1304, MHC_SKU_SM90_PRE_CLUSTER);
}
