// make_problem: a descriptor checked against its op's card, defaults resolved.
#include "problem.hpp"

#include <algorithm>
#include <cmath>

#include "../common/error.hpp"
#include "../common/struct_copy.hpp"

namespace mhc {
namespace {

constexpr int64_t kMaxElements = int64_t{1} << 46;  // keeps every byte count far from overflow

bool dtype_is_known(mhc_dtype_t t) {
  return t == MHC_DTYPE_BF16 || t == MHC_DTYPE_FP32 || t == MHC_DTYPE_TF32 || t == MHC_DTYPE_FP64 ||
         t == MHC_DTYPE_TF32X3;
}

void check_eps(float v, const char* field, const char* op) {
  if (!(v > 0.0f) || !std::isfinite(v))
    fail(MHC_STATUS_BAD_PARAM_VALUE, "desc->{} = {}: expected a finite value > 0 (op {})", field, v, op);
}

void check_act_dtype(const mhc_desc_t& d, const OpCard& card) {
  // An unknown dtype is UNKNOWN_ENUM; a known one this field does not take is VALUE.
  if (d.act_dtype != MHC_DTYPE_BF16 && d.act_dtype != MHC_DTYPE_FP32)
    fail(dtype_is_known(d.act_dtype) ? MHC_STATUS_BAD_PARAM_VALUE : MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM,
         "desc->act_dtype = {}: expected a storage dtype, MHC_DTYPE_BF16(1) or MHC_DTYPE_FP32(2)", d.act_dtype);
  if (d.act_dtype == MHC_DTYPE_BF16 && !card.act_bf16)
    fail(MHC_STATUS_BAD_PARAM_VALUE, "desc->act_dtype = {}: op {} takes an fp32 residual (MHC_DTYPE_FP32)",
         d.act_dtype, card.name);
  if (d.act_dtype == MHC_DTYPE_FP32 && !card.act_fp32)
    fail(MHC_STATUS_BAD_PARAM_VALUE, "desc->act_dtype = {}: op {} takes a bf16 residual (MHC_DTYPE_BF16)",
         d.act_dtype, card.name);
}

void check_desc_values(const mhc_desc_t& d, const OpCard& card) {
  const char* op = card.name;
  if (d.weight_precision != MHC_DTYPE_TF32 && d.weight_precision != MHC_DTYPE_FP32 &&
      d.weight_precision != MHC_DTYPE_TF32X3)
    fail(dtype_is_known(d.weight_precision) ? MHC_STATUS_BAD_PARAM_VALUE : MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM,
         "desc->weight_precision = {}: expected MHC_DTYPE_TF32(3), MHC_DTYPE_TF32X3(5) or MHC_DTYPE_FP32(2)",
         d.weight_precision);
  constexpr uint32_t kKnownFlags = MHC_DESC_FLAG_SPLIT_PARTIALS | MHC_DESC_FLAG_SHIFTED | MHC_DESC_FLAG_NORM;
  if (d.flags & ~kKnownFlags)
    fail(MHC_STATUS_BAD_PARAM_VALUE, "desc->flags = {:#x}: unknown bits (expected MHC_DESC_FLAG_*)", d.flags);
  if ((d.flags & MHC_DESC_FLAG_SHIFTED) && !(card.mode_flags & MHC_DESC_FLAG_SHIFTED))
    fail(MHC_STATUS_BAD_PARAM_VALUE,
         "desc->flags has MHC_DESC_FLAG_SHIFTED: op {} has no shifted mode (MHC_OP_BOUNDARY and "
         "MHC_OP_BOUNDARY_FIRST do)", op);
  if ((d.flags & MHC_DESC_FLAG_NORM) && !(card.mode_flags & MHC_DESC_FLAG_NORM))
    fail(MHC_STATUS_BAD_PARAM_VALUE,
         "desc->flags has MHC_DESC_FLAG_NORM: op {} applies no RMSNorm (MHC_OP_BOUNDARY, "
         "MHC_OP_BOUNDARY_COLLAPSE and MHC_OP_BOUNDARY_FIRST do)", op);
  if ((card.uses & kUsesNorm) && (d.flags & MHC_DESC_FLAG_NORM)) {
    check_eps(d.norm_eps, "norm_eps", op);
    if (!std::isfinite(d.norm_scale) || d.norm_scale == 0.0f)
      fail(MHC_STATUS_BAD_PARAM_VALUE,
           "desc->norm_scale = {}: expected a finite, nonzero value (1.0 unless the model scales its "
           "RMSNorm weight; mhc_desc_init sets 1.0; op {})", d.norm_scale, op);
  }
  if ((d.flags & MHC_DESC_FLAG_SPLIT_PARTIALS) && !card.partials_flag)
    fail(MHC_STATUS_BAD_PARAM_VALUE,
         "desc->flags has MHC_DESC_FLAG_SPLIT_PARTIALS: op {} takes no split partials (MHC_OP_PRENORM_GEMM and "
         "MHC_OP_PRE_FUSE do)", op);
  if ((card.uses & kUsesSinkhornRepeat) && (d.sinkhorn_repeat < 1 || d.sinkhorn_repeat > 1000))
    fail(MHC_STATUS_BAD_PARAM_VALUE, "desc->sinkhorn_repeat = {}: expected 1..1000 (op {})", d.sinkhorn_repeat, op);
  if (card.uses & kUsesRmsEps) check_eps(d.rms_eps, "rms_eps", op);
  if (card.uses & kUsesPreEps) check_eps(d.pre_eps, "pre_eps", op);
  if (card.uses & kUsesSinkhornEps) check_eps(d.sinkhorn_eps, "sinkhorn_eps", op);
  if ((card.uses & kUsesPostMult) && !std::isfinite(d.post_mult))
    fail(MHC_STATUS_BAD_PARAM_VALUE, "desc->post_mult = {}: expected a finite value (op {})", d.post_mult, op);
  if (card.uses & kUsesStaticEps) check_eps(d.static_eps, "static_eps", op);
}

// S from num_splits under the card's SplitRule; writes p.S, p.s_from_tokens and desc.num_splits.
void resolve_splits(Problem& p, bool batch_invariant) {
  mhc_desc_t& d = p.desc;
  const OpCard& card = *p.card;
  p.S = 1;
  switch (card.splits) {
    case SplitRule::kSplitK:
      if (d.num_splits < 0 || d.num_splits > p.G)
        fail(MHC_STATUS_BAD_PARAM_SHAPE,
             "desc->num_splits = {}: expected 0 (default) or 1..{} (the K = {} axis has {} granules of 64)",
             d.num_splits, p.G, p.K, p.G);
      p.S = d.num_splits ? d.num_splits : default_splits(p.T, p.G, batch_invariant);
      p.s_from_tokens = d.num_splits == 0 && !batch_invariant;
      d.num_splits = p.S;
      return;
    case SplitRule::kPartialCount:
      if (p.partials) {
        if (d.num_splits < 1 || d.num_splits > p.G)
          fail(MHC_STATUS_BAD_PARAM_SHAPE,
               "desc->num_splits = {}: with MHC_DESC_FLAG_SPLIT_PARTIALS expected the partial count 1..{}",
               d.num_splits, p.G);
        p.S = d.num_splits;
        return;
      }
      if (d.num_splits != 0 && d.num_splits != 1)
        fail(MHC_STATUS_BAD_PARAM_SHAPE,
             "desc->num_splits = {}: op {} reads reduced (D, Q) without MHC_DESC_FLAG_SPLIT_PARTIALS (expected 0)",
             d.num_splits, card.name);
      d.num_splits = 0;
      return;
    case SplitRule::kNone:
      if (d.num_splits != 0)
        fail(MHC_STATUS_BAD_PARAM_SHAPE, "desc->num_splits = {}: op {} takes no split count (expected 0)",
             d.num_splits, card.name);
      return;
  }
}

}  // namespace

const char* op_name(mhc_op_t op) {
  const OpCard* c = find_card(op);
  return c ? c->name : "unknown op";
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

Problem Problem::with_tokens(int64_t tokens) const {
  Problem p = *this;
  p.T = tokens;
  p.desc.tokens = tokens;
  return p;
}

Problem make_problem(const mhc_desc_t* user, bool batch_invariant) {
  Problem p{};
  copy_struct_in(&p.desc, user, "desc", kDescMinSize);
  mhc_desc_t& d = p.desc;
  p.card = find_card(d.op);
  if (p.card == nullptr)
    fail(MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM, "desc->op = {}: expected one of {}", d.op, op_id_list());
  const OpCard& card = *p.card;
  const char* op = card.name;
  p.family = card.family;

  if (d.reserved0 != 0) fail(MHC_STATUS_BAD_PARAM_VALUE, "desc->reserved0 = {}: expected 0", d.reserved0);
  if (d.tokens < 1)
    fail(MHC_STATUS_BAD_PARAM_SHAPE, "desc->tokens = {}: expected >= 1 ({} of op {})", d.tokens,
         card.family == Family::kDynamic ? "T" : "B", op);
  if (d.hidden < 1) fail(MHC_STATUS_BAD_PARAM_SHAPE, "desc->hidden = {}: expected C >= 1 (op {})", d.hidden, op);
  if (d.n < card.n_min || d.n > card.n_max)
    fail(MHC_STATUS_BAD_PARAM_SHAPE, "desc->n = {}: expected {}..{} for op {}", d.n, card.n_min, card.n_max, op);
  if (d.hidden > kMaxElements / d.n || d.tokens > kMaxElements / (d.n * d.hidden))
    fail(MHC_STATUS_BAD_PARAM_SHAPE, "desc->tokens * n * hidden = {} * {} * {}: too large (limit 2^46 elements)",
         d.tokens, d.n, d.hidden);
  check_act_dtype(d, card);
  check_desc_values(d, card);
  p.partials = (d.flags & MHC_DESC_FLAG_SPLIT_PARTIALS) != 0;
  p.shifted = (d.flags & MHC_DESC_FLAG_SHIFTED) != 0;
  p.norm = (d.flags & MHC_DESC_FLAG_NORM) != 0;

  p.T = d.tokens;
  p.C = d.hidden;
  p.n = d.n;
  p.K = int64_t{d.n} * d.hidden;
  p.G = (p.K + kGranule - 1) / kGranule;
  p.N = card.mixes == MixRule::kPreMixes ? int64_t{d.n} * (d.n + 2) : card.mixes == MixRule::kStreams ? d.n : 0;
  p.batch_invariant = batch_invariant;
  resolve_splits(p, batch_invariant);
  return p;
}

}  // namespace mhc
