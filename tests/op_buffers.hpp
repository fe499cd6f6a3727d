// The tensors of one op's run, described here from the mhc_args_t comments of mhc.h (not from the
// library's own table, so the validation tests check that table instead of trusting it).
// Random inputs (never zero), poisoned outputs with poisoned slack past their end, snapshots.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "support.hpp"

namespace mhc_test {

struct Tensor {
  std::string field;  // the mhc_args_t field ("residual")
  size_t offset;      // offsetof(mhc_args_t, field)
  bool bf16;          // storage dtype: bf16, else fp32
  int64_t elements;
  bool output;
  bool required;
  double lo, hi;                  // range of the random input values
  std::vector<uint32_t> storage;  // the elements, then kSlackWords words of slack

  static constexpr size_t kSlackWords = 4;
  size_t bytes() const { return static_cast<size_t>(elements) * (bf16 ? 2 : 4); }
  size_t element_words() const { return (bytes() + 3) / 4; }
  char* data() { return reinterpret_cast<char*>(storage.data()); }
  std::string arg() const { return "args->" + field; }
};

// Writes a pointer into the mhc_args_t field at `offset`.
inline void set_field(mhc_args_t& a, size_t offset, const void* p) {
  std::memcpy(reinterpret_cast<char*>(&a) + offset, &p, sizeof p);
}

struct OpCase {
  mhc_desc_t desc{};
  std::vector<Tensor> tensors;

  Tensor& at(const std::string& field) {
    for (Tensor& t : tensors)
      if (t.field == field) return t;
    FAIL("no tensor " << field);
    return tensors.front();
  }

  // Every tensor's pointer set (optional outputs included unless `with_optional` is false).
  mhc_args_t args(bool with_optional = true) {
    mhc_args_t a;
    mhc_args_init(&a);
    for (Tensor& t : tensors)
      if (t.required || with_optional) set_field(a, t.offset, t.data());
    return a;
  }

  void fill_inputs() {
    for (Tensor& t : tensors) {
      if (t.output) continue;
      std::fill(t.storage.begin(), t.storage.end(), 0u);
      if (t.bf16) {
        const auto v = random_bf16(static_cast<size_t>(t.elements), t.lo, t.hi);
        std::memcpy(t.data(), v.data(), t.bytes());
      } else {
        const auto v = random_f32(static_cast<size_t>(t.elements), t.lo, t.hi);
        std::memcpy(t.data(), v.data(), t.bytes());
      }
    }
  }

  // Poisons every output element and the slack past it.
  void poison_outputs() {
    for (Tensor& t : tensors) {
      if (!t.output) continue;
      for (size_t i = 0; i < t.storage.size() * 4 / (t.bf16 ? 2 : 4); ++i) {
        if (t.bf16)
          std::memcpy(t.data() + 2 * i, &kPoisonBf16, 2);
        else
          std::memcpy(t.data() + 4 * i, &kPoisonF32, 4);
      }
    }
  }

  // Poisoned elements of output `t` (0: the run wrote all of them).
  static int64_t poisoned_elements(Tensor& t) {
    int64_t count = 0;
    for (int64_t i = 0; i < t.elements; ++i)
      count += t.bf16 ? std::memcmp(t.data() + 2 * i, &kPoisonBf16, 2) == 0
                      : std::memcmp(t.data() + 4 * i, &kPoisonF32, 4) == 0;
    return count;
  }

  // The slack words past output `t` still hold the poison (nothing was written out of bounds).
  static bool slack_intact(Tensor& t) {
    const size_t first = t.bytes();
    const size_t unit = t.bf16 ? 2 : 4;
    for (size_t b = (first + unit - 1) / unit * unit; b + unit <= t.storage.size() * 4; b += unit)
      if (std::memcmp(t.data() + b, t.bf16 ? static_cast<const void*>(&kPoisonBf16) : &kPoisonF32, unit) != 0)
        return false;
    return true;
  }

  std::vector<std::vector<uint32_t>> snapshot_outputs() const {
    std::vector<std::vector<uint32_t>> s;
    for (const Tensor& t : tensors)
      if (t.output) s.push_back(t.storage);
    return s;
  }
};

inline Tensor make_tensor(const char* field, size_t offset, bool bf16, int64_t elements, bool output,
                          bool required = true, double lo = -1.0, double hi = 1.0) {
  Tensor t{field, offset, bf16, elements, output, required, lo, hi, {}};
  t.storage.assign(t.element_words() + Tensor::kSlackWords, 0u);
  return t;
}

#define MHC_TEST_IN(f, bf16, count, lo, hi) make_tensor(#f, offsetof(mhc_args_t, f), bf16, count, false, true, lo, hi)
#define MHC_TEST_OUT(f, bf16, count) make_tensor(#f, offsetof(mhc_args_t, f), bf16, count, true, true)
#define MHC_TEST_OPT_OUT(f, bf16, count) make_tensor(#f, offsetof(mhc_args_t, f), bf16, count, true, false)

// The tensors of `d` (num_splits as the plan resolved it: pass mhc_plan_get_desc's output),
// with fresh random inputs and poisoned outputs.
inline OpCase make_case(const mhc_desc_t& d) {
  OpCase c;
  c.desc = d;
  const int64_t T = d.tokens, C = d.hidden, n = d.n, K = n * C, N = n * (n + 2);
  const bool partials = (d.flags & MHC_DESC_FLAG_SPLIT_PARTIALS) != 0;
  const int64_t P = partials ? d.num_splits : 1;
  const bool act16 = d.act_dtype == MHC_DTYPE_BF16;
  const bool shifted = (d.flags & MHC_DESC_FLAG_SHIFTED) != 0, norm = (d.flags & MHC_DESC_FLAG_NORM) != 0;
  auto& v = c.tensors;
  switch (d.op) {
    case MHC_OP_PRENORM_GEMM:
      v = {MHC_TEST_IN(residual, true, T * K, -2, 2), MHC_TEST_IN(fn, false, N * K, -0.05, 0.05),
           MHC_TEST_OUT(out_gemm, false, P * T * N), MHC_TEST_OUT(out_sqrsum, false, P * T)};
      break;
    case MHC_OP_PRE_FUSE:
      v = {MHC_TEST_IN(gemm_out, false, P * T * N, -1, 1), MHC_TEST_IN(sqrsum, false, P * T, 0.5, 2.0 * K / P),
           MHC_TEST_IN(scale, false, 3, 0.5, 1.5),          MHC_TEST_IN(base, false, N, -1, 1),
           MHC_TEST_IN(residual, true, T * K, -2, 2),       MHC_TEST_OUT(out_post_mix, false, T * n),
           MHC_TEST_OUT(out_comb_mix, false, T * n * n),    MHC_TEST_OUT(out_layer_input, true, T * C)};
      break;
    case MHC_OP_PRE:
      v = {MHC_TEST_IN(residual, true, T * K, -2, 2),    MHC_TEST_IN(fn, false, N * K, -0.05, 0.05),
           MHC_TEST_IN(scale, false, 3, 0.5, 1.5),       MHC_TEST_IN(base, false, N, -1, 1),
           MHC_TEST_OUT(out_post_mix, false, T * n),     MHC_TEST_OUT(out_comb_mix, false, T * n * n),
           MHC_TEST_OUT(out_layer_input, true, T * C),   MHC_TEST_OPT_OUT(out_gemm, false, T * N),
           MHC_TEST_OPT_OUT(out_sqrsum, false, T)};
      break;
    case MHC_OP_POST:
      v = {MHC_TEST_IN(layer_output, true, T * C, -2, 2), MHC_TEST_IN(residual, true, T * K, -2, 2),
           MHC_TEST_IN(post_mix, false, T * n, 0, 2),       MHC_TEST_IN(comb_mix, false, T * n * n, 0, 1),
           MHC_TEST_OUT(out_residual, true, T * K)};
      break;
    case MHC_OP_HEAD:
      v = {MHC_TEST_IN(residual, true, T * K, -2, 2), MHC_TEST_IN(fn, false, n * K, -0.05, 0.05),
           MHC_TEST_IN(scale, false, 1, 0.5, 1.5),      MHC_TEST_IN(base, false, n, -1, 1),
           MHC_TEST_OUT(out_layer_input, true, T * C),  MHC_TEST_OPT_OUT(out_gemm, false, T * n),
           MHC_TEST_OPT_OUT(out_sqrsum, false, T)};
      break;
    case MHC_OP_EXPAND:
      v = {MHC_TEST_IN(embedding, true, T * C, -2, 2), MHC_TEST_OUT(out_residual, true, T * K)};
      break;
    // The boundary (A7): tensors that exist only with a flag (card field only_with) are left out
    // without it; out_pre_mix is optional except in the shifted mode (card field required_with).
    case MHC_OP_BOUNDARY:
    case MHC_OP_BOUNDARY_FIRST:  // A10: the embedding in place of the post's inputs
      if (d.op == MHC_OP_BOUNDARY) {
        v = {MHC_TEST_IN(layer_output, true, T * C, -2, 2), MHC_TEST_IN(residual, true, T * K, -2, 2),
             MHC_TEST_IN(post_mix, false, T * n, 0, 2),       MHC_TEST_IN(comb_mix, false, T * n * n, 0, 1)};
        if (shifted) v.push_back(MHC_TEST_IN(pre_mix, false, T * n, 0, 1));
      } else {
        v = {MHC_TEST_IN(embedding, true, T * C, -2, 2)};
      }
      v.push_back(MHC_TEST_IN(fn, false, N * K, -0.05, 0.05));
      v.push_back(MHC_TEST_IN(scale, false, 3, 0.5, 1.5));
      v.push_back(MHC_TEST_IN(base, false, N, -1, 1));
      if (norm) v.push_back(MHC_TEST_IN(norm_weight, true, C, 0.5, 1.5));
      v.push_back(MHC_TEST_OUT(out_residual, true, T * K));
      v.push_back(MHC_TEST_OUT(out_layer_input, true, T * C));
      v.push_back(MHC_TEST_OUT(out_post_mix, false, T * n));
      v.push_back(MHC_TEST_OUT(out_comb_mix, false, T * n * n));
      v.push_back(shifted ? MHC_TEST_OUT(out_pre_mix, false, T * n) : MHC_TEST_OPT_OUT(out_pre_mix, false, T * n));
      break;
    case MHC_OP_BOUNDARY_COLLAPSE:
      v = {MHC_TEST_IN(layer_output, true, T * C, -2, 2), MHC_TEST_IN(residual, true, T * K, -2, 2),
           MHC_TEST_IN(post_mix, false, T * n, 0, 2),       MHC_TEST_IN(comb_mix, false, T * n * n, 0, 1),
           MHC_TEST_IN(pre_mix, false, T * n, 0, 1)};
      if (norm) v.push_back(MHC_TEST_IN(norm_weight, true, C, 0.5, 1.5));
      v.push_back(MHC_TEST_OPT_OUT(out_residual, true, T * K));  // NULL: the V4.1 head
      v.push_back(MHC_TEST_OUT(out_layer_input, true, T * C));
      break;
    case MHC_OP_BOUNDARY_MIX:
      v = {MHC_TEST_IN(residual, true, T * K, -2, 2),    MHC_TEST_IN(fn, false, N * K, -0.05, 0.05),
           MHC_TEST_IN(scale, false, 3, 0.5, 1.5),       MHC_TEST_IN(base, false, N, -1, 1),
           MHC_TEST_OUT(out_post_mix, false, T * n),     MHC_TEST_OUT(out_comb_mix, false, T * n * n),
           MHC_TEST_OUT(out_pre_mix, false, T * n)};
      break;
    // The backward ops (64+): the forward's inputs that they read, its saved D and Q, the gradients
    // of its outputs (inputs here) and of its inputs (outputs).
    case MHC_OP_PRE_BACKWARD:
    case MHC_OP_HEAD_BACKWARD: {  // A5': N = n mixes and one scale
      const bool head = d.op == MHC_OP_HEAD_BACKWARD;
      const int64_t M = head ? n : N, S3 = head ? 1 : 3;
      v = {MHC_TEST_IN(residual, true, T * K, -2, 2),  MHC_TEST_IN(fn, false, M * K, -0.05, 0.05),
           MHC_TEST_IN(scale, false, S3, 0.5, 1.5),    MHC_TEST_IN(base, false, M, -1, 1),
           MHC_TEST_IN(gemm_out, false, T * M, -1, 1), MHC_TEST_IN(sqrsum, false, T, 0.5, 2.0 * K),
           MHC_TEST_IN(grad_layer_input, true, T * C, -1, 1)};
      if (!head) {
        v.push_back(MHC_TEST_IN(grad_post_mix, false, T * n, -1, 1));
        v.push_back(MHC_TEST_IN(grad_comb_mix, false, T * n * n, -1, 1));
      }
      v.push_back(MHC_TEST_OUT(out_grad_residual, true, T * K));
      v.push_back(MHC_TEST_OUT(out_grad_fn, false, M * K));
      v.push_back(MHC_TEST_OUT(out_grad_scale, false, S3));
      v.push_back(MHC_TEST_OUT(out_grad_base, false, M));
      break;
    }
    case MHC_OP_POST_BACKWARD:
      v = {MHC_TEST_IN(layer_output, true, T * C, -2, 2),   MHC_TEST_IN(residual, true, T * K, -2, 2),
           MHC_TEST_IN(post_mix, false, T * n, 0, 2),         MHC_TEST_IN(comb_mix, false, T * n * n, 0, 1),
           MHC_TEST_IN(grad_residual, true, T * K, -1, 1),    MHC_TEST_OUT(out_grad_layer_output, true, T * C),
           MHC_TEST_OUT(out_grad_residual, true, T * K),      MHC_TEST_OUT(out_grad_post_mix, false, T * n),
           MHC_TEST_OUT(out_grad_comb_mix, false, T * n * n)};
      break;
    case MHC_OP_EXPAND_BACKWARD:
      v = {MHC_TEST_IN(grad_residual, true, T * K, -1, 1), MHC_TEST_OUT(out_grad_embedding, true, T * C)};
      break;
    case MHC_OP_STATIC_PRE:
      v = {MHC_TEST_IN(residual, act16, T * K, -2, 2), MHC_TEST_IN(norm_weight, true, C, 0.5, 1.5),
           MHC_TEST_IN(h_pre, false, n, -1, 1),          MHC_TEST_OUT(out_layer_input, act16, T * C),
           MHC_TEST_OPT_OUT(out_rms, false, T)};
      break;
    case MHC_OP_STATIC_POST:
      v = {MHC_TEST_IN(residual, act16, T * K, -2, 2), MHC_TEST_IN(layer_output, act16, T * C, -2, 2),
           MHC_TEST_IN(h_post, false, n, -1, 1),         MHC_TEST_IN(h_res, false, n * n, -1, 1),
           MHC_TEST_OUT(out_residual, act16, T * K)};
      break;
    case MHC_OP_STATIC_LAYER:
      v = {MHC_TEST_IN(residual, act16, T * K, -2, 2), MHC_TEST_IN(norm_weight, true, C, 0.5, 1.5),
           MHC_TEST_IN(h_pre, false, n, -1, 1),          MHC_TEST_IN(h_post, false, n, -1, 1),
           MHC_TEST_IN(h_res, false, n * n, -1, 1),      MHC_TEST_OUT(out_residual, act16, T * K)};
      break;
    // The family B backward ops: the activation gradients in act_dtype, the parameters' fp32.
    case MHC_OP_STATIC_PRE_BACKWARD:
      v = {MHC_TEST_IN(residual, act16, T * K, -2, 2),         MHC_TEST_IN(norm_weight, true, C, 0.5, 1.5),
           MHC_TEST_IN(h_pre, false, n, -1, 1),                  MHC_TEST_IN(grad_layer_input, act16, T * C, -1, 1),
           MHC_TEST_OUT(out_grad_residual, act16, T * K),        MHC_TEST_OUT(out_grad_h_pre, false, n),
           MHC_TEST_OUT(out_grad_norm_weight, false, C)};
      break;
    case MHC_OP_STATIC_POST_BACKWARD:
      v = {MHC_TEST_IN(residual, act16, T * K, -2, 2),         MHC_TEST_IN(layer_output, act16, T * C, -2, 2),
           MHC_TEST_IN(h_post, false, n, -1, 1),                 MHC_TEST_IN(h_res, false, n * n, -1, 1),
           MHC_TEST_IN(grad_residual, act16, T * K, -1, 1),      MHC_TEST_OUT(out_grad_residual, act16, T * K),
           MHC_TEST_OUT(out_grad_layer_output, act16, T * C),    MHC_TEST_OUT(out_grad_h_post, false, n),
           MHC_TEST_OUT(out_grad_h_res, false, n * n)};
      break;
    case MHC_OP_STATIC_LAYER_BACKWARD:
      v = {MHC_TEST_IN(residual, act16, T * K, -2, 2),         MHC_TEST_IN(norm_weight, true, C, 0.5, 1.5),
           MHC_TEST_IN(h_pre, false, n, -1, 1),                  MHC_TEST_IN(h_post, false, n, -1, 1),
           MHC_TEST_IN(h_res, false, n * n, -1, 1),              MHC_TEST_IN(grad_residual, act16, T * K, -1, 1),
           MHC_TEST_OUT(out_grad_residual, act16, T * K),        MHC_TEST_OUT(out_grad_h_pre, false, n),
           MHC_TEST_OUT(out_grad_h_post, false, n),              MHC_TEST_OUT(out_grad_h_res, false, n * n),
           MHC_TEST_OUT(out_grad_norm_weight, false, C)};
      break;
    default:
      FAIL("make_case: unknown op " << d.op);
  }
  c.fill_inputs();
  c.poison_outputs();
  return c;
}

#undef MHC_TEST_IN
#undef MHC_TEST_OUT
#undef MHC_TEST_OPT_OUT

// One row of the op table the lifecycle, validation and thread suites iterate over.
struct OpVariant {
  const char* name;
  mhc_op_t op;
  int32_t n;
  int64_t C;
  mhc_dtype_t act;
  uint32_t flags;
  int32_t num_splits;
  mhc_sku_t sku;
  const char* sku_name;

  mhc_desc_t desc(int64_t T) const {
    mhc_desc_t d = make_desc(op, T, n, C);
    d.act_dtype = act;
    d.flags = flags;
    d.num_splits = num_splits;
    return d;
  }
};

// Every op on the host backend, small shapes: K = 288 has 5 granules of 64, the last one short.
inline const std::vector<OpVariant>& all_variants() {
  constexpr mhc_dtype_t BF16 = MHC_DTYPE_BF16, FP32 = MHC_DTYPE_FP32;
  constexpr uint32_t SPLIT = MHC_DESC_FLAG_SPLIT_PARTIALS, SHIFTED = MHC_DESC_FLAG_SHIFTED,
                     NORM = MHC_DESC_FLAG_NORM;
  static const std::vector<OpVariant> v = {
      {"prenorm_gemm reduced, default S", MHC_OP_PRENORM_GEMM, 4, 72, BF16, 0, 0, MHC_SKU_HOST_PRENORM_GEMM,
       "host_fp64_prenorm_gemm"},
      {"prenorm_gemm partials S=3", MHC_OP_PRENORM_GEMM, 4, 72, BF16, SPLIT, 3, MHC_SKU_HOST_PRENORM_GEMM,
       "host_fp64_prenorm_gemm"},
      {"pre_fuse reduced", MHC_OP_PRE_FUSE, 4, 72, BF16, 0, 0, MHC_SKU_HOST_PRE_FUSE, "host_fp64_pre_fuse"},
      {"pre_fuse partials S=3", MHC_OP_PRE_FUSE, 4, 72, BF16, SPLIT, 3, MHC_SKU_HOST_PRE_FUSE, "host_fp64_pre_fuse"},
      {"pre, default S", MHC_OP_PRE, 4, 72, BF16, 0, 0, MHC_SKU_HOST_PRE, "host_fp64_pre"},
      {"pre S=2", MHC_OP_PRE, 2, 100, BF16, 0, 2, MHC_SKU_HOST_PRE, "host_fp64_pre"},
      {"post", MHC_OP_POST, 4, 72, BF16, 0, 0, MHC_SKU_HOST_POST, "host_fp64_post"},
      {"head", MHC_OP_HEAD, 4, 72, BF16, 0, 0, MHC_SKU_HOST_HEAD, "host_fp64_head"},
      {"expand", MHC_OP_EXPAND, 4, 72, BF16, 0, 0, MHC_SKU_HOST_EXPAND, "host_fp64_expand"},
      {"boundary v4", MHC_OP_BOUNDARY, 4, 72, BF16, 0, 0, MHC_SKU_HOST_BOUNDARY, "host_fp64_boundary"},
      {"boundary v4 norm S=2", MHC_OP_BOUNDARY, 2, 100, BF16, NORM, 2, MHC_SKU_HOST_BOUNDARY, "host_fp64_boundary"},
      {"boundary shifted", MHC_OP_BOUNDARY, 4, 72, BF16, SHIFTED, 0, MHC_SKU_HOST_BOUNDARY, "host_fp64_boundary"},
      {"boundary shifted norm", MHC_OP_BOUNDARY, 4, 72, BF16, SHIFTED | NORM, 0, MHC_SKU_HOST_BOUNDARY,
       "host_fp64_boundary"},
      {"boundary_collapse", MHC_OP_BOUNDARY_COLLAPSE, 4, 72, BF16, 0, 0, MHC_SKU_HOST_BOUNDARY_COLLAPSE,
       "host_fp64_boundary_collapse"},
      {"boundary_collapse norm", MHC_OP_BOUNDARY_COLLAPSE, 4, 72, BF16, NORM, 0, MHC_SKU_HOST_BOUNDARY_COLLAPSE,
       "host_fp64_boundary_collapse"},
      {"boundary_mix", MHC_OP_BOUNDARY_MIX, 4, 72, BF16, 0, 0, MHC_SKU_HOST_BOUNDARY_MIX, "host_fp64_boundary_mix"},
      {"boundary_first v4 norm", MHC_OP_BOUNDARY_FIRST, 4, 72, BF16, NORM, 0, MHC_SKU_HOST_BOUNDARY_FIRST,
       "host_fp64_boundary_first"},
      {"boundary_first shifted", MHC_OP_BOUNDARY_FIRST, 4, 72, BF16, SHIFTED, 0, MHC_SKU_HOST_BOUNDARY_FIRST,
       "host_fp64_boundary_first"},
      {"pre_backward", MHC_OP_PRE_BACKWARD, 4, 72, BF16, 0, 0, MHC_SKU_HOST_PRE_BACKWARD, "host_fp64_pre_backward"},
      {"pre_backward n=2", MHC_OP_PRE_BACKWARD, 2, 100, BF16, 0, 0, MHC_SKU_HOST_PRE_BACKWARD,
       "host_fp64_pre_backward"},
      {"post_backward", MHC_OP_POST_BACKWARD, 4, 72, BF16, 0, 0, MHC_SKU_HOST_POST_BACKWARD, "host_fp64_post_backward"},
      {"head_backward", MHC_OP_HEAD_BACKWARD, 4, 72, BF16, 0, 0, MHC_SKU_HOST_HEAD_BACKWARD, "host_fp64_head_backward"},
      {"expand_backward", MHC_OP_EXPAND_BACKWARD, 4, 72, BF16, 0, 0, MHC_SKU_HOST_EXPAND_BACKWARD,
       "host_fp64_expand_backward"},
      {"static_pre fp32", MHC_OP_STATIC_PRE, 3, 40, FP32, 0, 0, MHC_SKU_HOST_STATIC_PRE, "host_fp64_static_pre"},
      {"static_pre bf16", MHC_OP_STATIC_PRE, 3, 40, BF16, 0, 0, MHC_SKU_HOST_STATIC_PRE, "host_fp64_static_pre"},
      {"static_post fp32", MHC_OP_STATIC_POST, 3, 40, FP32, 0, 0, MHC_SKU_HOST_STATIC_POST,
       "host_fp64_static_post"},
      {"static_post bf16", MHC_OP_STATIC_POST, 3, 40, BF16, 0, 0, MHC_SKU_HOST_STATIC_POST,
       "host_fp64_static_post"},
      {"static_layer fp32", MHC_OP_STATIC_LAYER, 3, 40, FP32, 0, 0, MHC_SKU_HOST_STATIC_LAYER,
       "host_fp64_static_layer"},
      {"static_layer bf16", MHC_OP_STATIC_LAYER, 3, 40, BF16, 0, 0, MHC_SKU_HOST_STATIC_LAYER,
       "host_fp64_static_layer"},
      {"static_pre_backward fp32", MHC_OP_STATIC_PRE_BACKWARD, 3, 40, FP32, 0, 0, MHC_SKU_HOST_STATIC_PRE_BACKWARD,
       "host_fp64_static_pre_backward"},
      {"static_post_backward bf16", MHC_OP_STATIC_POST_BACKWARD, 3, 40, BF16, 0, 0,
       MHC_SKU_HOST_STATIC_POST_BACKWARD, "host_fp64_static_post_backward"},
      {"static_layer_backward fp32", MHC_OP_STATIC_LAYER_BACKWARD, 3, 40, FP32, 0, 0,
       MHC_SKU_HOST_STATIC_LAYER_BACKWARD, "host_fp64_static_layer_backward"},
      {"static_layer_backward bf16", MHC_OP_STATIC_LAYER_BACKWARD, 3, 40, BF16, 0, 0,
       MHC_SKU_HOST_STATIC_LAYER_BACKWARD, "host_fp64_static_layer_backward"},
  };
  return v;
}

// The plan's descriptor (defaults resolved): what make_case needs for partial counts.
inline mhc_desc_t plan_desc(mhc_plan_t plan) {
  mhc_desc_t d;
  std::memset(&d, 0, sizeof d);
  d.struct_size = sizeof d;
  REQUIRE(mhc_plan_get_desc(plan, &d) == MHC_STATUS_SUCCESS);
  return d;
}

}  // namespace mhc_test
