// The host reference backend: every op on host memory, fp64 inside, deterministic.
#pragma once

#include <cstdint>
#include <functional>

#include "../plan/sku.hpp"

namespace mhc::host {

// One per op_list.def line: run_<tag> in src/host/<tag>.cpp.
#define MHC_OP_CARD(tag) void run_##tag(const RunContext& ctx);
#include "../ops/op_list.def"
#undef MHC_OP_CARD

// Element access by storage dtype (BF16 or FP32).
double load(const void* base, mhc_dtype_t dtype, int64_t i);
void store(void* base, mhc_dtype_t dtype, int64_t i, double v);
// A gradient output element (the backward ops): g, or with `accumulate` (its
// MHC_GRAD_ACCUMULATE_* bit set) the element's current value plus g; rounded once.
void store_grad(void* base, mhc_dtype_t dtype, int64_t i, double g, bool accumulate);

// Runs body(t) for t in [0, count) on a few threads; each t is independent, so the result does
// not depend on the thread count. `work_per_item` sizes the split (small problems stay inline).
void parallel_for(int64_t count, double work_per_item, const std::function<void(int64_t)>& body);

}  // namespace mhc::host
