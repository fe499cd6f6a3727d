// The lifecycle of every op on the host backend: select -> can_implement -> workspace_size ->
// run (many times, fresh random inputs, outputs poisoned before each run) -> sku /
// precision_guarantee / get_desc -> destroy.
#include <algorithm>

#include "op_buffers.hpp"

using namespace mhc_test;

namespace {

constexpr mhc_guarantee_flags_t kHostFlags =
    MHC_GUARANTEE_DETERMINISTIC | MHC_GUARANTEE_BIT_STABLE | MHC_GUARANTEE_NO_ATOMICS;

bool splits_k(mhc_op_t op) {
  return op == MHC_OP_PRENORM_GEMM || op == MHC_OP_PRE || op == MHC_OP_BOUNDARY || op == MHC_OP_BOUNDARY_MIX ||
         op == MHC_OP_BOUNDARY_FIRST;
}

int64_t granules(const mhc_desc_t& d) { return (d.n * d.hidden + 63) / 64; }

// The split count select must resolve (docs/numerics.md A1): explicit S, else 32 for T <= 64 and 16
// above, capped by the granule count; 0 for ops without splits.
int32_t expected_splits(const mhc_desc_t& d) {
  if (splits_k(d.op))
    return d.num_splits ? d.num_splits : static_cast<int32_t>(std::min<int64_t>(d.tokens <= 64 ? 32 : 16, granules(d)));
  if (d.op == MHC_OP_PRE_FUSE && (d.flags & MHC_DESC_FLAG_SPLIT_PARTIALS)) return d.num_splits;
  return 0;
}

// Poisons the outputs, runs, and checks every set output was written in full and nothing past it.
void run_checked(mhc_plan_t plan, OpCase& c, bool with_optional) {
  c.poison_outputs();
  const mhc_args_t a = c.args(with_optional);
  REQUIRE_OK(mhc_plan_can_implement(plan, &a));
  REQUIRE_OK(mhc_plan_run(plan, nullptr, nullptr, 0, &a));
  for (Tensor& t : c.tensors) {
    if (!t.output) continue;
    INFO(t.arg());
    CHECK(OpCase::poisoned_elements(t) == (t.required || with_optional ? 0 : t.elements));
    CHECK(OpCase::slack_intact(t));
  }
}

}  // namespace

TEST_CASE("lifecycle: every op on the host backend, one plan reused across runs", "[lifecycle]") {
  const int64_t T = 5;
  for (const OpVariant& v : all_variants()) {
    DYNAMIC_SECTION(v.name) {
      const mhc_desc_t d = v.desc(T);
      const mhc_preference_t pref = host_only();
      mhc_plan_t plan = nullptr;
      REQUIRE_OK(mhc_plan_select(&d, &pref, &plan));
      REQUIRE(plan != nullptr);

      size_t ws = 12345;
      REQUIRE_OK(mhc_plan_workspace_size(plan, &ws));
      CHECK(ws == 0);  // host SKUs run without workspace

      mhc_sku_t sku = 0;
      REQUIRE_OK(mhc_plan_get_sku(plan, &sku));
      CHECK(sku == v.sku);
      REQUIRE(mhc_sku_name(sku) != nullptr);
      CHECK(std::string(mhc_sku_name(sku)) == v.sku_name);

      mhc_precision_guarantee_t g;
      std::memset(&g, 0xff, sizeof g);
      g.struct_size = sizeof g;
      REQUIRE_OK(mhc_plan_get_precision_guarantee(plan, &g));
      CHECK(g.struct_size == sizeof g);
      CHECK(g.math_precision == MHC_DTYPE_FP64);
      CHECK(g.accumulator == MHC_DTYPE_FP64);
      const bool token_dependent_s = splits_k(v.op) && v.num_splits == 0;
      CHECK(g.flags == (kHostFlags | (token_dependent_s ? 0u : MHC_GUARANTEE_BATCH_INVARIANT)));

      const mhc_desc_t got = plan_desc(plan);
      mhc_desc_t want = d;
      want.num_splits = expected_splits(d);
      CHECK(std::memcmp(&got, &want, sizeof want) == 0);
      CHECK(got.num_splits == want.num_splits);

      OpCase c = make_case(got);
      std::vector<std::vector<uint32_t>> previous;
      for (int iter = 0; iter < 4; ++iter) {
        c.fill_inputs();
        run_checked(plan, c, true);
        const auto first = c.snapshot_outputs();
        run_checked(plan, c, true);
        CHECK(c.snapshot_outputs() == first);  // a rerun on the same inputs is bit-identical
        if (iter > 0) CHECK(first != previous);  // and each run reads the inputs it is given
        previous = first;
      }

      // Optional outputs left NULL: the required ones come out the same, the optional untouched.
      const bool has_optional =
          std::any_of(c.tensors.begin(), c.tensors.end(), [](const Tensor& t) { return !t.required; });
      if (has_optional) {
        run_checked(plan, c, false);
        size_t k = 0;
        for (const Tensor& t : c.tensors) {
          if (!t.output) continue;
          INFO(t.arg());
          if (t.required) CHECK(t.storage == previous[k]);
          ++k;
        }
      }
      REQUIRE_OK(mhc_plan_destroy(plan));
    }
  }
}

TEST_CASE("lifecycle: destroy(NULL) is a no-op", "[lifecycle]") {
  REQUIRE_OK(mhc_plan_destroy(nullptr));
}

TEST_CASE("lifecycle: the plan keeps its own copy of the descriptor", "[lifecycle]") {
  mhc_desc_t d = make_desc(MHC_OP_POST, 3, 4, 40);
  const mhc_desc_t original = d;
  const mhc_preference_t pref = host_only();
  mhc_plan_t plan = nullptr;
  REQUIRE_OK(mhc_plan_select(&d, &pref, &plan));
  d.tokens = 1000, d.n = 1, d.hidden = 7, d.op = MHC_OP_EXPAND;  // the caller reuses its struct
  const mhc_desc_t got = plan_desc(plan);
  CHECK(std::memcmp(&got, &original, sizeof got) == 0);
  OpCase c = make_case(original);
  run_checked(plan, c, true);
  REQUIRE_OK(mhc_plan_destroy(plan));
}

TEST_CASE("lifecycle: two plans of one problem give bit-identical results", "[lifecycle]") {
  for (const OpVariant& v : all_variants()) {
    DYNAMIC_SECTION(v.name) {
      const mhc_desc_t d = v.desc(4);
      const mhc_preference_t pref = host_only();
      mhc_plan_t a = nullptr, b = nullptr;
      REQUIRE_OK(mhc_plan_select(&d, &pref, &a));
      REQUIRE_OK(mhc_plan_select(&d, &pref, &b));
      REQUIRE(a != b);
      OpCase c = make_case(plan_desc(a));
      run_checked(a, c, true);
      const auto first = c.snapshot_outputs();
      REQUIRE_OK(mhc_plan_destroy(a));  // b does not depend on a
      run_checked(b, c, true);
      CHECK(c.snapshot_outputs() == first);
      REQUIRE_OK(mhc_plan_destroy(b));
    }
  }
}

TEST_CASE("lifecycle: a batch-invariant plan gives the same rows whatever T is", "[lifecycle]") {
  const mhc_op_t op = GENERATE(MHC_OP_PRE, MHC_OP_PRENORM_GEMM);
  const int32_t n = 4;
  const int64_t C = 640;  // K = 2560: 40 granules, so S from K (5) differs from either T default
  mhc_preference_t pref = host_only();
  pref.required = MHC_GUARANTEE_BATCH_INVARIANT;
  mhc_desc_t small = make_desc(op, 2, n, C), large = make_desc(op, 70, n, C);
  mhc_plan_t ps = nullptr, pl = nullptr;
  REQUIRE_OK(mhc_plan_select(&small, &pref, &ps));
  REQUIRE_OK(mhc_plan_select(&large, &pref, &pl));
  CHECK(plan_desc(ps).num_splits == 5);
  CHECK(plan_desc(pl).num_splits == 5);

  OpCase cs = make_case(plan_desc(ps)), cl = make_case(plan_desc(pl));
  // The small batch is the first rows of the large one (same weights).
  for (size_t i = 0; i < cs.tensors.size(); ++i) {
    Tensor &s = cs.tensors[i], &l = cl.tensors[i];
    if (s.output) continue;
    const bool per_token = s.field == "residual";
    if (per_token)
      std::memcpy(s.data(), l.data(), s.bytes());
    else
      l.storage = s.storage;
  }
  run_checked(ps, cs, true);
  run_checked(pl, cl, true);
  for (size_t i = 0; i < cs.tensors.size(); ++i) {
    Tensor &s = cs.tensors[i], &l = cl.tensors[i];
    if (!s.output) continue;
    INFO(s.arg());
    CHECK(std::memcmp(s.data(), l.data(), s.bytes()) == 0);
  }
  REQUIRE_OK(mhc_plan_destroy(ps));
  REQUIRE_OK(mhc_plan_destroy(pl));
}
