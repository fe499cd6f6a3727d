#include "problem.hpp"

#include <algorithm>
#include <cmath>

#include "error.hpp"
#include "struct_copy.hpp"

namespace mhc {
namespace {

constexpr int64_t kMaxElements = int64_t{1} << 46;  // keeps every byte count far from overflow

bool dtype_is_known(mhc_dtype_t t) {
  return t == MHC_DTYPE_BF16 || t == MHC_DTYPE_FP32 || t == MHC_DTYPE_TF32 || t == MHC_DTYPE_FP64;
}

void check_eps(float v, const char* field, const char* op) {
  if (!(v > 0.0f) || !std::isfinite(v))
    fail(MHC_STATUS_BAD_PARAM_VALUE, "desc->{} = {}: expected a finite value > 0 (op {})", field, v, op);
}

}  // namespace

Family family_of(mhc_op_t op) {
  return op >= MHC_OP_STATIC_PRE ? Family::kStatic : Family::kDynamic;
}

bool op_is_known(mhc_op_t op) {
  switch (op) {
    case MHC_OP_PRENORM_GEMM: case MHC_OP_PRE_FUSE: case MHC_OP_PRE: case MHC_OP_POST:
    case MHC_OP_HEAD: case MHC_OP_EXPAND: case MHC_OP_STATIC_PRE: case MHC_OP_STATIC_POST:
    case MHC_OP_STATIC_LAYER:
      return true;
    default:
      return false;
  }
}

const char* op_name(mhc_op_t op) {
  switch (op) {
    case MHC_OP_PRENORM_GEMM: return "MHC_OP_PRENORM_GEMM";
    case MHC_OP_PRE_FUSE: return "MHC_OP_PRE_FUSE";
    case MHC_OP_PRE: return "MHC_OP_PRE";
    case MHC_OP_POST: return "MHC_OP_POST";
    case MHC_OP_HEAD: return "MHC_OP_HEAD";
    case MHC_OP_EXPAND: return "MHC_OP_EXPAND";
    case MHC_OP_STATIC_PRE: return "MHC_OP_STATIC_PRE";
    case MHC_OP_STATIC_POST: return "MHC_OP_STATIC_POST";
    case MHC_OP_STATIC_LAYER: return "MHC_OP_STATIC_LAYER";
    default: return "unknown op";
  }
}

int32_t default_splits(int64_t T, int64_t G, bool batch_invariant) {
  int64_t s = batch_invariant ? std::clamp<int64_t>(G / 8, 1, 64) : (T <= 64 ? 32 : 16);
  return static_cast<int32_t>(std::min(s, G));
}

int64_t Problem::k_begin(int32_t s) const {
  // floor(G/S) granules per split, the first G mod S splits one more; the last granule may be short.
  const int64_t per = G / S, extra = G % S;
  const int64_t granules = s * per + std::min<int64_t>(s, extra);
  return std::min(granules * kGranule, K);
}

Problem make_problem(const mhc_desc_t* user, bool batch_invariant) {
  Problem p{};
  copy_struct_in(&p.desc, user, "desc", sizeof(mhc_desc_t));
  mhc_desc_t& d = p.desc;
  if (!op_is_known(d.op))
    fail(MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM,
         "desc->op = {}: expected one of MHC_OP_PRENORM_GEMM(1) .. MHC_OP_EXPAND(6), "
         "MHC_OP_STATIC_PRE(16) .. MHC_OP_STATIC_LAYER(18)", d.op);
  const char* op = op_name(d.op);
  p.family = family_of(d.op);
  const bool dyn = p.family == Family::kDynamic;

  if (d.reserved0 != 0) fail(MHC_STATUS_BAD_PARAM_VALUE, "desc->reserved0 = {}: expected 0", d.reserved0);
  if (d.tokens < 1)
    fail(MHC_STATUS_BAD_PARAM_SHAPE, "desc->tokens = {}: expected >= 1 ({} of op {})", d.tokens,
         dyn ? "T" : "B", op);
  if (d.hidden < 1) fail(MHC_STATUS_BAD_PARAM_SHAPE, "desc->hidden = {}: expected C >= 1 (op {})", d.hidden, op);
  const int max_n = dyn ? 8 : 32;
  if (d.n < 1 || d.n > max_n)
    fail(MHC_STATUS_BAD_PARAM_SHAPE, "desc->n = {}: expected 1..{} for op {}", d.n, max_n, op);
  if (d.hidden > kMaxElements / d.n || d.tokens > kMaxElements / (d.n * d.hidden))
    fail(MHC_STATUS_BAD_PARAM_SHAPE, "desc->tokens * n * hidden = {} * {} * {}: too large (limit 2^46 elements)",
         d.tokens, d.n, d.hidden);

  // An unknown dtype is UNKNOWN_ENUM; a known one this field does not take is VALUE.
  if (d.act_dtype != MHC_DTYPE_BF16 && d.act_dtype != MHC_DTYPE_FP32)
    fail(dtype_is_known(d.act_dtype) ? MHC_STATUS_BAD_PARAM_VALUE : MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM,
         "desc->act_dtype = {}: expected a storage dtype, MHC_DTYPE_BF16(1) or MHC_DTYPE_FP32(2)", d.act_dtype);
  if (dyn && d.act_dtype != MHC_DTYPE_BF16)
    fail(MHC_STATUS_BAD_PARAM_VALUE, "desc->act_dtype = {}: op {} takes a bf16 residual (MHC_DTYPE_BF16)",
         d.act_dtype, op);
  if (d.weight_precision != MHC_DTYPE_TF32 && d.weight_precision != MHC_DTYPE_FP32)
    fail(dtype_is_known(d.weight_precision) ? MHC_STATUS_BAD_PARAM_VALUE : MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM,
         "desc->weight_precision = {}: expected MHC_DTYPE_TF32(3) or MHC_DTYPE_FP32(2)", d.weight_precision);
  if (d.flags & ~MHC_DESC_FLAG_SPLIT_PARTIALS)
    fail(MHC_STATUS_BAD_PARAM_VALUE, "desc->flags = {:#x}: unknown bits (expected MHC_DESC_FLAG_*)", d.flags);
  p.partials = (d.flags & MHC_DESC_FLAG_SPLIT_PARTIALS) != 0;
  if (p.partials && d.op != MHC_OP_PRENORM_GEMM && d.op != MHC_OP_PRE_FUSE)
    fail(MHC_STATUS_BAD_PARAM_VALUE,
         "desc->flags has MHC_DESC_FLAG_SPLIT_PARTIALS: only MHC_OP_PRENORM_GEMM and MHC_OP_PRE_FUSE take it, not {}", op);

  const bool uses_sinkhorn = d.op == MHC_OP_PRE_FUSE || d.op == MHC_OP_PRE || d.op == MHC_OP_STATIC_POST ||
                             d.op == MHC_OP_STATIC_LAYER;
  if (uses_sinkhorn && (d.sinkhorn_repeat < 1 || d.sinkhorn_repeat > 1000))
    fail(MHC_STATUS_BAD_PARAM_VALUE, "desc->sinkhorn_repeat = {}: expected 1..1000 (op {})", d.sinkhorn_repeat, op);
  if (dyn && d.op != MHC_OP_POST && d.op != MHC_OP_EXPAND && d.op != MHC_OP_PRENORM_GEMM) {
    check_eps(d.rms_eps, "rms_eps", op);
    check_eps(d.pre_eps, "pre_eps", op);
    if (d.op != MHC_OP_HEAD) {
      check_eps(d.sinkhorn_eps, "sinkhorn_eps", op);
      if (!std::isfinite(d.post_mult))
        fail(MHC_STATUS_BAD_PARAM_VALUE, "desc->post_mult = {}: expected a finite value (op {})", d.post_mult, op);
    }
  }
  if (!dyn) check_eps(d.static_eps, "static_eps", op);

  p.T = d.tokens;
  p.C = d.hidden;
  p.n = d.n;
  p.K = int64_t{d.n} * d.hidden;
  p.G = (p.K + kGranule - 1) / kGranule;
  p.N = (d.op == MHC_OP_HEAD) ? d.n
        : (d.op == MHC_OP_PRENORM_GEMM || d.op == MHC_OP_PRE_FUSE || d.op == MHC_OP_PRE) ? int64_t{d.n} * (d.n + 2)
                                                                                          : 0;
  p.S = 1;
  const bool splits_k = d.op == MHC_OP_PRENORM_GEMM || d.op == MHC_OP_PRE;
  if (splits_k) {
    if (d.num_splits < 0 || d.num_splits > p.G)
      fail(MHC_STATUS_BAD_PARAM_SHAPE,
           "desc->num_splits = {}: expected 0 (default) or 1..{} (the K = {} axis has {} granules of 64)",
           d.num_splits, p.G, p.K, p.G);
    p.S = d.num_splits ? d.num_splits : default_splits(p.T, p.G, batch_invariant);
    p.s_from_tokens = d.num_splits == 0 && !batch_invariant;
  } else if (d.op == MHC_OP_PRE_FUSE && p.partials) {
    if (d.num_splits < 1 || d.num_splits > p.G)
      fail(MHC_STATUS_BAD_PARAM_SHAPE,
           "desc->num_splits = {}: with MHC_DESC_FLAG_SPLIT_PARTIALS expected the partial count 1..{}",
           d.num_splits, p.G);
    p.S = d.num_splits;
  } else if (d.num_splits != 0 && !(d.op == MHC_OP_PRE_FUSE && d.num_splits == 1)) {
    fail(MHC_STATUS_BAD_PARAM_SHAPE, "desc->num_splits = {}: op {} takes no split count (expected 0)",
         d.num_splits, op);
  }
  d.num_splits = (splits_k || (d.op == MHC_OP_PRE_FUSE && p.partials)) ? p.S : 0;
  return p;
}

}  // namespace mhc
