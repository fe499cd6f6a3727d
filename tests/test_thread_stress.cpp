// Thread stress, bounded in time: many threads at once select, run, query and destroy plans of
// their own, share plans for runs (full T and a smaller run-time T), and fail calls on purpose.
// The shared shapes are large enough that every host run splits its tokens over the library's
// worker threads (src/host parallel_for: T * work-per-token >= 4e6), so callers' threads and
// worker threads run together. Every output must equal the single-threaded reference bit for
// bit. Built for the ThreadSanitizer job of scripts/sanitize.sh; runs in every build.
// (Catch2 assertions are not thread-safe: threads count, the main thread checks.)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include "op_buffers.hpp"

using namespace mhc_test;

namespace {

constexpr int kThreads = 8;
constexpr auto kDuration = std::chrono::milliseconds(2500);
constexpr int kMinIterations = 6;  // per thread, whatever the clock says (slow sanitizer builds)

struct Shape {
  const char* name;
  mhc_op_t op;
  int64_t T;
  int32_t n;
  int64_t C;
  mhc_dtype_t act;
  double work_per_token;  // what the host SKU passes to parallel_for
  bool token_rows = true;  // every output has T rows (a shorter run writes the first ones); not so
                           // for a backward op's weight gradients (sums over the run's tokens)
};

// T * work_per_token >= 4e6 for each: two or more workers on a machine with two or more cores.
const std::vector<Shape>& big_shapes() {
  static const std::vector<Shape> v = {
      {"pre", MHC_OP_PRE, 32, 8, 256, MHC_DTYPE_BF16, 2048.0 * (80 + 1)},
      {"post", MHC_OP_POST, 256, 8, 256, MHC_DTYPE_BF16, 2048.0 * 8},
      {"static_post fp32", MHC_OP_STATIC_POST, 128, 16, 128, MHC_DTYPE_FP32, 2048.0 * 16},
      {"static_layer bf16", MHC_OP_STATIC_LAYER, 128, 16, 128, MHC_DTYPE_BF16, 2048.0 * 17},
      // dR over the tokens, then the rows of dfn over the workers (each summed in ascending t)
      {"pre_backward", MHC_OP_PRE_BACKWARD, 32, 8, 256, MHC_DTYPE_BF16, 2048.0 * (80 + 2), false},
      // dx over the rows, then the rows of dM over the workers (each summed in ascending b)
      {"static_layer_backward fp32", MHC_OP_STATIC_LAYER_BACKWARD, 128, 16, 128, MHC_DTYPE_FP32, 2048.0 * 36, false},
  };
  return v;
}

mhc_desc_t shape_desc(const Shape& s) {
  mhc_desc_t d = make_desc(s.op, s.T, s.n, s.C);
  d.act_dtype = s.act;
  return d;
}

// A plan's case and its single-threaded outputs.
struct Reference {
  mhc_desc_t desc;   // as passed to select
  mhc_plan_t plan;   // shared by every thread
  OpCase inputs;     // outputs poisoned
  std::vector<std::vector<uint32_t>> out;
};

Reference make_reference(const mhc_desc_t& d) {
  const mhc_preference_t pref = host_only();
  Reference r{d, nullptr, {}, {}};
  REQUIRE_OK(mhc_plan_select(&d, &pref, &r.plan));
  r.inputs = make_case(plan_desc(r.plan));
  const mhc_args_t a = r.inputs.args();
  REQUIRE_OK(mhc_plan_run(r.plan, nullptr, nullptr, 0, &a));
  for (Tensor& t : r.inputs.tensors)
    if (t.output) REQUIRE(OpCase::poisoned_elements(t) == 0);
  r.out = r.inputs.snapshot_outputs();
  r.inputs.poison_outputs();
  return r;
}

// Threads of this process now (Linux), or 0 where /proc is not there.
int thread_count() {
  std::ifstream f("/proc/self/status");
  std::string key;
  while (f >> key) {
    if (key == "Threads:") {
      int n = 0;
      f >> n;
      return n;
    }
    std::getline(f, key);
  }
  return 0;
}

struct Counters {
  int iterations = 0;
  int failures = 0;       // a call that should succeed did not
  int mismatches = 0;     // outputs differ from the reference
  int wrong_errors = 0;   // a failing call with the wrong status or message
  int selects = 0, shared_runs = 0, short_runs = 0, small_runs = 0, queries = 0;
};

// The expected storage after a run with `tokens` rows of a [T, ...] output: the reference's first
// rows, the poison (as `poisoned`) after them.
std::vector<std::vector<uint32_t>> expected_short(const Reference& r, const std::vector<std::vector<uint32_t>>& poisoned,
                                                  int64_t tokens) {
  std::vector<std::vector<uint32_t>> want = poisoned;
  size_t k = 0;
  for (const Tensor& t : r.inputs.tensors) {
    if (!t.output) continue;
    const size_t bytes = t.bytes() / static_cast<size_t>(r.desc.tokens) * static_cast<size_t>(tokens);
    std::memcpy(want[k].data(), r.out[k].data(), bytes);
    ++k;
  }
  return want;
}

}  // namespace

TEST_CASE("thread stress: select, run, query and destroy from many threads, shared plans", "[threads][stress]") {
  // Shared plans: the big shapes (worker threads) and every op variant at a small T (inline).
  std::vector<Reference> big, small;
  for (const Shape& s : big_shapes()) {
    INFO(s.name);
    REQUIRE(static_cast<double>(s.T) * s.work_per_token >= 4e6);
    big.push_back(make_reference(shape_desc(s)));
  }
  for (const OpVariant& v : all_variants()) small.push_back(make_reference(v.desc(3)));

  const unsigned hw = std::thread::hardware_concurrency();
  std::atomic<bool> go{false}, stop_monitor{false};
  std::atomic<int> max_threads{0};
  std::vector<Counters> counters(kThreads);

  // Samples the process's thread count: above callers + main + monitor means workers ran.
  std::thread monitor([&] {
    while (!go.load()) std::this_thread::yield();
    while (!stop_monitor.load()) {
      const int n = thread_count();
      int seen = max_threads.load();
      while (n > seen && !max_threads.compare_exchange_weak(seen, n)) {
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });

  std::vector<std::thread> pool;
  for (int t = 0; t < kThreads; ++t) {
    pool.emplace_back([&, t] {
      Counters& c = counters[t];
      // This thread's own buffers: the same inputs as the references.
      std::vector<OpCase> mine_big, mine_small;
      for (const Reference& r : big) mine_big.push_back(r.inputs);
      for (const Reference& r : small) mine_small.push_back(r.inputs);
      const mhc_preference_t pref = host_only();
      while (!go.load()) std::this_thread::yield();
      const auto deadline = std::chrono::steady_clock::now() + kDuration;

      for (int it = 0; it < kMinIterations || std::chrono::steady_clock::now() < deadline; ++it) {
        ++c.iterations;
        const size_t b = static_cast<size_t>(t + it) % big.size();
        const size_t s = static_cast<size_t>(t * 7 + it) % small.size();
        switch ((t + it) % 5) {
          case 0: {  // the shared big plan, full T
            OpCase& m = mine_big[b];
            m.poison_outputs();
            const mhc_args_t a = m.args();
            if (mhc_plan_run(big[b].plan, nullptr, nullptr, 0, &a) != MHC_STATUS_SUCCESS) ++c.failures;
            if (m.snapshot_outputs() != big[b].out) ++c.mismatches;
            ++c.shared_runs;
            break;
          }
          case 1: {  // the shared big plan, a smaller run-time T: the first rows, nothing after them
            if (!big_shapes()[b].token_rows) break;
            OpCase& m = mine_big[b];
            m.poison_outputs();
            const auto poisoned = m.snapshot_outputs();
            mhc_args_t a = m.args();
            a.tokens = 1 + (big[b].desc.tokens - 1) * (it % 3 + 1) / 4;
            if (mhc_plan_run(big[b].plan, nullptr, nullptr, 0, &a) != MHC_STATUS_SUCCESS) ++c.failures;
            if (m.snapshot_outputs() != expected_short(big[b], poisoned, a.tokens)) ++c.mismatches;
            ++c.short_runs;
            break;
          }
          case 2: {  // a private plan of a big shape: select, run, destroy
            mhc_plan_t plan = nullptr;
            if (mhc_plan_select(&big[b].desc, &pref, &plan) != MHC_STATUS_SUCCESS) {
              ++c.failures;
              break;
            }
            ++c.selects;
            OpCase& m = mine_big[b];
            m.poison_outputs();
            const mhc_args_t a = m.args();
            if (mhc_plan_run(plan, nullptr, nullptr, 0, &a) != MHC_STATUS_SUCCESS) ++c.failures;
            if (m.snapshot_outputs() != big[b].out) ++c.mismatches;
            if (mhc_plan_destroy(plan) != MHC_STATUS_SUCCESS) ++c.failures;
            break;
          }
          case 3: {  // small plans of every op: private ones and the shared one, inline runs
            for (int k = 0; k < 3; ++k) {
              const size_t v = (s + static_cast<size_t>(k) * 5) % small.size();
              mhc_plan_t plan = nullptr;
              if (mhc_plan_select(&small[v].desc, &pref, &plan) != MHC_STATUS_SUCCESS) {
                ++c.failures;
                continue;
              }
              ++c.selects;
              OpCase& m = mine_small[v];
              for (mhc_plan_t p : {plan, small[v].plan}) {
                m.poison_outputs();
                const mhc_args_t a = m.args();
                if (mhc_plan_run(p, nullptr, nullptr, 0, &a) != MHC_STATUS_SUCCESS) ++c.failures;
                if (m.snapshot_outputs() != small[v].out) ++c.mismatches;
                ++c.small_runs;
              }
              if (mhc_plan_destroy(plan) != MHC_STATUS_SUCCESS) ++c.failures;
            }
            break;
          }
          case 4: {  // queries on a shared plan, then a failing run with this thread's message
            const Reference& r = big[b];
            mhc_desc_t got;
            got.struct_size = sizeof got;
            size_t ws = 1;
            int32_t count = 0;
            if (mhc_plan_get_desc(r.plan, &got) != MHC_STATUS_SUCCESS || got.tokens != r.desc.tokens) ++c.failures;
            if (mhc_plan_workspace_size(r.plan, &ws) != MHC_STATUS_SUCCESS || ws != 0) ++c.failures;
            if (mhc_plan_get_tensor_count(r.plan, &count) != MHC_STATUS_SUCCESS ||
                count != static_cast<int32_t>(r.inputs.tensors.size()))
              ++c.failures;
            for (int32_t i = 0; i < count; ++i) {
              mhc_tensor_info_t info;
              info.struct_size = sizeof info;
              if (mhc_plan_get_tensor_info(r.plan, i, &info) != MHC_STATUS_SUCCESS || info.shape[0] == 0) ++c.failures;
            }
            OpCase& m = mine_big[b];
            mhc_args_t a = m.args();
            if (mhc_plan_can_implement(r.plan, &a) != MHC_STATUS_SUCCESS) ++c.failures;
            const uint32_t mark = 1000u * static_cast<uint32_t>(t + 1) + static_cast<uint32_t>(it % 1000);
            a.reserved0 = mark;
            m.poison_outputs();
            const auto before = m.snapshot_outputs();
            if (mhc_plan_run(r.plan, nullptr, nullptr, 0, &a) != MHC_STATUS_BAD_PARAM_VALUE) ++c.wrong_errors;
            std::this_thread::yield();  // let other threads fail calls of their own
            if (last_error().find("args->reserved0 = " + std::to_string(mark)) == std::string::npos) ++c.wrong_errors;
            if (m.snapshot_outputs() != before) ++c.mismatches;  // a failing run writes nothing
            ++c.queries;
            break;
          }
        }
      }
    });
  }
  go.store(true);
  for (auto& th : pool) th.join();
  stop_monitor.store(true);
  monitor.join();

  for (int t = 0; t < kThreads; ++t) {
    const Counters& c = counters[t];
    INFO("thread " << t << ": " << c.iterations << " iterations, " << c.selects << " selects, " << c.shared_runs
                   << " shared runs, " << c.short_runs << " shorter runs, " << c.small_runs << " small runs, "
                   << c.queries << " query rounds");
    CHECK(c.iterations >= kMinIterations);
    CHECK(c.failures == 0);
    CHECK(c.mismatches == 0);
    CHECK(c.wrong_errors == 0);
  }
  // The premise of the test: the big runs really split over worker threads.
  if (hw >= 2 && thread_count() > 0) {
    INFO("hardware_concurrency " << hw << ", most threads seen " << max_threads.load() << " (callers " << kThreads
                                 << " + main + monitor)");
    CHECK(max_threads.load() > kThreads + 2);
  }
  for (Reference& r : big) REQUIRE_OK(mhc_plan_destroy(r.plan));
  for (Reference& r : small) REQUIRE_OK(mhc_plan_destroy(r.plan));
}
