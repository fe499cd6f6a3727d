// The host reference backend: every op on host memory, fp64 inside, deterministic.
#pragma once

#include <cstdint>
#include <functional>

#include "../plan/sku.hpp"

namespace mhc::host {

void prenorm_gemm(const RunContext& ctx);  // A1
void pre_fuse(const RunContext& ctx);      // A2
void pre(const RunContext& ctx);           // A3
void post(const RunContext& ctx);          // A4
void head(const RunContext& ctx);          // A5
void expand(const RunContext& ctx);        // A6
void static_pre(const RunContext& ctx);    // B1
void static_post(const RunContext& ctx);   // B2
void static_layer(const RunContext& ctx);  // B3

// Element access by storage dtype (BF16 or FP32).
double load(const void* base, mhc_dtype_t dtype, int64_t i);
void store(void* base, mhc_dtype_t dtype, int64_t i, double v);

// Runs body(t) for t in [0, count) on a few threads; each t is independent, so the result does
// not depend on the thread count. `work_per_item` sizes the split (small problems stay inline).
void parallel_for(int64_t count, double work_per_item, const std::function<void(int64_t)>& body);

}  // namespace mhc::host
