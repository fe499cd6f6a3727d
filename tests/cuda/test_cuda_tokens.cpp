// Every CUDA plan, walked from the op list: the CUDA registry serves each card's op with the
// card's tensors, and a plan selected for desc.tokens runs any smaller T (args.tokens) with rows
// bit-identical to the same rows of a full run, nothing written past T, and the full run within
// tolerance of the fp64 host reference (outputs poisoned before every run). A backward op's
// gradient that sums the run's tokens (no T dimension) is checked against the host's sum over the
// same tokens instead.
#include <cstring>

#include "dynamic_harness.hpp"

using namespace mhc_test;

namespace {

// Element offset of idx in a row-major shape.
int64_t offset_of(const int64_t* shape, int rank, const std::vector<int64_t>& idx) {
  int64_t o = 0;
  for (int k = 0; k < rank; ++k) o = o * shape[k] + idx[k];
  return o;
}

// Calls f(short_offset, full_offset) for every element of `spec` at T = t.
template <typename F>
void for_each_row_element(const mhc::TensorSpec& spec, int64_t t, F&& f) {
  int64_t shape[mhc::kMaxRank];
  int64_t elements = 1;
  for (int k = 0; k < spec.rank; ++k) {
    shape[k] = k == spec.token_dim ? t : spec.shape[k];
    elements *= shape[k];
  }
  std::vector<int64_t> idx(spec.rank);
  for (int64_t e = 0; e < elements; ++e) {
    int64_t rem = e;
    for (int k = spec.rank - 1; k >= 0; --k) idx[k] = rem % shape[k], rem /= shape[k];
    f(e, offset_of(spec.shape, spec.rank, idx));
  }
}

size_t elem_bytes(const mhc::TensorSpec& s) { return s.dtype == MHC_DTYPE_BF16 ? 2 : 4; }

// The tensor's leading-T prefix is its short layout (T first, or no T at all).
bool prefix_layout(const mhc::TensorSpec& s) { return s.token_dim <= 0; }

// A gradient output without a T dimension sums the run's tokens (a backward op's parameter
// gradient): a shorter run gives the sum over its own tokens, checked against the host's.
bool sums_tokens(const mhc::TensorSpec& s) { return s.role == mhc::Role::kOutput && s.token_dim < 0 && s.accumulate_bit != 0; }

}  // namespace

TEST_CASE("CUDA registry: each card's SKUs serve its op with its tensors", "[cuda][cards]") {
  for (const mhc::OpCard* card : mhc::op_cards()) {
    INFO(card->tag);
    mhc_desc_t d = make_desc(card->id, 3, 4, 64);
    mhc_preference_t pref = cuda_only();
    PlanHolder plan;
    const mhc_status_t st = mhc_plan_select(&d, &pref, &plan.plan);
    if (st == MHC_STATUS_NOT_SUPPORTED) continue;  // no CUDA SKU for this op (the host serves it)
    REQUIRE_OK(st);
    mhc_sku_t sku = 0;
    REQUIRE_OK(mhc_plan_get_sku(plan.plan, &sku));
    CHECK(((sku >> 8) & 0xffu) == static_cast<uint32_t>(card->id));
    CHECK(((sku >> 16) & 0xffu) >= 0x50u);  // a CUDA id (host ids are 0x01xxxx)
    int32_t count = 0;
    REQUIRE_OK(mhc_plan_get_tensor_count(plan.plan, &count));
    int32_t read_without_flags = 0;  // tensors read only with a mode flag are not the plan's here
    for (int i = 0; i < card->tensor_count; ++i) read_without_flags += card->tensors[i].only_with == 0;
    CHECK(count == read_without_flags);
  }
}

TEST_CASE("CUDA plans run any T up to desc.tokens", "[cuda][tokens]") {
  constexpr int64_t kMax = 300;  // several GEMM token tiles and static row blocks
  for (const mhc::OpCard* card : mhc::op_cards()) {
    for (bool partials : {false, true}) {
      if (partials && !card->partials_flag) continue;
      mhc_desc_t d = make_desc(card->id, kMax, 4, 1280);
      if (partials) d.flags = MHC_DESC_FLAG_SPLIT_PARTIALS, d.num_splits = 5;
      mhc_preference_t pref = cuda_only();
      PlanHolder cuda, host;
      const mhc_status_t st = mhc_plan_select(&d, &pref, &cuda.plan);
      if (st == MHC_STATUS_NOT_SUPPORTED) continue;
      REQUIRE_OK(st);
      const mhc_desc_t resolved = resolved_desc(cuda.plan);
      mhc_desc_t hd = resolved;
      mhc_preference_t hp = host_only();
      REQUIRE_OK(mhc_plan_select(&hd, &hp, &host.plan));

      OpData data = make_op_data(resolved, 41, /*with_optional=*/true);
      RawDevice dev(data);
      const mhc_args_t full_args = data.args(dev.ptrs);
      REQUIRE_OK(mhc_plan_run(cuda.plan, nullptr, nullptr, 0, &full_args));
      CUDA_REQUIRE(cudaDeviceSynchronize());
      std::vector<std::vector<unsigned char>> full(data.specs.size());
      for (size_t i = 0; i < data.specs.size(); ++i)
        if (data.specs[i].role == mhc::Role::kOutput) full[i] = dev.download(i);
      const mhc_args_t host_args = data.args(data.host_ptrs());
      REQUIRE_OK(mhc_plan_run(host.plan, nullptr, nullptr, 0, &host_args));
      for (size_t i = 0; i < data.specs.size(); ++i) {
        if (data.specs[i].role != mhc::Role::kOutput) continue;
        const Mismatch m = compare(data.specs[i], full[i].data(), data.host[i].data(), fp32_tolerance(data.problem),
                                   bf16_ulps(data.problem, data.specs[i]));
        INFO(card->tag << (partials ? " partials " : " ") << m.describe(data.specs[i].name));
        CHECK(m.bad == 0);
      }

      for (int64_t t : {int64_t{1}, int64_t{7}, int64_t{64}, int64_t{257}}) {
        INFO(card->tag << (partials ? " partials" : "") << " run-time T " << t);
        // Inputs: the full buffers where the first t rows are the short layout, else a compacted copy
        // (on the device, and in `short_ref` for the host reference of the outputs that sum tokens).
        std::vector<void*> ptrs = dev.ptrs;
        std::vector<void*> extra;
        OpData short_ref = data;
        for (size_t i = 0; i < data.specs.size(); ++i) {
          const mhc::TensorSpec& s = data.specs[i];
          if (s.role != mhc::Role::kInput || prefix_layout(s)) continue;
          std::vector<unsigned char> compact(static_cast<size_t>(s.elements) * elem_bytes(s));
          for_each_row_element(s, t, [&](int64_t e, int64_t src) {
            std::memcpy(&compact[e * elem_bytes(s)], &data.host[i][src * elem_bytes(s)], elem_bytes(s));
          });
          void* p = nullptr;
          CUDA_REQUIRE(cudaMalloc(&p, compact.size()));
          CUDA_REQUIRE(cudaMemcpy(p, compact.data(), compact.size(), cudaMemcpyHostToDevice));
          ptrs[i] = p;
          extra.push_back(p);
          short_ref.host[i] = compact;
        }
        bool any_sums = false;
        for (const mhc::TensorSpec& s : data.specs) any_sums = any_sums || sums_tokens(s);
        if (any_sums) {
          short_ref.poison_outputs();
          mhc_args_t ha = short_ref.args(short_ref.host_ptrs());
          ha.tokens = t;
          REQUIRE_OK(mhc_plan_run(host.plan, nullptr, nullptr, 0, &ha));
        }
        dev.poison_outputs(data);
        mhc_args_t a = data.args(ptrs);
        a.tokens = t;
        REQUIRE_OK(mhc_plan_can_implement(cuda.plan, &a));
        REQUIRE_OK(mhc_plan_run(cuda.plan, nullptr, nullptr, 0, &a));
        CUDA_REQUIRE(cudaDeviceSynchronize());
        OpData poisoned = data;
        poisoned.poison_outputs();
        for (size_t i = 0; i < data.specs.size(); ++i) {
          const mhc::TensorSpec& s = data.specs[i];
          if (s.role != mhc::Role::kOutput) continue;
          INFO(s.name);
          const auto got = dev.download(i);
          if (sums_tokens(s)) {  // the sum over the first t tokens: against the host's
            mhc::Problem short_problem = data.problem;
            short_problem.T = t;
            const Mismatch m = compare(s, got.data(), short_ref.host[i].data(), fp32_tolerance(short_problem),
                                       bf16_ulps(short_problem, s));
            INFO(m.describe(s.name));
            CHECK(m.bad == 0);
            continue;
          }
          int64_t diff = 0, covered = 0;
          for_each_row_element(s, t, [&](int64_t e, int64_t src) {
            diff += std::memcmp(&got[e * elem_bytes(s)], &full[i][src * elem_bytes(s)], elem_bytes(s)) != 0;
            ++covered;
          });
          CHECK(diff == 0);
          // Nothing past the short tensor: its tail keeps the poison.
          const size_t written = static_cast<size_t>(covered) * elem_bytes(s);
          CHECK(std::memcmp(got.data() + written, poisoned.host[i].data() + written, got.size() - written) == 0);
        }
        for (void* p : extra) cudaFree(p);
      }
      mhc_args_t bad = full_args;
      bad.tokens = kMax + 1;
      REQUIRE_STATUS(mhc_plan_run(cuda.plan, nullptr, nullptr, 0, &bad), MHC_STATUS_BAD_PARAM_SHAPE, "args->tokens");
    }
  }
}
