// An op's tensors for one problem, evaluated from its card: field, role, dtype, shape. The one
// table that can_implement, mhc_plan_get_tensor_info, the tests and the benchmark share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "mhc/mhc.h"
#include "problem.hpp"

namespace mhc {

struct TensorSpec {
  const char* name;    // "args->residual", for messages
  const char* field;   // "residual"
  size_t offset;       // offsetof(mhc_args_t, field)
  mhc_dtype_t dtype;   // storage dtype: BF16 or FP32
  int rank;
  int64_t shape[kMaxRank];
  int token_dim;       // index of T in shape, or -1
  int64_t elements;
  Role role;
  bool required;
  uint32_t accumulate_bit;  // a gradient output's MHC_GRAD_ACCUMULATE_* bit, else 0

  size_t bytes() const { return static_cast<size_t>(elements) * (dtype == MHC_DTYPE_BF16 ? 2 : 4); }
  const void* get(const mhc_args_t& a) const {
    return *reinterpret_cast<const void* const*>(reinterpret_cast<const char*>(&a) + offset);
  }
};

// Every tensor of the problem's op (T = p.T), inputs first. Fields not listed must be NULL.
std::vector<TensorSpec> tensor_specs(const Problem& p);

// The mhc_args_t pointer fields, for the "unused fields must be NULL" check.
struct ArgField {
  const char* name;
  size_t offset;
};
const std::vector<ArgField>& all_arg_fields();

// The gradient outputs and their MHC_GRAD_ACCUMULATE_* bits (mhc_args_t.grad_accumulate): a
// property of the field, the same for every backward op that writes it.
struct GradAccumulateBit {
  uint32_t bit;        // MHC_GRAD_ACCUMULATE_FN
  const char* name;    // "MHC_GRAD_ACCUMULATE_FN"
  const char* field;   // "args->out_grad_fn"
  size_t offset;       // offsetof(mhc_args_t, out_grad_fn)
};
const std::vector<GradAccumulateBit>& grad_accumulate_bits();
// The bit of the output field at `offset`, or 0 for a field that is no gradient output.
uint32_t grad_accumulate_bit(size_t offset);

}  // namespace mhc
