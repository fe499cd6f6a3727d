// The layer boundary ops (V4, V4.1 shifted, split critical/mix parts, first boundary, head) on the
// CUDA SKUs: against the fp64 host reference, bitwise against the ops they are composed of,
// repeated runs, rows independent of their position, graph replay, an all-zero padding row.
#include "dynamic_harness.hpp"

using namespace mhc_test;

namespace {

// Deliberately non-default constants: a miswired eps or scale shows.
mhc_desc_t bdesc(mhc_op_t op, int64_t T, int n, int64_t C, uint32_t flags, int S = 0) {
  mhc_desc_t d = make_desc(op, T, n, C);
  d.flags = flags;
  d.num_splits = S;
  d.rms_eps = 3e-6f, d.pre_eps = 2e-6f, d.sinkhorn_eps = 5e-6f, d.post_mult = 1.75f, d.sinkhorn_repeat = 13;
  d.norm_eps = 4e-6f, d.norm_scale = 1.25f;
  return d;
}

// One boundary problem's device tensors, with every output poisoned.
struct Boundary {
  int64_t T, C;
  int n;
  DeviceBuffer<uint16_t> Y, H_prev, E, w, H, out;
  DeviceBuffer<float> post, comb, pre, fn, scale, base, post_out, comb_out, pre_out;
  Boundary(int64_t T_, int n_, int64_t C_)
      : T(T_), C(C_), n(n_), Y(random_bf16(T * C)), H_prev(random_bf16(T * n * C)),
        E(random_bf16(T * C)), w(random_bf16(C, 0.5, 1.5)), H(T * n * C), out(T * C),
        post(random_f32(T * n, 0.05, 2.0)), comb(random_f32(T * n * n, 0.01, 1.0)), pre(random_f32(T * n, 0.05, 1.0)),
        fn(random_f32(int64_t{n} * (n + 2) * n * C, -std::sqrt(3.0 / (n * C)), std::sqrt(3.0 / (n * C)))),
        scale(random_f32(3, 0.5, 1.5)), base(random_f32(int64_t{n} * (n + 2))), post_out(T * n), comb_out(T * n * n),
        pre_out(T * n) {
    poison();
  }
  void poison() { H.poison(), out.poison(), post_out.poison(), comb_out.poison(), pre_out.poison(); }
  // Arguments of `op` over these buffers (each op reads and writes the fields its card names).
  mhc_args_t args(mhc_op_t op, uint32_t flags) const {
    mhc_args_t a;
    mhc_args_init(&a);
    const bool norm = flags & MHC_DESC_FLAG_NORM, shifted = flags & MHC_DESC_FLAG_SHIFTED;
    if (op != MHC_OP_BOUNDARY_MIX) a.norm_weight = norm ? w.get() : nullptr;
    if (op == MHC_OP_BOUNDARY || op == MHC_OP_BOUNDARY_COLLAPSE || op == MHC_OP_POST) {
      a.layer_output = Y.get(), a.residual = H_prev.get(), a.post_mix = post.get(), a.comb_mix = comb.get();
    }
    if (op == MHC_OP_BOUNDARY_MIX || op == MHC_OP_PRE) a.residual = H.get();
    if (op == MHC_OP_BOUNDARY_FIRST) a.embedding = E.get();
    if ((op == MHC_OP_BOUNDARY && shifted) || op == MHC_OP_BOUNDARY_COLLAPSE) a.pre_mix = pre.get();
    if (op != MHC_OP_BOUNDARY_COLLAPSE && op != MHC_OP_POST) a.fn = fn.get(), a.scale = scale.get(), a.base = base.get();
    if (op != MHC_OP_BOUNDARY_COLLAPSE && op != MHC_OP_POST)
      a.out_post_mix = post_out.get(), a.out_comb_mix = comb_out.get();
    if (op == MHC_OP_BOUNDARY || op == MHC_OP_BOUNDARY_MIX || op == MHC_OP_BOUNDARY_FIRST) a.out_pre_mix = pre_out.get();
    if (op != MHC_OP_BOUNDARY_MIX && op != MHC_OP_PRE) a.out_residual = H.get();
    if (op != MHC_OP_BOUNDARY_MIX && op != MHC_OP_POST) a.out_layer_input = out.get();
    if (op == MHC_OP_PRE) a.out_layer_input = out.get();
    return a;
  }
  struct Outs {
    std::vector<uint16_t> H, out;
    std::vector<float> post, comb, pre;
    bool operator==(const Outs& o) const {
      return H == o.H && out == o.out && same_bits(post, o.post) && same_bits(comb, o.comb) && same_bits(pre, o.pre);
    }
  };
  Outs outputs() const { return {H.download(), out.download(), post_out.download(), comb_out.download(), pre_out.download()}; }
  // A V4 boundary against POST then PRE: the new residual, the layer input, post and comb.
  friend void check_same_v4(const Outs& fused, const Outs& parts) {
    CHECK(fused.H == parts.H);
    CHECK(fused.out == parts.out);
    CHECK(same_bits(fused.post, parts.post));
    CHECK(same_bits(fused.comb, parts.comb));
  }
  static bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
  }
};

void run(mhc_op_t op, const Boundary& b, uint32_t flags, int S, cudaStream_t stream = nullptr, int64_t T = 0,
         mhc_sku_t forced = MHC_SKU_NONE) {
  mhc_desc_t d = bdesc(op, T ? T : b.T, b.n, b.C, flags, S);
  mhc_preference_t pref = cuda_only();
  pref.forced_sku = forced;
  PlanHolder plan;
  REQUIRE_OK(mhc_plan_select(&d, &pref, &plan.plan));
  const mhc_args_t a = b.args(op, flags);
  REQUIRE_OK(mhc_plan_run(plan.plan, stream, nullptr, 0, &a));
  CUDA_REQUIRE(cudaStreamSynchronize(stream));
}

const uint32_t kModes[] = {0u, MHC_DESC_FLAG_NORM, MHC_DESC_FLAG_SHIFTED, MHC_DESC_FLAG_SHIFTED | MHC_DESC_FLAG_NORM};

}  // namespace

TEST_CASE("Boundary ops against the host reference", "[cuda][boundary]") {
  uint64_t seed = 900;
  for (int n : {1, 2, 4, 8})
    for (int64_t C : {int64_t{72}, int64_t{13}, int64_t{4096}})
      for (int64_t T : {int64_t{1}, int64_t{16}, int64_t{65}})
        for (uint32_t f : kModes) {
          check_against_host(bdesc(MHC_OP_BOUNDARY, T, n, C, f), seed++);
          check_against_host(bdesc(MHC_OP_BOUNDARY_FIRST, T, n, C, f), seed++);
          if (!(f & MHC_DESC_FLAG_SHIFTED)) {
            check_against_host(bdesc(MHC_OP_BOUNDARY_COLLAPSE, T, n, C, f), seed++);
            check_against_host(bdesc(MHC_OP_BOUNDARY_COLLAPSE, T, n, C, f), seed++, MHC_SKU_NONE, 0, true);
          }
        }
  for (int64_t C : {int64_t{5120}, int64_t{7168}})
    for (int64_t T : {int64_t{1}, int64_t{16}, int64_t{1100}}) {
      check_against_host(bdesc(MHC_OP_BOUNDARY_MIX, T, 4, C, 0), seed++);
      for (uint32_t f : kModes) check_against_host(bdesc(MHC_OP_BOUNDARY, T, 4, C, f), seed++);
      check_against_host(bdesc(MHC_OP_BOUNDARY_COLLAPSE, T, 4, C, MHC_DESC_FLAG_NORM), seed++);
      check_against_host(bdesc(MHC_OP_BOUNDARY_FIRST, T, 4, C, MHC_DESC_FLAG_SHIFTED | MHC_DESC_FLAG_NORM), seed++);
    }
  for (mhc_dtype_t w : {MHC_DTYPE_FP32, MHC_DTYPE_TF32X3}) {
    mhc_desc_t d = bdesc(MHC_OP_BOUNDARY, 40, 4, 5120, MHC_DESC_FLAG_SHIFTED | MHC_DESC_FLAG_NORM);
    d.weight_precision = w;
    check_against_host(d, seed++);
  }
  // V4.1 constants: eps 1e-20 in the mix RMS and the norm; a batch-invariant plan.
  mhc_desc_t v41 = bdesc(MHC_OP_BOUNDARY, 300, 4, 5120, MHC_DESC_FLAG_SHIFTED | MHC_DESC_FLAG_NORM);
  v41.rms_eps = 1e-20f, v41.norm_eps = 1e-20f;
  check_against_host(v41, seed++, MHC_SKU_NONE, MHC_GUARANTEE_BATCH_INVARIANT);
}

TEST_CASE("Boundary ops equal the ops they are made of, bit for bit", "[cuda][boundary][bits]") {
  // S = 0: the default split rule (decode plans take the cluster pre, long ones the bf16 GEMM).
  for (auto [T, S] : {std::pair<int64_t, int>{3, 16}, {1100, 16}, {3, 0}, {64, 0}, {1100, 0}}) {
    INFO("T " << T << " S " << S);
    Boundary b(T, 4, 5120);
    // V4: POST then PRE.
    run(MHC_OP_BOUNDARY, b, 0, S);
    const Boundary::Outs fused = b.outputs();
    b.poison();
    run(MHC_OP_POST, b, 0, 0);
    run(MHC_OP_PRE, b, 0, S);
    Boundary::Outs parts = b.outputs();
    check_same_v4(fused, parts);
    // V4.1 shifted: COLLAPSE then MIX (the split a server runs on two streams).
    const uint32_t f = MHC_DESC_FLAG_SHIFTED | MHC_DESC_FLAG_NORM;
    b.poison();
    run(MHC_OP_BOUNDARY, b, f, S);
    const Boundary::Outs shifted = b.outputs();
    b.poison();
    run(MHC_OP_BOUNDARY_COLLAPSE, b, MHC_DESC_FLAG_NORM, 0);
    run(MHC_OP_BOUNDARY_MIX, b, 0, S);
    CHECK(shifted == b.outputs());
    // 30 repeats give the same bits.
    for (int r = 0; r < 30; ++r) {
      b.poison();
      run(MHC_OP_BOUNDARY, b, f, S);
      REQUIRE(shifted == b.outputs());
    }
  }
}

TEST_CASE("The boundary in one cluster launch: against the host, and the ops it is made of bit for bit",
          "[cuda][boundary][cluster]") {
  if (!have_sm90()) {
    WARN("the cluster boundary needs sm_90: not run");
    return;
  }
  uint64_t seed = 1900;
  for (int n : {1, 2, 4})
    for (int64_t C : {int64_t{128}, int64_t{4096}, int64_t{5120}, int64_t{7168}})
      for (int64_t T : {int64_t{1}, int64_t{9}, int64_t{64}})
        for (uint32_t f : kModes) {
          if (C == 128 && T == 64) continue;
          check_against_host(bdesc(MHC_OP_BOUNDARY, T, n, C, f), seed++, MHC_SKU_SM90_BOUNDARY_CLUSTER);
        }
  for (mhc_dtype_t w : {MHC_DTYPE_FP32, MHC_DTYPE_TF32X3}) {
    mhc_desc_t d = bdesc(MHC_OP_BOUNDARY, 5, 4, 5120, MHC_DESC_FLAG_SHIFTED | MHC_DESC_FLAG_NORM);
    d.weight_precision = w;
    check_against_host(d, seed++, MHC_SKU_SM90_BOUNDARY_CLUSTER);
  }
  // An explicit split count, a batch-invariant requirement, n = 8: refused.
  mhc_preference_t pref = cuda_only();
  pref.forced_sku = MHC_SKU_SM90_BOUNDARY_CLUSTER;
  for (const mhc_desc_t& bad : {bdesc(MHC_OP_BOUNDARY, 4, 4, 4096, 0, 16), bdesc(MHC_OP_BOUNDARY, 4, 8, 4096, 0)}) {
    PlanHolder p;
    CHECK(mhc_plan_select(&bad, &pref, &p.plan) == MHC_STATUS_NOT_SUPPORTED_SKU);
  }
  pref.required = MHC_GUARANTEE_BATCH_INVARIANT;
  const mhc_desc_t d = bdesc(MHC_OP_BOUNDARY, 4, 4, 4096, 0);
  PlanHolder bi;
  CHECK(mhc_plan_select(&d, &pref, &bi.plan) == MHC_STATUS_NOT_SUPPORTED_SKU);

  for (int64_t T : {int64_t{3}, int64_t{20}}) {
    INFO("T " << T);
    Boundary b(T, 4, 5120);
    // V4: POST then PRE on the same kernel, bit for bit (the norm's kernel is the other SKU's).
    run(MHC_OP_BOUNDARY, b, 0, 0, nullptr, 0, MHC_SKU_SM90_BOUNDARY_CLUSTER);
    const Boundary::Outs fused = b.outputs();
    b.poison();
    run(MHC_OP_POST, b, 0, 0);
    run(MHC_OP_PRE, b, 0, 0, nullptr, 0, MHC_SKU_SM90_PRE_CLUSTER);
    const Boundary::Outs parts = b.outputs();
    check_same_v4(fused, parts);
    // V4.1 shifted with the norm: the new residual and the layer input of the critical part.
    const uint32_t f = MHC_DESC_FLAG_SHIFTED | MHC_DESC_FLAG_NORM;
    b.poison();
    run(MHC_OP_BOUNDARY, b, f, 0, nullptr, 0, MHC_SKU_SM90_BOUNDARY_CLUSTER);
    const Boundary::Outs shifted = b.outputs();
    b.poison();
    run(MHC_OP_BOUNDARY_COLLAPSE, b, MHC_DESC_FLAG_NORM, 0);
    const Boundary::Outs collapse = b.outputs();
    CHECK(shifted.H == collapse.H);
    CHECK(shifted.out == collapse.out);
    // 30 repeats give the same bits.
    for (int r = 0; r < 30; ++r) {
      b.poison();
      run(MHC_OP_BOUNDARY, b, f, 0, nullptr, 0, MHC_SKU_SM90_BOUNDARY_CLUSTER);
      REQUIRE(shifted == b.outputs());
    }
  }
}

TEST_CASE("Boundary ops on small shapes (the sanitizers' subset)", "[cuda][sanitize]") {
  uint64_t seed = 1980;
  for (auto [n, C] : {std::pair<int, int64_t>{4, 1024}, {2, 72}})
    for (uint32_t f : kModes) {
      check_against_host(bdesc(MHC_OP_BOUNDARY, 5, n, C, f), seed++);
      check_against_host(bdesc(MHC_OP_BOUNDARY_FIRST, 5, n, C, f), seed++);
      if (!(f & MHC_DESC_FLAG_SHIFTED)) check_against_host(bdesc(MHC_OP_BOUNDARY_COLLAPSE, 5, n, C, f), seed++);
    }
  check_against_host(bdesc(MHC_OP_BOUNDARY_MIX, 5, 4, 1024, 0), seed++);
}

TEST_CASE("The boundary in one cluster launch on small shapes (the sanitizers' subset)", "[cuda][sanitize-cluster]") {
  if (!have_sm90()) {
    WARN("the cluster boundary needs sm_90: not run");
    return;
  }
  uint64_t seed = 1950;
  for (uint32_t f : kModes) check_against_host(bdesc(MHC_OP_BOUNDARY, 9, 4, 1024, f), seed++, MHC_SKU_SM90_BOUNDARY_CLUSTER);
}

TEST_CASE("Boundary rows do not depend on their position or the batch", "[cuda][boundary][invariance]") {
  // Token 0's inputs copied to rows 63, 64, 511, 512 and T-1: every output row equal to row 0's.
  const int64_t T = 700, C = 4096;
  const int n = 4;
  Boundary b(T, n, C);
  auto copy_row = [&](auto& buf, int64_t width) {
    auto h = buf.download();
    for (int64_t r : {int64_t{63}, int64_t{64}, int64_t{511}, int64_t{512}, T - 1})
      std::copy(h.begin(), h.begin() + width, h.begin() + r * width);
    buf.upload(h);
  };
  copy_row(b.Y, C), copy_row(b.H_prev, n * C), copy_row(b.post, n), copy_row(b.comb, n * n), copy_row(b.pre, n);
  for (uint32_t f : kModes) {
    INFO("flags " << f);
    b.poison();
    run(MHC_OP_BOUNDARY, b, f, 16);
    const Boundary::Outs o = b.outputs();
    for (int64_t r : {int64_t{63}, int64_t{64}, int64_t{511}, int64_t{512}, T - 1}) {
      CHECK(std::equal(o.out.begin(), o.out.begin() + C, o.out.begin() + r * C));
      CHECK(std::equal(o.H.begin(), o.H.begin() + n * C, o.H.begin() + r * n * C));
      CHECK(std::memcmp(o.comb.data(), o.comb.data() + r * n * n, n * n * sizeof(float)) == 0);
    }
    // The same tokens run alone (T = 1 plan) give row 0's bits.
    Boundary::Outs all = o;
    b.poison();
    run(MHC_OP_BOUNDARY, b, f, 16, nullptr, 1);
    const Boundary::Outs one = b.outputs();
    CHECK(std::equal(one.out.begin(), one.out.begin() + C, all.out.begin()));
    CHECK(std::memcmp(one.comb.data(), all.comb.data(), n * n * sizeof(float)) == 0);
  }
}

TEST_CASE("Boundary: graph replay equals the eager run; two streams at once", "[cuda][boundary][graph]") {
  const uint32_t f = MHC_DESC_FLAG_SHIFTED | MHC_DESC_FLAG_NORM;
  Boundary a(64, 4, 5120), b2(64, 4, 5120);
  run(MHC_OP_BOUNDARY, a, f, 0);
  const Boundary::Outs eager = a.outputs();
  a.poison();
  mhc_desc_t d = bdesc(MHC_OP_BOUNDARY, 64, 4, 5120, f);
  mhc_preference_t pref = cuda_only();
  PlanHolder plan;
  REQUIRE_OK(mhc_plan_select(&d, &pref, &plan.plan));
  cudaStream_t s1, s2;
  CUDA_REQUIRE(cudaStreamCreateWithFlags(&s1, cudaStreamNonBlocking));
  CUDA_REQUIRE(cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking));
  cudaGraph_t g;
  cudaGraphExec_t ge;
  const mhc_args_t args_a = a.args(MHC_OP_BOUNDARY, f);
  CUDA_REQUIRE(cudaStreamBeginCapture(s1, cudaStreamCaptureModeGlobal));
  REQUIRE_OK(mhc_plan_run(plan.plan, s1, nullptr, 0, &args_a));
  CUDA_REQUIRE(cudaStreamEndCapture(s1, &g));
  CUDA_REQUIRE(cudaGraphInstantiate(&ge, g, 0));
  // The graph on s1 and an eager run of a second problem on s2, concurrently (the plan's
  // scratch is per stream-safe: each run of one plan on two streams uses its own inputs).
  const mhc_args_t args_b = b2.args(MHC_OP_BOUNDARY, f);
  CUDA_REQUIRE(cudaGraphLaunch(ge, s1));
  PlanHolder plan2;
  REQUIRE_OK(mhc_plan_select(&d, &pref, &plan2.plan));
  REQUIRE_OK(mhc_plan_run(plan2.plan, s2, nullptr, 0, &args_b));
  CUDA_REQUIRE(cudaStreamSynchronize(s1));
  CUDA_REQUIRE(cudaStreamSynchronize(s2));
  CHECK(eager == a.outputs());
  const Boundary::Outs second = b2.outputs();
  b2.poison();
  run(MHC_OP_BOUNDARY, b2, f, 0);
  CHECK(second == b2.outputs());
  cudaGraphExecDestroy(ge), cudaGraphDestroy(g), cudaStreamDestroy(s1), cudaStreamDestroy(s2);
}

TEST_CASE("Boundary: an all-zero padding row gives zeros with eps = 1e-20", "[cuda][boundary]") {
  const int64_t T = 4, C = 5120;
  const int n = 4;
  Boundary b(T, n, C);
  std::vector<uint16_t> y = b.Y.download(), h = b.H_prev.download();
  std::fill(y.begin() + 2 * C, y.begin() + 3 * C, uint16_t{0});
  std::fill(h.begin() + 2 * n * C, h.begin() + 3 * n * C, uint16_t{0});
  b.Y.upload(y), b.H_prev.upload(h);
  mhc_desc_t d = bdesc(MHC_OP_BOUNDARY, T, n, C, MHC_DESC_FLAG_SHIFTED | MHC_DESC_FLAG_NORM);
  d.rms_eps = 1e-20f, d.norm_eps = 1e-20f;
  mhc_preference_t pref = cuda_only();
  PlanHolder plan;
  REQUIRE_OK(mhc_plan_select(&d, &pref, &plan.plan));
  const mhc_args_t a = b.args(MHC_OP_BOUNDARY, d.flags);
  REQUIRE_OK(mhc_plan_run(plan.plan, nullptr, nullptr, 0, &a));
  CUDA_REQUIRE(cudaDeviceSynchronize());
  const Boundary::Outs o = b.outputs();
  for (int64_t x = 0; x < C; ++x) REQUIRE(o.out[2 * C + x] == 0);
  for (int64_t x = 0; x < n * C; ++x) REQUIRE(o.H[2 * n * C + x] == 0);
  for (int i = 0; i < n * n; ++i) REQUIRE(std::isfinite(o.comb[2 * n * n + i]));
  for (int i = 0; i < n; ++i) REQUIRE(std::isfinite(o.pre[2 * n + i]));
}

TEST_CASE("The new residual (post) is bit-identical to the fp64 reference", "[cuda][boundary][a4]") {
  // Random inputs: the post sums in fp64 in the reference's order and rounds once.
  uint64_t seed = 990;
  for (mhc_op_t op : {MHC_OP_POST, MHC_OP_BOUNDARY_COLLAPSE})
    for (int n : {1, 4, 8})
      for (int64_t C : {int64_t{13}, int64_t{5120}}) {
        const CudaAndHost r = run_cuda_and_host(bdesc(op, 33, n, C, 0), seed++, MHC_SKU_NONE, 0, /*with_optional=*/true);
        for (size_t i = 0; i < r.data.specs.size(); ++i) {
          if (r.data.specs[i].role != mhc::Role::kOutput) continue;
          INFO(mhc::op_name(op) << " n " << n << " C " << C << " " << r.data.specs[i].name);
          CHECK(r.got[i] == r.data.host[i]);  // H and, from the exact carried pre, the collapse
        }
      }
}

TEST_CASE("Post and collapse keep the reference's bits on special values", "[cuda][boundary][a4][special]") {
  // Subnormal, inf and NaN inputs, and results that round outside bf16's normal range (zero,
  // tiny, huge), are where a kernel's own conversions (by integer operations, say) would part from
  // the reference's. Sprinkle such inputs, and the largest and smallest normals (their sums
  // overflow or underflow), over Y and H_prev; NaN matches NaN whatever its payload.
  const uint16_t specials[] = {0x0001, 0x8001, 0x7f80, 0xff80, 0x7fc0, 0x0000, 0x8000, 0x7f7f, 0x0080, 0xff7f};
  const auto inject = [&](OpData& data) {
    for (size_t i = 0; i < data.specs.size(); ++i) {
      if (data.specs[i].role != mhc::Role::kInput || data.specs[i].dtype != MHC_DTYPE_BF16) continue;
      auto& h = data.host[i];
      for (size_t e = 0; e * 2 < h.size(); e += 37) std::memcpy(&h[2 * e], &specials[(e / 37) % 10], 2);
    }
  };
  const auto is_nan = [](uint16_t v) { return (v & 0x7f80u) == 0x7f80u && (v & 0x7fu) != 0; };
  uint64_t seed = 1300;
  for (mhc_op_t op : {MHC_OP_POST, MHC_OP_BOUNDARY_COLLAPSE})
    for (int n : {4, 8}) {
      const CudaAndHost r =
          run_cuda_and_host(bdesc(op, 9, n, 5120, 0), seed++, MHC_SKU_NONE, 0, /*with_optional=*/true, 0, inject);
      for (size_t i = 0; i < r.data.specs.size(); ++i) {
        if (r.data.specs[i].role != mhc::Role::kOutput) continue;
        const std::vector<unsigned char>& got = r.got[i];
        const std::vector<unsigned char>& want = r.data.host[i];
        REQUIRE(got.size() == want.size());
        size_t bad = 0;
        for (size_t e = 0; e * 2 < got.size(); ++e) {
          uint16_t a, b;
          std::memcpy(&a, &got[2 * e], 2), std::memcpy(&b, &want[2 * e], 2);
          bad += a == b || (is_nan(a) && is_nan(b)) ? 0 : 1;
        }
        INFO(mhc::op_name(op) << " n " << n << " " << r.data.specs[i].name);
        CHECK(bad == 0);
      }
    }
}
