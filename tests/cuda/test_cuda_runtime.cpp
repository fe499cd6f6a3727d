// What every CUDA plan promises beyond numerics: run-to-run bit identity, batch invariance where
// declared, CUDA-graph capture and replay, one plan on two streams from two threads.

#include "dynamic_harness.hpp"

using namespace mhc_test;

namespace {

struct Fixture {
  PlanHolder plan;
  OpData data;
  std::unique_ptr<RawDevice> dev;
  Fixture(mhc_desc_t d, mhc_guarantee_flags_t required = 0, uint64_t seed = 1) {
    mhc_preference_t pref = cuda_only();
    pref.required = required;
    REQUIRE_OK(mhc_plan_select(&d, &pref, &plan.plan));
    data = make_op_data(resolved_desc(plan.plan), seed);
    dev = std::make_unique<RawDevice>(data);
  }
  mhc_args_t args() const { return data.args(dev->ptrs); }
  std::vector<std::vector<unsigned char>> outputs() const {
    std::vector<std::vector<unsigned char>> o;
    for (size_t i = 0; i < data.specs.size(); ++i)
      if (data.specs[i].role == mhc::Role::kOutput) o.push_back(dev->download(i));
    return o;
  }
};

// Every op of the op list (a new card is covered without an edit here).
std::vector<mhc_op_t> all_ops() {
  std::vector<mhc_op_t> ops;
  for (const mhc::OpCard* c : mhc::op_cards()) ops.push_back(c->id);
  return ops;
}

bool has_cuda_sku(mhc_op_t op) {
  mhc_desc_t d = make_desc(op, 3, 4, 64);
  mhc_preference_t pref = cuda_only();
  mhc_plan_t p = nullptr;
  const bool ok = mhc_plan_select(&d, &pref, &p) == MHC_STATUS_SUCCESS;
  mhc_plan_destroy(p);
  return ok;
}

}  // namespace

TEST_CASE("every CUDA plan is deterministic and declares it", "[cuda][determinism]") {
  for (mhc_op_t op : all_ops()) {
    if (!has_cuda_sku(op)) continue;
    Fixture f(make_desc(op, 77, 4, 1280));
    const mhc_args_t a = f.args();
    f.dev->poison_outputs(f.data);
    REQUIRE_OK(mhc_plan_run(f.plan.plan, nullptr, nullptr, 0, &a));
    CUDA_REQUIRE(cudaDeviceSynchronize());
    const auto first = f.outputs();
    // The first run against the host reference: identical runs of a kernel that writes nothing
    // would otherwise pass.
    {
      mhc_desc_t hd = resolved_desc(f.plan.plan);
      mhc_preference_t hp = host_only();
      PlanHolder host;
      REQUIRE_OK(mhc_plan_select(&hd, &hp, &host.plan));
      OpData ref = f.data;
      const mhc_args_t ha = ref.args(ref.host_ptrs());
      REQUIRE_OK(mhc_plan_run(host.plan, nullptr, nullptr, 0, &ha));
      size_t o = 0;
      for (size_t i = 0; i < ref.specs.size(); ++i) {
        if (ref.specs[i].role != mhc::Role::kOutput) continue;
        const Mismatch m = compare(ref.specs[i], first[o++].data(), ref.host[i].data(), fp32_tolerance(ref.problem),
                                   bf16_ulps(ref.problem, ref.specs[i]));
        INFO("op " << mhc::op_name(op) << " " << m.describe(ref.specs[i].name));
        CHECK(m.bad == 0);
      }
    }
    for (int rep = 0; rep < 3; ++rep) {
      f.dev->poison_outputs(f.data);
      REQUIRE_OK(mhc_plan_run(f.plan.plan, nullptr, nullptr, 0, &a));
      CUDA_REQUIRE(cudaDeviceSynchronize());
      INFO("op " << mhc::op_name(op));
      CHECK(f.outputs() == first);
    }
    mhc_precision_guarantee_t g;
    g.struct_size = sizeof g;
    REQUIRE_OK(mhc_plan_get_precision_guarantee(f.plan.plan, &g));
    CHECK((g.flags & MHC_GUARANTEE_DETERMINISTIC) != 0);
    CHECK((g.flags & MHC_GUARANTEE_NO_ATOMICS) != 0);
  }
}

TEST_CASE("batch-invariant pre: a token's rows do not depend on T", "[cuda][batch-invariant]") {
  for (mhc_op_t op : {MHC_OP_PRE, MHC_OP_HEAD, MHC_OP_PRENORM_GEMM}) {
    const int n = 4;
    const int64_t C = 4096, K = n * C, bigT = 300;
    Fixture big(make_desc(op, bigT, n, C), MHC_GUARANTEE_BATCH_INVARIANT, 11);
    mhc_desc_t small_desc = make_desc(op, 1, n, C);
    mhc_preference_t pref = cuda_only();
    pref.required = MHC_GUARANTEE_BATCH_INVARIANT;
    PlanHolder small;
    REQUIRE_OK(mhc_plan_select(&small_desc, &pref, &small.plan));
    CHECK(resolved_desc(small.plan).num_splits == resolved_desc(big.plan.plan).num_splits);
    const mhc_args_t a = big.args();
    REQUIRE_OK(mhc_plan_run(big.plan.plan, nullptr, nullptr, 0, &a));
    CUDA_REQUIRE(cudaDeviceSynchronize());
    const auto outs = big.outputs();
    for (int64_t t : {int64_t{0}, int64_t{123}, bigT - 1}) {
      // Run token t alone: every per-token tensor sliced at row t.
      mhc_args_t one = a;
      const auto& specs = big.data.specs;
      std::vector<void*> slice(specs.size());
      size_t out_index = 0;
      std::vector<std::pair<size_t, size_t>> out_rows;  // (spec, output ordinal)
      for (size_t i = 0; i < specs.size(); ++i) {
        const bool per_token = specs[i].name != std::string("args->fn") && specs[i].name != std::string("args->scale") &&
                               specs[i].name != std::string("args->base");
        const size_t row = specs[i].bytes() / bigT;
        slice[i] = per_token ? static_cast<char*>(big.dev->ptrs[i]) + t * row : big.dev->ptrs[i];
        if (specs[i].role == mhc::Role::kOutput) out_rows.push_back({i, out_index++});
      }
      (void)K;
      one = big.data.args(slice);
      // Write into a scratch copy so the big run's outputs stay intact.
      std::vector<void*> tmp;
      for (auto [i, o] : out_rows) {
        void* p = nullptr;
        CUDA_REQUIRE(cudaMalloc(&p, specs[i].bytes() / bigT));
        tmp.push_back(p);
        *reinterpret_cast<void**>(reinterpret_cast<char*>(&one) + specs[i].offset) = p;
      }
      REQUIRE_OK(mhc_plan_run(small.plan, nullptr, nullptr, 0, &one));
      CUDA_REQUIRE(cudaDeviceSynchronize());
      for (size_t k = 0; k < out_rows.size(); ++k) {
        const auto [i, o] = out_rows[k];
        const size_t row = specs[i].bytes() / bigT;
        std::vector<unsigned char> got(row);
        CUDA_REQUIRE(cudaMemcpy(got.data(), tmp[k], row, cudaMemcpyDeviceToHost));
        INFO("op " << mhc::op_name(op) << " token " << t << " " << specs[i].name);
        CHECK(std::memcmp(got.data(), outs[o].data() + t * row, row) == 0);
        cudaFree(tmp[k]);
      }
    }
  }
}

TEST_CASE("CUDA graph capture and replay of every plan", "[cuda][graph]") {
  for (mhc_op_t op : all_ops()) {
    if (!has_cuda_sku(op)) continue;
    for (int64_t T : {int64_t{1}, int64_t{700}}) {
      Fixture f(make_desc(op, T, 4, 4096), 0, 21);
      const mhc_args_t a = f.args();
      REQUIRE_OK(mhc_plan_run(f.plan.plan, nullptr, nullptr, 0, &a));
      CUDA_REQUIRE(cudaDeviceSynchronize());
      const auto eager = f.outputs();
      f.dev->poison_outputs(f.data);

      cudaStream_t s;
      CUDA_REQUIRE(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
      cudaGraph_t graph;
      cudaGraphExec_t exec;
      CUDA_REQUIRE(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
      const mhc_status_t st = mhc_plan_run(f.plan.plan, s, nullptr, 0, &a);
      CUDA_REQUIRE(cudaStreamEndCapture(s, &graph));
      REQUIRE_OK(st);
      CUDA_REQUIRE(cudaGraphInstantiate(&exec, graph, 0));
      for (int r = 0; r < 3; ++r) CUDA_REQUIRE(cudaGraphLaunch(exec, s));
      CUDA_REQUIRE(cudaStreamSynchronize(s));
      INFO("op " << mhc::op_name(op) << " T=" << T);
      CHECK(f.outputs() == eager);
      cudaGraphExecDestroy(exec);
      cudaGraphDestroy(graph);
      cudaStreamDestroy(s);
    }
  }
}

TEST_CASE("one plan, two threads, two streams, own workspaces", "[cuda][threads]") {
  for (mhc_op_t op : all_ops()) {
    if (!has_cuda_sku(op)) continue;
    mhc_desc_t d = make_desc(op, 130, 4, 1280);
    mhc_preference_t pref = cuda_only();
    PlanHolder plan;
    REQUIRE_OK(mhc_plan_select(&d, &pref, &plan.plan));
    size_t ws = 0;
    REQUIRE_OK(mhc_plan_workspace_size(plan.plan, &ws));
    const mhc_desc_t r = resolved_desc(plan.plan);
    OpData d0 = make_op_data(r, 31), d1 = make_op_data(r, 32);
    RawDevice v0(d0), v1(d1);
    // References from serial runs.
    std::vector<std::vector<unsigned char>> ref[2];
    for (int k = 0; k < 2; ++k) {
      RawDevice& v = k ? v1 : v0;
      const mhc_args_t a = (k ? d1 : d0).args(v.ptrs);
      REQUIRE_OK(mhc_plan_run(plan.plan, nullptr, nullptr, 0, &a));
      CUDA_REQUIRE(cudaDeviceSynchronize());
      for (size_t i = 0; i < d0.specs.size(); ++i)
        if (d0.specs[i].role == mhc::Role::kOutput) ref[k].push_back(v.download(i));
      v.poison_outputs(k ? d1 : d0);
    }
    const mhc_args_t a[2] = {d0.args(v0.ptrs), d1.args(v1.ptrs)};
    const auto status = run_on_two_threads(plan.plan, a, ws, 20);
    REQUIRE(status[0] == MHC_STATUS_SUCCESS);
    REQUIRE(status[1] == MHC_STATUS_SUCCESS);
    for (int k = 0; k < 2; ++k) {
      RawDevice& v = k ? v1 : v0;
      size_t o = 0;
      for (size_t i = 0; i < d0.specs.size(); ++i)
        if (d0.specs[i].role == mhc::Role::kOutput) {
          INFO("op " << mhc::op_name(op) << " thread " << k << " " << d0.specs[i].name);
          CHECK(v.download(i) == ref[k][o++]);
        }
    }
  }
}

TEST_CASE("CUDA plans reject host pointers", "[cuda][validation]") {
  Fixture f(make_desc(MHC_OP_POST, 4, 4, 64));
  std::vector<uint16_t> host_out(4 * 4 * 64, 0x7fa5);
  mhc_args_t a = f.args();
  a.out_residual = host_out.data();
  REQUIRE_STATUS(mhc_plan_run(f.plan.plan, nullptr, nullptr, 0, &a), MHC_STATUS_BAD_PARAM_MEMORY_SPACE,
                 "args->out_residual");
  for (uint16_t v : host_out) REQUIRE(v == 0x7fa5);
}
