// The extern "C" entry points: argument plumbing around src/plan, every body inside guard().
#include <cstring>

#include "../src/common/struct_copy.hpp"
#include "../src/ops/tensors.hpp"
#include "../src/plan/plan.hpp"
#include "capi_guard.hpp"

using mhc::fail;
using mhc::guard;

namespace {

const mhc_plan_s& deref(mhc_plan_t plan) {
  if (plan == nullptr) fail(MHC_STATUS_BAD_PARAM_NULL_POINTER, "plan is NULL: expected a plan from mhc_plan_select");
  return *plan;
}

template <typename T>
T* out_ptr(T* p, const char* name) {
  if (p == nullptr) fail(MHC_STATUS_BAD_PARAM_NULL_POINTER, "{} is NULL: expected an output pointer", name);
  return p;
}

}  // namespace

namespace {

// mhc_desc_init's defaults for op (throws for an unknown op).
mhc_desc_t desc_defaults(mhc_op_t op) {
  const mhc::OpCard* card = mhc::find_card(op);
  if (card == nullptr)
    fail(MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM, "op = {}: expected one of {}", op, mhc::op_id_list());
  mhc_desc_t init = MHC_DESC_INIT;
  init.op = op;
  init.act_dtype = card->default_act;
  return init;
}

// Writes `init` into a caller struct of `size` bytes (checked before anything is written).
template <typename T>
void init_sized(T* dst, size_t size, const T& init, const char* name, size_t min_size) {
  constexpr size_t kMaxSize = 65536;
  if (size < min_size || size > kMaxSize)
    fail(MHC_STATUS_BAD_PARAM_STRUCT_SIZE, "struct_size = {}: expected {}..{} (sizeof({}) of the caller's header)",
         size, min_size, kMaxSize, name);
  const auto size32 = static_cast<uint32_t>(size);
  std::memcpy(dst, &size32, sizeof size32);
  mhc::copy_struct_out(dst, init, name, min_size);
}

}  // namespace

extern "C" {

MHC_API uint32_t mhc_get_version(void) { return MHC_VERSION; }
MHC_API const char* mhc_get_version_string(void) { return MHC_VERSION_STRING_INTERNAL; }
MHC_API uint32_t mhc_get_abi_version(void) { return MHC_ABI_VERSION; }

MHC_API mhc_status_t mhc_check_abi(uint32_t abi_version) {
  return guard(__func__, [&] {
    if (abi_version != MHC_ABI_VERSION)
      fail(MHC_STATUS_BAD_PARAM_ABI_MISMATCH,
           "abi_version = {}: the caller was built against ABI {}, this libmhc {} has ABI {}", abi_version,
           abi_version, MHC_VERSION_STRING_INTERNAL, MHC_ABI_VERSION);
  });
}

MHC_API mhc_status_t mhc_cuda_device_count(int32_t* count) {
  return guard(__func__, [&] { *out_ptr(count, "count") = mhc::cuda_device_count(); });
}


MHC_API mhc_status_t mhc_desc_init(mhc_desc_t* desc, mhc_op_t op) {
  return guard(__func__, [&] {
    out_ptr(desc, "desc");
    *desc = desc_defaults(op);
  });
}

MHC_API mhc_status_t mhc_desc_init_sized(mhc_desc_t* desc, size_t struct_size, mhc_op_t op) {
  return guard(__func__, [&] {
    out_ptr(desc, "desc");
    init_sized(desc, struct_size, desc_defaults(op), "mhc_desc_t", mhc::kDescMinSize);
  });
}

MHC_API mhc_status_t mhc_preference_init(mhc_preference_t* pref) {
  return guard(__func__, [&] {
    const mhc_preference_t init = MHC_PREFERENCE_INIT;
    *out_ptr(pref, "pref") = init;
  });
}

MHC_API mhc_status_t mhc_args_init(mhc_args_t* args) {
  return guard(__func__, [&] {
    std::memset(out_ptr(args, "args"), 0, sizeof(mhc_args_t));
    args->struct_size = sizeof(mhc_args_t);
  });
}

MHC_API mhc_status_t mhc_args_init_sized(mhc_args_t* args, size_t struct_size) {
  return guard(__func__, [&] {
    out_ptr(args, "args");
    mhc_args_t init;
    std::memset(&init, 0, sizeof init);
    init.struct_size = sizeof(mhc_args_t);
    init_sized(args, struct_size, init, "mhc_args_t", mhc::kArgsMinSize);
  });
}

MHC_API const char* mhc_sku_name(mhc_sku_t sku) {
  try {
    const mhc::Sku* s = mhc::find_sku(sku);
    return s ? s->name.c_str() : nullptr;
  } catch (...) {
    return nullptr;
  }
}

MHC_API const char* mhc_op_name(mhc_op_t op) {
  const mhc::OpCard* card = mhc::find_card(op);
  return card ? card->name : nullptr;
}

MHC_API mhc_status_t mhc_plan_select(const mhc_desc_t* desc, const mhc_preference_t* pref, mhc_plan_t* plan) {
  if (plan != nullptr) *plan = nullptr;
  return guard(__func__, [&] {
    out_ptr(plan, "plan");
    *plan = mhc::select_plan(desc, pref);
  });
}

MHC_API mhc_status_t mhc_plan_can_implement(mhc_plan_t plan, const mhc_args_t* args) {
  return guard(__func__, [&] {
    const mhc_plan_s& p = deref(plan);
    mhc_args_t a;
    mhc::copy_struct_in(&a, args, "args", mhc::kArgsMinSize);
    mhc::check_args(p, a);
  });
}

MHC_API mhc_status_t mhc_plan_workspace_size(mhc_plan_t plan, size_t* bytes) {
  return guard(__func__, [&] {
    const mhc_plan_s& p = deref(plan);
    *out_ptr(bytes, "bytes") = p.workspace_bytes;
  });
}

MHC_API mhc_status_t mhc_plan_run(mhc_plan_t plan, void* stream, void* workspace, size_t workspace_bytes,
                                  const mhc_args_t* args) {
  return guard(__func__, [&] { mhc::run_plan(deref(plan), stream, workspace, workspace_bytes, args); });
}

MHC_API mhc_status_t mhc_plan_get_sku(mhc_plan_t plan, mhc_sku_t* sku) {
  return guard(__func__, [&] {
    const mhc_plan_s& p = deref(plan);
    *out_ptr(sku, "sku") = p.sku->id;
  });
}

MHC_API mhc_status_t mhc_plan_get_precision_guarantee(mhc_plan_t plan, mhc_precision_guarantee_t* guarantee) {
  return guard(__func__, [&] {
    const mhc_plan_s& p = deref(plan);
    mhc::copy_struct_out(guarantee, p.guarantee, "guarantee", sizeof(mhc_precision_guarantee_t));
  });
}

MHC_API mhc_status_t mhc_plan_get_desc(mhc_plan_t plan, mhc_desc_t* desc) {
  return guard(__func__, [&] {
    const mhc_plan_s& p = deref(plan);
    mhc::copy_struct_out(desc, p.problem.desc, "desc", mhc::kDescMinSize);
  });
}

MHC_API mhc_status_t mhc_plan_get_tensor_count(mhc_plan_t plan, int32_t* count) {
  return guard(__func__, [&] {
    const mhc_plan_s& p = deref(plan);
    *out_ptr(count, "count") = static_cast<int32_t>(mhc::tensor_specs(p.problem).size());
  });
}

MHC_API mhc_status_t mhc_plan_get_tensor_info(mhc_plan_t plan, int32_t index, mhc_tensor_info_t* info) {
  return guard(__func__, [&] {
    const mhc_plan_s& p = deref(plan);
    const auto specs = mhc::tensor_specs(p.problem);
    if (index < 0 || static_cast<size_t>(index) >= specs.size())
      fail(MHC_STATUS_BAD_PARAM_VALUE, "index = {}: expected 0..{} (mhc_plan_get_tensor_count is {} for op {})", index,
           static_cast<int64_t>(specs.size()) - 1, specs.size(), p.problem.card->name);
    const mhc::TensorSpec& s = specs[index];
    mhc_tensor_info_t t{};
    t.struct_size = sizeof(mhc_tensor_info_t);
    t.field_offset = static_cast<uint32_t>(s.offset);
    t.field = s.field;
    t.role = s.role == mhc::Role::kInput ? MHC_TENSOR_ROLE_INPUT : MHC_TENSOR_ROLE_OUTPUT;
    t.dtype = s.dtype;
    t.required = s.required ? 1 : 0;
    t.rank = s.rank;
    for (int k = 0; k < s.rank; ++k) t.shape[k] = s.shape[k];
    t.token_dim = s.token_dim;
    mhc::copy_struct_out(info, t, "info", sizeof(mhc_tensor_info_t));
  });
}

MHC_API mhc_status_t mhc_plan_destroy(mhc_plan_t plan) {
  return guard(__func__, [&] { mhc::destroy_plan(plan); });
}

}  // extern "C"
