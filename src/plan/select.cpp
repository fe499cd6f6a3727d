// select: validate, pick the first SKU that can run the problem under the preference, allocate.
#include <memory>
#include <string>

#include "../common/error.hpp"
#include "../common/struct_copy.hpp"
#include "plan.hpp"

namespace mhc {
namespace {

constexpr mhc_guarantee_flags_t kKnownGuarantees = MHC_GUARANTEE_DETERMINISTIC | MHC_GUARANTEE_BIT_STABLE |
                                                  MHC_GUARANTEE_BATCH_INVARIANT | MHC_GUARANTEE_NO_ATOMICS;

mhc_preference_t read_preference(const mhc_preference_t* user) {
  mhc_preference_t pref = MHC_PREFERENCE_INIT;
  if (user != nullptr) copy_struct_in(&pref, user, "pref", sizeof(mhc_preference_t));
  if (pref.backends == 0 || (pref.backends & ~MHC_BACKEND_ANY) != 0)
    fail(MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM,
         "pref->backends = {:#x}: expected MHC_BACKEND_CUDA, MHC_BACKEND_HOST or MHC_BACKEND_ANY", pref.backends);
  if (pref.required & ~kKnownGuarantees)
    fail(MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM, "pref->required = {:#x}: unknown bits (expected MHC_GUARANTEE_*)",
         pref.required);
  if (pref.forced_sku != MHC_SKU_NONE && find_sku(pref.forced_sku) == nullptr)
    fail(MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM, "pref->forced_sku = {:#010x}: no such SKU in this libmhc build",
         pref.forced_sku);
  return pref;
}

// Why `sku` cannot serve; empty when it can.
std::string reject_reason(const Sku& sku, const Problem& p, const DeviceInfo& dev, const mhc_preference_t& pref,
                          mhc_status_t* status) {
  if (sku.backend == MHC_BACKEND_CUDA && dev.cc < sku.min_cc) {
    *status = MHC_STATUS_NOT_SUPPORTED;
    return fmt::format("needs compute capability {}.{}, the device has {}.{}", sku.min_cc / 10, sku.min_cc % 10,
                       dev.cc / 10, dev.cc % 10);
  }
  std::string why = sku.supports(p, dev);
  if (!why.empty()) {
    *status = MHC_STATUS_NOT_SUPPORTED;
    return why;
  }
  const mhc_precision_guarantee_t g = sku.guarantee(p);
  if ((g.flags & pref.required) != pref.required) {
    *status = MHC_STATUS_NOT_SUPPORTED_GUARANTEE;
    return fmt::format("guarantees {:#x}, required {:#x}", g.flags, pref.required);
  }
  const size_t ws = sku.workspace_bytes(p);
  if (ws > pref.max_workspace_bytes) {
    *status = MHC_STATUS_NOT_SUPPORTED_WORKSPACE_CAP;
    return fmt::format("needs {} bytes of workspace, the cap is {}", ws, pref.max_workspace_bytes);
  }
  return {};
}

}  // namespace

const Sku* find_sku(mhc_sku_t id) {
  for (const auto* list : {&cuda_skus(), &host_skus()})
    for (const Sku& s : *list)
      if (s.id == id) return &s;
  return nullptr;
}

mhc_plan_s* select_plan(const mhc_desc_t* desc, const mhc_preference_t* user_pref) {
  const mhc_preference_t pref = read_preference(user_pref);
  const Problem p = make_problem(desc, (pref.required & MHC_GUARANTEE_BATCH_INVARIANT) != 0);

  const Sku* forced = pref.forced_sku ? find_sku(pref.forced_sku) : nullptr;
  if (forced && forced->op != p.desc.op)
    fail(MHC_STATUS_NOT_SUPPORTED_SKU, "pref->forced_sku {} implements {}, not desc->op {}", forced->name,
         op_name(forced->op), op_name(p.desc.op));
  if (forced && !(forced->backend & pref.backends))
    fail(MHC_STATUS_NOT_SUPPORTED_SKU, "pref->forced_sku {} is a {} SKU, but pref->backends = {:#x} excludes it",
         forced->name, forced->backend == MHC_BACKEND_CUDA ? "CUDA" : "host", pref.backends);

  DeviceInfo dev;
  std::string no_device;
  const bool want_cuda = (pref.backends & MHC_BACKEND_CUDA) && (!forced || forced->backend == MHC_BACKEND_CUDA);
  const CudaErrorStateScope cuda_errors(want_cuda);
  if (want_cuda && cuda_device_count(&no_device) > 0) dev = current_device();
  if (want_cuda && dev.ordinal < 0 && (pref.backends == MHC_BACKEND_CUDA || forced))
    fail(MHC_STATUS_NOT_SUPPORTED_NO_DEVICE, "no CUDA device for pref->backends = MHC_BACKEND_CUDA: {}", no_device);

  std::string reasons;
  mhc_status_t worst = MHC_STATUS_NOT_SUPPORTED;
  for (const auto* list : {&cuda_skus(), &host_skus()}) {
    for (const Sku& sku : *list) {
      if (sku.op != p.desc.op || !(sku.backend & pref.backends)) continue;
      if (forced && &sku != forced) continue;
      // Another SKU is faster there.
      if (!forced && (p.T < sku.default_min_tokens || p.T > sku.default_max_tokens)) continue;
      if (sku.backend == MHC_BACKEND_CUDA && dev.ordinal < 0) continue;
      mhc_status_t status = MHC_STATUS_NOT_SUPPORTED;
      const std::string why = reject_reason(sku, p, dev, pref, &status);
      if (!why.empty()) {
        reasons += fmt::format("{}{}: {}", reasons.empty() ? "" : "; ", sku.name, why);
        if (status != MHC_STATUS_NOT_SUPPORTED) worst = status;
        continue;
      }
      auto plan = std::make_unique<mhc_plan_s>();
      plan->problem = p;
      plan->sku = &sku;
      plan->device = dev;
      plan->guarantee = sku.guarantee(p);
      plan->workspace_bytes = sku.workspace_bytes(p);
      plan->scratch = nullptr;
      plan->scratch_event = nullptr;
      if (sku.backend == MHC_BACKEND_CUDA && plan->workspace_bytes > 0) {
        const RelaxedCaptureMode relaxed;
        plan->scratch = device_alloc(plan->workspace_bytes, "the plan's scratch");
        try {
          plan->scratch_event = event_create();
        } catch (...) {
          device_free(dev.ordinal, plan->scratch, nullptr);
          throw;
        }
      }
      return plan.release();
    }
  }
  if (forced) fail(MHC_STATUS_NOT_SUPPORTED_SKU, "pref->forced_sku cannot implement the problem: {}", reasons);
  if (reasons.empty())
    fail(MHC_STATUS_NOT_SUPPORTED, "no SKU for {} under pref->backends = {:#x}{}", op_name(p.desc.op), pref.backends,
         no_device.empty() ? "" : " (" + no_device + ")");
  fail(worst, "no SKU can implement {}: {}", op_name(p.desc.op), reasons);
}

void destroy_plan(mhc_plan_s* plan) {
  if (plan == nullptr) return;
  std::string error;
  if (plan->scratch) {
    const CudaErrorStateScope cuda_errors(true);
    const RelaxedCaptureMode relaxed;
    error = device_free(plan->device.ordinal, plan->scratch, plan->scratch_event);
  }
  const int ordinal = plan->device.ordinal;
  delete plan;
  if (!error.empty())
    fail(MHC_STATUS_EXECUTION_FAILED_CUDA, "freeing the plan's scratch on device {}: {}", ordinal, error);
}

void run_plan(const mhc_plan_s& plan, void* stream, void* workspace, size_t workspace_bytes, const mhc_args_t* user) {
  mhc_args_t args;
  copy_struct_in(&args, user, "args", kArgsMinSize);
  const bool cuda = plan.sku->backend == MHC_BACKEND_CUDA;
  const CudaErrorStateScope cuda_errors(cuda);
  check_args(plan, args);
  void* ws = plan.scratch;
  if (workspace != nullptr) {
    if (workspace_bytes < plan.workspace_bytes)
      fail(MHC_STATUS_BAD_PARAM_WORKSPACE, "workspace_bytes = {}: the plan needs {} (mhc_plan_workspace_size)",
           workspace_bytes, plan.workspace_bytes);
    if (reinterpret_cast<uintptr_t>(workspace) % kWorkspaceAlignment != 0)
      fail(MHC_STATUS_BAD_PARAM_WORKSPACE, "workspace = {}: expected {}-byte alignment", workspace,
           kWorkspaceAlignment);
    if (plan.sku->backend == MHC_BACKEND_CUDA) require_plan_memory(plan, workspace, "workspace");
    ws = workspace;
  } else if (workspace_bytes != 0) {
    fail(MHC_STATUS_BAD_PARAM_WORKSPACE, "workspace is NULL but workspace_bytes = {}: expected 0", workspace_bytes);
  }
  if (cuda) {
    require_current_device(plan.device.ordinal, "mhc_plan_run");
    const int sd = stream_device(stream);
    if (sd >= 0 && sd != plan.device.ordinal)
      fail(MHC_STATUS_BAD_PARAM_DEVICE, "stream = {} belongs to device {}, the plan to device {}", stream, sd,
           plan.device.ordinal);
  }
  const Problem run = plan.problem.with_tokens(run_tokens(plan, args));
  plan.sku->run(RunContext{run, plan.problem, args, stream, ws, plan.device});
  if (ws == plan.scratch && plan.scratch_event) event_record_unless_capturing(plan.scratch_event, stream);
}

}  // namespace mhc
