#include "tensors.hpp"

#include <cstddef>

namespace mhc {
namespace {

#define MHC_FIELD(f) "args->" #f, offsetof(mhc_args_t, f)

TensorSpec in(const char* name, size_t off, mhc_dtype_t dt, int64_t count, bool required = true) {
  return {name, off, dt, count, Role::kInput, required};
}
TensorSpec out(const char* name, size_t off, mhc_dtype_t dt, int64_t count, bool required = true) {
  return {name, off, dt, count, Role::kOutput, required};
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
  };
  return fields;
}

std::vector<TensorSpec> tensor_specs(const Problem& p) {
  constexpr mhc_dtype_t BF16 = MHC_DTYPE_BF16, FP32 = MHC_DTYPE_FP32;
  const int64_t T = p.T, n = p.n, C = p.C, K = p.K, N = p.N;
  const int64_t parts = p.partials ? p.S : 1;
  const mhc_dtype_t act = p.desc.act_dtype;
  switch (p.desc.op) {
    case MHC_OP_PRENORM_GEMM:
      return {in(MHC_FIELD(residual), BF16, T * K), in(MHC_FIELD(fn), FP32, N * K),
              out(MHC_FIELD(out_gemm), FP32, parts * T * N), out(MHC_FIELD(out_sqrsum), FP32, parts * T)};
    case MHC_OP_PRE_FUSE:
      return {in(MHC_FIELD(gemm_out), FP32, parts * T * N), in(MHC_FIELD(sqrsum), FP32, parts * T),
              in(MHC_FIELD(scale), FP32, 3), in(MHC_FIELD(base), FP32, N), in(MHC_FIELD(residual), BF16, T * K),
              out(MHC_FIELD(out_post_mix), FP32, T * n), out(MHC_FIELD(out_comb_mix), FP32, T * n * n),
              out(MHC_FIELD(out_layer_input), BF16, T * C)};
    case MHC_OP_PRE:
      return {in(MHC_FIELD(residual), BF16, T * K), in(MHC_FIELD(fn), FP32, N * K), in(MHC_FIELD(scale), FP32, 3),
              in(MHC_FIELD(base), FP32, N), out(MHC_FIELD(out_post_mix), FP32, T * n),
              out(MHC_FIELD(out_comb_mix), FP32, T * n * n), out(MHC_FIELD(out_layer_input), BF16, T * C),
              out(MHC_FIELD(out_gemm), FP32, T * N, false), out(MHC_FIELD(out_sqrsum), FP32, T, false)};
    case MHC_OP_POST:
      return {in(MHC_FIELD(layer_output), BF16, T * C), in(MHC_FIELD(residual), BF16, T * K),
              in(MHC_FIELD(post_mix), FP32, T * n), in(MHC_FIELD(comb_mix), FP32, T * n * n),
              out(MHC_FIELD(out_residual), BF16, T * K)};
    case MHC_OP_HEAD:
      return {in(MHC_FIELD(residual), BF16, T * K), in(MHC_FIELD(fn), FP32, n * K), in(MHC_FIELD(scale), FP32, 1),
              in(MHC_FIELD(base), FP32, n), out(MHC_FIELD(out_layer_input), BF16, T * C)};
    case MHC_OP_EXPAND:
      return {in(MHC_FIELD(embedding), BF16, T * C), out(MHC_FIELD(out_residual), BF16, T * K)};
    case MHC_OP_STATIC_PRE:
      return {in(MHC_FIELD(residual), act, T * K), in(MHC_FIELD(norm_weight), BF16, C),
              in(MHC_FIELD(h_pre), FP32, n), out(MHC_FIELD(out_layer_input), act, T * C),
              out(MHC_FIELD(out_rms), FP32, T, false)};
    case MHC_OP_STATIC_POST:
      return {in(MHC_FIELD(residual), act, T * K), in(MHC_FIELD(layer_output), act, T * C),
              in(MHC_FIELD(h_post), FP32, n), in(MHC_FIELD(h_res), FP32, n * n),
              out(MHC_FIELD(out_residual), act, T * K)};
    case MHC_OP_STATIC_LAYER:
      return {in(MHC_FIELD(residual), act, T * K), in(MHC_FIELD(norm_weight), BF16, C),
              in(MHC_FIELD(h_pre), FP32, n), in(MHC_FIELD(h_post), FP32, n), in(MHC_FIELD(h_res), FP32, n * n),
              out(MHC_FIELD(out_residual), act, T * K)};
    default:
      return {};
  }
}

#undef MHC_FIELD

}  // namespace mhc
