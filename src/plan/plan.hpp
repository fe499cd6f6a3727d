// The plan object behind mhc_plan_t: immutable after select.
#pragma once

#include <cstddef>

#include "../ops/problem.hpp"
#include "../runtime/device.hpp"
#include "mhc/mhc.h"
#include "sku.hpp"

struct mhc_plan_s {
  mhc::Problem problem;
  const mhc::Sku* sku;
  mhc::DeviceInfo device;          // CUDA SKUs: the device the plan was made on
  mhc_precision_guarantee_t guarantee;
  size_t workspace_bytes;
  void* scratch;                   // the plan's own workspace (CUDA SKUs), workspace_bytes long
  void* scratch_event;             // recorded after each run that used the scratch (destroy waits)
};

namespace mhc {

constexpr size_t kWorkspaceAlignment = 256;
// mhc_args_t as 0.1 published it (before `tokens`): the smallest struct_size accepted.
constexpr size_t kArgsMinSize = offsetof(mhc_args_t, tokens);

mhc_plan_s* select_plan(const mhc_desc_t* desc, const mhc_preference_t* pref);
// Waits for the plan's last scratch run (not the device), frees it; throws EXECUTION_FAILED_CUDA
// when a CUDA call failed (the plan is freed all the same).
void destroy_plan(mhc_plan_s* plan);
// This run's T: args.tokens, or desc.tokens when it is 0. Throws BAD_PARAM_SHAPE when it is out
// of 1..desc.tokens or differs from desc.tokens on a SKU that cannot vary T.
int64_t run_tokens(const mhc_plan_s& plan, const mhc_args_t& args);
// For a CUDA SKU: `ptr` (named `name` in messages) must be memory a kernel of the plan's device
// reads: BAD_PARAM_MEMORY_SPACE (host or unknown memory) or BAD_PARAM_DEVICE (another device).
void require_plan_memory(const mhc_plan_s& plan, const void* ptr, const char* name);
// Throws mhc::Error for the first problem found; writes nothing.
void check_args(const mhc_plan_s& plan, const mhc_args_t& args);
void run_plan(const mhc_plan_s& plan, void* stream, void* workspace, size_t workspace_bytes,
              const mhc_args_t* args);

}  // namespace mhc
