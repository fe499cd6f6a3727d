// One plan run concurrently from several threads, each with its own buffers: every result equals
// the single-threaded run. Also the C++ mhc::Plan shared by threads, and the per-thread message.
// (Catch2 assertions are not thread-safe: threads record, the main thread checks.)
#include <atomic>
#include <thread>

#include "mhc/mhc.hpp"
#include "op_buffers.hpp"

using namespace mhc_test;

namespace {

constexpr int kThreads = 4;
constexpr int kIterations = 24;
constexpr int kInputSets = 3;

// Runs `body(thread_index)` on kThreads threads released together.
template <typename F>
void run_threads(F body) {
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < kThreads; ++t)
    pool.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      body(t);
    });
  go.store(true);
  for (auto& th : pool) th.join();
}

struct Reference {
  std::vector<OpCase> inputs;                           // one per input set, outputs filled
  std::vector<std::vector<std::vector<uint32_t>>> out;  // their outputs, single-threaded
};

Reference single_threaded(mhc_plan_t plan) {
  Reference r;
  for (int s = 0; s < kInputSets; ++s) {
    OpCase c = make_case(plan_desc(plan));
    const mhc_args_t a = c.args();
    REQUIRE_OK(mhc_plan_run(plan, nullptr, nullptr, 0, &a));
    for (Tensor& t : c.tensors)
      if (t.output) REQUIRE(OpCase::poisoned_elements(t) == 0);
    r.out.push_back(c.snapshot_outputs());
    r.inputs.push_back(std::move(c));
  }
  return r;
}

}  // namespace

TEST_CASE("threads: one host plan run concurrently equals the single-threaded run", "[threads]") {
  for (const OpVariant& v : all_variants()) {
    DYNAMIC_SECTION(v.name) {
      const mhc_desc_t d = v.desc(6);
      const mhc_preference_t pref = host_only();
      mhc_plan_t plan = nullptr;
      REQUIRE_OK(mhc_plan_select(&d, &pref, &plan));
      const Reference ref = single_threaded(plan);

      std::vector<int> failures(kThreads, 0), mismatches(kThreads, 0), runs(kThreads, 0);
      run_threads([&](int t) {
        std::vector<OpCase> mine = ref.inputs;  // this thread's own buffers
        for (int it = 0; it < kIterations; ++it) {
          const int s = (t + it) % kInputSets;
          mine[s].poison_outputs();
          const mhc_args_t a = mine[s].args();
          if (mhc_plan_run(plan, nullptr, nullptr, 0, &a) != MHC_STATUS_SUCCESS) ++failures[t];
          if (mine[s].snapshot_outputs() != ref.out[s]) ++mismatches[t];
          ++runs[t];
        }
      });
      for (int t = 0; t < kThreads; ++t) {
        INFO("thread " << t);
        CHECK(runs[t] == kIterations);
        CHECK(failures[t] == 0);
        CHECK(mismatches[t] == 0);
      }
      REQUIRE_OK(mhc_plan_destroy(plan));
    }
  }
}

TEST_CASE("threads: every plan query is safe to call concurrently", "[threads]") {
  const mhc_desc_t d = make_desc(MHC_OP_PRE, 4, 4, 72);
  const mhc_preference_t pref = host_only();
  mhc_plan_t plan = nullptr;
  REQUIRE_OK(mhc_plan_select(&d, &pref, &plan));
  OpCase shared_inputs = make_case(plan_desc(plan));
  std::vector<int> bad(kThreads, 0);
  run_threads([&](int t) {
    for (int it = 0; it < 200; ++it) {
      mhc_sku_t sku = 0;
      size_t ws = 1;
      mhc_precision_guarantee_t g;
      g.struct_size = sizeof g;
      mhc_desc_t got;
      got.struct_size = sizeof got;
      mhc_args_t a = shared_inputs.args();
      a.out_gemm = nullptr, a.out_sqrsum = nullptr;  // read-only use of the shared case
      a.out_post_mix = a.out_comb_mix = a.out_layer_input = nullptr;
      bad[t] += mhc_plan_get_sku(plan, &sku) != MHC_STATUS_SUCCESS || sku != MHC_SKU_HOST_PRE;
      bad[t] += mhc_plan_workspace_size(plan, &ws) != MHC_STATUS_SUCCESS || ws != 0;
      bad[t] += mhc_plan_get_precision_guarantee(plan, &g) != MHC_STATUS_SUCCESS;
      bad[t] += mhc_plan_get_desc(plan, &got) != MHC_STATUS_SUCCESS || got.num_splits != 5;
      bad[t] += mhc_plan_can_implement(plan, &a) != MHC_STATUS_BAD_PARAM_NULL_POINTER;
    }
  });
  for (int t = 0; t < kThreads; ++t) CHECK(bad[t] == 0);
  REQUIRE_OK(mhc_plan_destroy(plan));
}

TEST_CASE("threads: the last-error message is per thread", "[threads]") {
  std::vector<std::string> seen(kThreads);
  run_threads([&](int t) {
    for (int it = 0; it < 50; ++it) {
      const uint32_t version = 1000u + static_cast<uint32_t>(t);
      if (mhc_check_abi(version) != MHC_STATUS_BAD_PARAM_ABI_MISMATCH) return;
      std::this_thread::yield();
      seen[t] = last_error();
      if (seen[t].find("abi_version = " + std::to_string(version)) == std::string::npos) return;
    }
  });
  for (int t = 0; t < kThreads; ++t) {
    INFO("thread " << t << ": " << seen[t]);
    CHECK(seen[t].find("abi_version = " + std::to_string(1000 + t)) != std::string::npos);
  }
}

TEST_CASE("threads: a C++ mhc::Plan shared by threads", "[threads][cpp]") {
  const mhc::Plan plan(mhc::Desc(MHC_OP_STATIC_LAYER, 5, 3, 40), mhc::Preference().backends(MHC_BACKEND_HOST));
  const Reference ref = single_threaded(plan.get());
  std::vector<int> errors(kThreads, 0), mismatches(kThreads, 0);
  run_threads([&](int t) {
    std::vector<OpCase> mine = ref.inputs;
    for (int it = 0; it < kIterations; ++it) {
      const int s = (t + it) % kInputSets;
      mine[s].poison_outputs();
      try {
        plan.run(nullptr, mine[s].args());
        if (plan.sku() != MHC_SKU_HOST_STATIC_LAYER || plan.workspace_size() != 0) ++errors[t];
      } catch (const mhc::Error&) {
        ++errors[t];
      }
      if (mine[s].snapshot_outputs() != ref.out[s]) ++mismatches[t];
    }
    // A failure in one thread throws in that thread only, with its own message.
    mhc_args_t bad = mine[0].args();
    bad.reserved0 = static_cast<uint32_t>(t + 1);
    try {
      plan.run(nullptr, bad);
      ++errors[t];
    } catch (const mhc::Error& e) {
      const std::string what = e.what();
      if (e.status() != MHC_STATUS_BAD_PARAM_VALUE ||
          what.find("args->reserved0 = " + std::to_string(t + 1)) == std::string::npos)
        ++errors[t];
    }
  });
  for (int t = 0; t < kThreads; ++t) {
    INFO("thread " << t);
    CHECK(errors[t] == 0);
    CHECK(mismatches[t] == 0);
  }
}
