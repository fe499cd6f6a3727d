// can_implement: the concrete tensors against the plan. Pure: no launches, no writes.
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "../common/error.hpp"
#include "../ops/tensors.hpp"
#include "plan.hpp"

namespace mhc {

void require_plan_memory(const mhc_plan_s& plan, const void* ptr, const char* name) {
  int device = -1;
  const MemSpace space = memory_space(ptr, &device);
  if (space == MemSpace::kUnknown)
    fail(MHC_STATUS_BAD_PARAM_MEMORY_SPACE, "{} = {}: CUDA cannot tell which memory this is (cudaPointerGetAttributes "
         "failed); SKU {} needs device memory of device {}", name, ptr, plan.sku->name, plan.device.ordinal);
  if (space == MemSpace::kHost)
    fail(MHC_STATUS_BAD_PARAM_MEMORY_SPACE, "{} = {} is host memory: SKU {} runs on the GPU and needs device memory",
         name, ptr, plan.sku->name);
  if (space == MemSpace::kDevice && device != plan.device.ordinal)
    fail(MHC_STATUS_BAD_PARAM_DEVICE, "{} = {} is memory of device {}, the plan runs on device {}", name, ptr, device,
         plan.device.ordinal);
}

int64_t run_tokens(const mhc_plan_s& plan, const mhc_args_t& a) {
  const int64_t max = plan.problem.T;
  if (a.tokens == 0) return max;
  if (a.tokens < 0 || a.tokens > max)
    fail(MHC_STATUS_BAD_PARAM_SHAPE, "args->tokens = {}: expected 0 (desc->tokens) or 1..{} (the plan's desc->tokens)",
         a.tokens, max);
  if (a.tokens != max && !plan.sku->varies_tokens)
    fail(MHC_STATUS_BAD_PARAM_SHAPE,
         "args->tokens = {}: SKU {} runs only T = desc->tokens = {} (expected 0 or {}; select a plan per T)", a.tokens,
         plan.sku->name, max, max);
  return a.tokens;
}

namespace {

// "MHC_DESC_FLAG_SHIFTED", "MHC_DESC_FLAG_SHIFTED | MHC_DESC_FLAG_NORM": the mode bits, for messages.
std::string flag_names(uint32_t bits) {
  static const std::pair<uint32_t, const char*> kFlags[] = {
      {MHC_DESC_FLAG_SPLIT_PARTIALS, "MHC_DESC_FLAG_SPLIT_PARTIALS"},
      {MHC_DESC_FLAG_SHIFTED, "MHC_DESC_FLAG_SHIFTED"},
      {MHC_DESC_FLAG_NORM, "MHC_DESC_FLAG_NORM"},
  };
  std::string s;
  for (const auto& f : kFlags)
    if (bits & f.first) s += (s.empty() ? "" : " | ") + std::string(f.second);
  return s;
}

// The op card's entry for the mhc_args_t field at `offset`, or nullptr when the op has none.
const TensorCard* card_tensor(const OpCard& card, size_t offset) {
  for (int i = 0; i < card.tensor_count; ++i)
    if (card.tensors[i].offset == offset) return &card.tensors[i];
  return nullptr;
}

// args->grad_accumulate against the gradient outputs of the op: unknown bits, and bits of outputs
// the op does not write, are refused.
void check_grad_accumulate(const Problem& p, const std::vector<TensorSpec>& specs, uint32_t bits) {
  if (bits == 0) return;
  uint32_t known = 0, written = 0;
  for (const GradAccumulateBit& b : grad_accumulate_bits()) known |= b.bit;
  std::string allowed;
  for (const TensorSpec& s : specs)
    if (s.accumulate_bit != 0) {
      written |= s.accumulate_bit;
      for (const GradAccumulateBit& b : grad_accumulate_bits())
        if (b.bit == s.accumulate_bit) allowed += (allowed.empty() ? "" : " | ") + std::string(b.name);
    }
  if (bits & ~known)
    fail(MHC_STATUS_BAD_PARAM_VALUE,
         "args->grad_accumulate = {:#x}: unknown bits {:#x} (expected MHC_GRAD_ACCUMULATE_* bits: {:#x} at most)", bits,
         bits & ~known, known);
  for (const GradAccumulateBit& b : grad_accumulate_bits())
    if ((bits & b.bit) && !(written & b.bit))
      fail(MHC_STATUS_BAD_PARAM_VALUE,
           "args->grad_accumulate = {:#x} has {}, but op {} writes no {} (expected {})", bits, b.name,
           op_name(p.desc.op), b.field,
           allowed.empty() ? std::string("0: the op writes no gradient") : "bits of " + allowed + ", or 0");
}

}  // namespace

void check_args(const mhc_plan_s& plan, const mhc_args_t& a) {
  if (a.reserved0 != 0) fail(MHC_STATUS_BAD_PARAM_VALUE, "args->reserved0 = {}: expected 0", a.reserved0);
  if (a.reserved1 != 0) fail(MHC_STATUS_BAD_PARAM_VALUE, "args->reserved1 = {}: expected 0", a.reserved1);
  const Problem p = plan.problem.with_tokens(run_tokens(plan, a));
  const auto specs = tensor_specs(p);
  const bool cuda = plan.sku->backend == MHC_BACKEND_CUDA;

  for (const ArgField& f : all_arg_fields()) {
    bool used = false;
    for (const TensorSpec& s : specs) used |= s.offset == f.offset;
    const void* ptr = *reinterpret_cast<const void* const*>(reinterpret_cast<const char*>(&a) + f.offset);
    if (used || ptr == nullptr) continue;
    // A tensor the op reads only in a mode (MHC_DESC_FLAG_NORM's norm_weight, the shifted mode's
    // pre_mix): say which flag of the plan's descriptor is missing.
    const TensorCard* t = card_tensor(*p.card, f.offset);
    if (t != nullptr && t->only_with != 0)
      fail(MHC_STATUS_BAD_PARAM_VALUE,
           "{} is set, but op {} reads it only with {} and the plan's desc->flags = {:#x} lacks it (expected NULL, "
           "or select the plan with the flag)",
           f.name, op_name(p.desc.op), flag_names(t->only_with & ~p.desc.flags), p.desc.flags);
    fail(MHC_STATUS_BAD_PARAM_VALUE, "{} is set, but op {} does not use it (expected NULL)", f.name,
         op_name(p.desc.op));
  }
  check_grad_accumulate(p, specs, a.grad_accumulate);
  for (const TensorSpec& s : specs) {
    const void* ptr = s.get(a);
    if (ptr == nullptr) {
      if (!s.required) continue;
      // Required only in a mode (out_pre_mix with MHC_DESC_FLAG_SHIFTED) or present only in one
      // (norm_weight with MHC_DESC_FLAG_NORM): name the flag that makes the op need it.
      const TensorCard* t = card_tensor(*p.card, s.offset);
      const uint32_t mode = t == nullptr ? 0u : (t->required ? 0u : t->required_with) | t->only_with;
      if (mode != 0)
        fail(MHC_STATUS_BAD_PARAM_NULL_POINTER, "{} is NULL: op {} needs it with {} ({} {} elements)", s.name,
             op_name(p.desc.op), flag_names(mode), s.elements, s.dtype == MHC_DTYPE_BF16 ? "bf16" : "fp32");
      fail(MHC_STATUS_BAD_PARAM_NULL_POINTER, "{} is NULL: op {} needs it ({} {} elements)", s.name,
           op_name(p.desc.op), s.elements, s.dtype == MHC_DTYPE_BF16 ? "bf16" : "fp32");
    }
    const size_t natural = s.dtype == MHC_DTYPE_BF16 ? 2 : 4;
    const size_t align = plan.sku->alignment > natural ? plan.sku->alignment : natural;
    if (reinterpret_cast<uintptr_t>(ptr) % align != 0)
      fail(MHC_STATUS_BAD_PARAM_MISALIGNED, "{} = {}: SKU {} needs {}-byte aligned pointers", s.name, ptr,
           plan.sku->name, align);
    if (cuda) {
      require_plan_memory(plan, ptr, s.name);
      continue;
    }
    if (memory_space(ptr) == MemSpace::kDevice) {
      fail(MHC_STATUS_BAD_PARAM_MEMORY_SPACE,
           "{} = {} is CUDA device memory: SKU {} runs on the host and needs host memory", s.name, ptr,
           plan.sku->name);
    }
  }
  // Outputs must not overlap inputs or each other (a run could read what it already wrote).
  for (size_t i = 0; i < specs.size(); ++i) {
    if (specs[i].role != Role::kOutput || specs[i].get(a) == nullptr) continue;
    const auto* o0 = static_cast<const char*>(specs[i].get(a));
    const auto* o1 = o0 + specs[i].bytes();
    for (size_t j = 0; j < specs.size(); ++j) {
      if (j == i || specs[j].get(a) == nullptr) continue;
      const auto* b0 = static_cast<const char*>(specs[j].get(a));
      const auto* b1 = b0 + specs[j].bytes();
      if (o0 < b1 && b0 < o1)
        fail(MHC_STATUS_BAD_PARAM_VALUE, "{} overlaps {}: outputs may not alias inputs or other outputs",
             specs[i].name, specs[j].name);
    }
  }
}

}  // namespace mhc
