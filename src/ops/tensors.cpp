// Card tensors evaluated for a problem.
#include "tensors.hpp"

#include <cstddef>

namespace mhc {
namespace {

#define MHC_FIELD(f) "args->" #f, offsetof(mhc_args_t, f)

// The argument names for messages, one static string per field.
const char* arg_name(size_t offset) {
  for (const ArgField& f : all_arg_fields())
    if (f.offset == offset) return f.name;
  return "args->?";
}

int64_t dim_size(const Problem& p, Dim d) {
  switch (d) {
    case Dim::kTokens: return p.T;
    case Dim::kStreams: return p.n;
    case Dim::kHidden: return p.C;
    case Dim::kK: return p.K;
    case Dim::kMixes: return p.N;
    case Dim::kParts: return p.S;
    case Dim::kOne: return 1;
    case Dim::kThree: return 3;
  }
  return 0;
}

mhc_dtype_t storage_dtype(const Problem& p, Storage s) {
  return s == Storage::kBf16 ? MHC_DTYPE_BF16 : s == Storage::kFp32 ? MHC_DTYPE_FP32 : p.desc.act_dtype;
}

}  // namespace

const std::vector<ArgField>& all_arg_fields() {
  static const std::vector<ArgField> fields = {
      {MHC_FIELD(residual)},     {MHC_FIELD(fn)},           {MHC_FIELD(scale)},
      {MHC_FIELD(base)},         {MHC_FIELD(gemm_out)},     {MHC_FIELD(sqrsum)},
      {MHC_FIELD(layer_output)}, {MHC_FIELD(post_mix)},     {MHC_FIELD(comb_mix)},
      {MHC_FIELD(embedding)},    {MHC_FIELD(norm_weight)},  {MHC_FIELD(h_pre)},
      {MHC_FIELD(h_post)},       {MHC_FIELD(h_res)},        {MHC_FIELD(out_gemm)},
      {MHC_FIELD(out_sqrsum)},   {MHC_FIELD(out_post_mix)}, {MHC_FIELD(out_comb_mix)},
      {MHC_FIELD(out_layer_input)}, {MHC_FIELD(out_residual)}, {MHC_FIELD(out_rms)},
      {MHC_FIELD(pre_mix)},      {MHC_FIELD(out_pre_mix)},
      {MHC_FIELD(grad_residual)},     {MHC_FIELD(grad_layer_input)},  {MHC_FIELD(grad_post_mix)},
      {MHC_FIELD(grad_comb_mix)},     {MHC_FIELD(out_grad_residual)}, {MHC_FIELD(out_grad_layer_output)},
      {MHC_FIELD(out_grad_post_mix)}, {MHC_FIELD(out_grad_comb_mix)}, {MHC_FIELD(out_grad_embedding)},
      {MHC_FIELD(out_grad_fn)},       {MHC_FIELD(out_grad_scale)},    {MHC_FIELD(out_grad_base)},
      {MHC_FIELD(out_grad_h_pre)},    {MHC_FIELD(out_grad_h_post)},   {MHC_FIELD(out_grad_h_res)},
      {MHC_FIELD(out_grad_norm_weight)},
  };
  return fields;
}

const std::vector<GradAccumulateBit>& grad_accumulate_bits() {
#define MHC_GRAD_BIT(bit, f) {bit, #bit, "args->" #f, offsetof(mhc_args_t, f)}
  static const std::vector<GradAccumulateBit> bits = {
      MHC_GRAD_BIT(MHC_GRAD_ACCUMULATE_RESIDUAL, out_grad_residual),
      MHC_GRAD_BIT(MHC_GRAD_ACCUMULATE_LAYER_OUTPUT, out_grad_layer_output),
      MHC_GRAD_BIT(MHC_GRAD_ACCUMULATE_POST_MIX, out_grad_post_mix),
      MHC_GRAD_BIT(MHC_GRAD_ACCUMULATE_COMB_MIX, out_grad_comb_mix),
      MHC_GRAD_BIT(MHC_GRAD_ACCUMULATE_EMBEDDING, out_grad_embedding),
      MHC_GRAD_BIT(MHC_GRAD_ACCUMULATE_FN, out_grad_fn),
      MHC_GRAD_BIT(MHC_GRAD_ACCUMULATE_SCALE, out_grad_scale),
      MHC_GRAD_BIT(MHC_GRAD_ACCUMULATE_BASE, out_grad_base),
      MHC_GRAD_BIT(MHC_GRAD_ACCUMULATE_H_PRE, out_grad_h_pre),
      MHC_GRAD_BIT(MHC_GRAD_ACCUMULATE_H_POST, out_grad_h_post),
      MHC_GRAD_BIT(MHC_GRAD_ACCUMULATE_H_RES, out_grad_h_res),
      MHC_GRAD_BIT(MHC_GRAD_ACCUMULATE_NORM_WEIGHT, out_grad_norm_weight),
  };
#undef MHC_GRAD_BIT
  return bits;
}

uint32_t grad_accumulate_bit(size_t offset) {
  for (const GradAccumulateBit& b : grad_accumulate_bits())
    if (b.offset == offset) return b.bit;
  return 0;
}

std::vector<TensorSpec> tensor_specs(const Problem& p) {
  std::vector<TensorSpec> specs;
  const OpCard& card = *p.card;
  for (int i = 0; i < card.tensor_count; ++i) {
    const TensorCard& t = card.tensors[i];
    if ((p.desc.flags & t.only_with) != t.only_with) continue;  // not read in this mode
    TensorSpec s{};
    s.name = arg_name(t.offset);
    s.field = t.field;
    s.offset = t.offset;
    s.dtype = storage_dtype(p, t.storage);
    s.role = t.role;
    s.required = t.required || (t.required_with != 0 && (p.desc.flags & t.required_with) == t.required_with);
    s.accumulate_bit = t.role == Role::kOutput ? grad_accumulate_bit(t.offset) : 0u;
    s.token_dim = -1;
    s.elements = 1;
    for (int k = 0; k < t.rank; ++k) {
      if (t.dims[k] == Dim::kParts && !p.partials) continue;  // reduced: no partials axis
      if (t.dims[k] == Dim::kTokens) s.token_dim = s.rank;
      s.shape[s.rank++] = dim_size(p, t.dims[k]);
      s.elements *= s.shape[s.rank - 1];
    }
    specs.push_back(s);
  }
  return specs;
}

#undef MHC_FIELD

}  // namespace mhc
