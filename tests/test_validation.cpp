// Descriptor and preference validation in mhc_plan_select: every bad input gets its exact status,
// a message naming the argument, and *plan is NULL. Positive controls sit next to each bound.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "op_buffers.hpp"

using namespace mhc_test;

namespace {

struct BadDesc {
  std::string what;
  mhc_op_t op;
  std::function<void(mhc_desc_t&)> mutate;
  mhc_status_t status;
  const char* needle;
};

// A valid descriptor: T = 4, n = 4, C = 72 (K = 288: 5 granules), partials S = 3 where used.
mhc_desc_t base_desc(mhc_op_t op) {
  mhc_desc_t d = make_desc(op, 4, 4, 72);
  return d;
}

void require_rejected(const mhc_desc_t& d, const mhc_preference_t* pref, mhc_status_t status, const char* needle) {
  int dummy = 0;
  mhc_plan_t plan = reinterpret_cast<mhc_plan_t>(&dummy);
  REQUIRE_STATUS(mhc_plan_select(&d, pref, &plan), status, needle);
  CHECK(plan == nullptr);
}

void require_accepted(const mhc_desc_t& d, const mhc_preference_t* pref = nullptr) {
  mhc_plan_t plan = nullptr;
  REQUIRE_OK(mhc_plan_select(&d, pref, &plan));
  REQUIRE(plan != nullptr);
  REQUIRE_OK(mhc_plan_destroy(plan));
}

const mhc_op_t kAllOps[] = {MHC_OP_PRENORM_GEMM, MHC_OP_PRE_FUSE,   MHC_OP_PRE,         MHC_OP_POST,
                            MHC_OP_HEAD,         MHC_OP_EXPAND,     MHC_OP_BOUNDARY,    MHC_OP_BOUNDARY_COLLAPSE,
                            MHC_OP_BOUNDARY_MIX, MHC_OP_BOUNDARY_FIRST, MHC_OP_STATIC_PRE, MHC_OP_STATIC_POST,
                            MHC_OP_STATIC_LAYER, MHC_OP_PRE_BACKWARD, MHC_OP_POST_BACKWARD, MHC_OP_HEAD_BACKWARD,
                            MHC_OP_EXPAND_BACKWARD, MHC_OP_STATIC_PRE_BACKWARD, MHC_OP_STATIC_POST_BACKWARD,
                            MHC_OP_STATIC_LAYER_BACKWARD};
const mhc_op_t kDynamicOps[] = {MHC_OP_PRENORM_GEMM,   MHC_OP_PRE_FUSE,          MHC_OP_PRE,
                                MHC_OP_POST,           MHC_OP_HEAD,              MHC_OP_EXPAND,
                                MHC_OP_BOUNDARY,       MHC_OP_BOUNDARY_COLLAPSE, MHC_OP_BOUNDARY_MIX,
                                MHC_OP_BOUNDARY_FIRST, MHC_OP_PRE_BACKWARD,      MHC_OP_POST_BACKWARD,
                                MHC_OP_HEAD_BACKWARD,  MHC_OP_EXPAND_BACKWARD};
const mhc_op_t kStaticOps[] = {MHC_OP_STATIC_PRE,          MHC_OP_STATIC_POST,          MHC_OP_STATIC_LAYER,
                               MHC_OP_STATIC_PRE_BACKWARD, MHC_OP_STATIC_POST_BACKWARD, MHC_OP_STATIC_LAYER_BACKWARD};
const mhc_op_t kSinkhornOps[] = {MHC_OP_PRE_FUSE,       MHC_OP_PRE,          MHC_OP_BOUNDARY,
                                 MHC_OP_BOUNDARY_MIX,   MHC_OP_BOUNDARY_FIRST, MHC_OP_STATIC_POST,
                                 MHC_OP_STATIC_LAYER,   MHC_OP_PRE_BACKWARD, MHC_OP_STATIC_POST_BACKWARD,
                                 MHC_OP_STATIC_LAYER_BACKWARD};
// The boundary's modes (A7): which op takes which flag, and the ops that read norm_eps/norm_scale.
const mhc_op_t kShiftedOps[] = {MHC_OP_BOUNDARY, MHC_OP_BOUNDARY_FIRST};
const mhc_op_t kNormOps[] = {MHC_OP_BOUNDARY, MHC_OP_BOUNDARY_COLLAPSE, MHC_OP_BOUNDARY_FIRST};
// Ops with the A2 coefficient math (mixes, gates, Sinkhorn) and a split-K GEMM.
const mhc_op_t kMixOps[] = {MHC_OP_PRE, MHC_OP_BOUNDARY, MHC_OP_BOUNDARY_MIX, MHC_OP_BOUNDARY_FIRST};

template <size_t N>
bool contains(const mhc_op_t (&ops)[N], mhc_op_t op) {
  return std::find(std::begin(ops), std::end(ops), op) != std::end(ops);
}

std::vector<BadDesc> bad_descriptors() {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  std::vector<BadDesc> v;
  for (mhc_op_t op : kAllOps) {
    for (int64_t t : {int64_t{0}, int64_t{-1}, std::numeric_limits<int64_t>::min()})
      v.push_back({"tokens " + std::to_string(t), op, [t](mhc_desc_t& d) { d.tokens = t; },
                   MHC_STATUS_BAD_PARAM_SHAPE, "desc->tokens"});
    for (int64_t c : {int64_t{0}, int64_t{-72}})
      v.push_back({"hidden " + std::to_string(c), op, [c](mhc_desc_t& d) { d.hidden = c; },
                   MHC_STATUS_BAD_PARAM_SHAPE, "desc->hidden"});
    for (int32_t n : {0, -1, -4})
      v.push_back({"n " + std::to_string(n), op, [n](mhc_desc_t& d) { d.n = n; }, MHC_STATUS_BAD_PARAM_SHAPE,
                   "desc->n"});
    v.push_back({"T*n*C overflows", op, [](mhc_desc_t& d) { d.tokens = int64_t{1} << 40, d.hidden = int64_t{1} << 30; },
                 MHC_STATUS_BAD_PARAM_SHAPE, "desc->tokens"});
    for (mhc_dtype_t dt : {0, 6, 99, -1})
      v.push_back({"act_dtype " + std::to_string(dt), op, [dt](mhc_desc_t& d) { d.act_dtype = dt; },
                   MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM, "desc->act_dtype"});
    for (mhc_dtype_t dt : {MHC_DTYPE_TF32, MHC_DTYPE_FP64, MHC_DTYPE_TF32X3})  // known, never a storage dtype
      v.push_back({"act_dtype " + std::to_string(dt), op, [dt](mhc_desc_t& d) { d.act_dtype = dt; },
                   MHC_STATUS_BAD_PARAM_VALUE, "desc->act_dtype"});
    for (mhc_dtype_t dt : {0, 6, 99})
      v.push_back({"weight_precision " + std::to_string(dt), op, [dt](mhc_desc_t& d) { d.weight_precision = dt; },
                   MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM, "desc->weight_precision"});
    for (mhc_dtype_t dt : {MHC_DTYPE_BF16, MHC_DTYPE_FP64})
      v.push_back({"weight_precision " + std::to_string(dt), op, [dt](mhc_desc_t& d) { d.weight_precision = dt; },
                   MHC_STATUS_BAD_PARAM_VALUE, "desc->weight_precision"});
    v.push_back({"flags unknown bit", op, [](mhc_desc_t& d) { d.flags |= 0x80000000u; }, MHC_STATUS_BAD_PARAM_VALUE,
                 "desc->flags"});
    v.push_back({"reserved0", op, [](mhc_desc_t& d) { d.reserved0 = 1; }, MHC_STATUS_BAD_PARAM_VALUE,
                 "desc->reserved0"});
  }
  for (mhc_op_t op : kDynamicOps) {
    v.push_back({"n 9", op, [](mhc_desc_t& d) { d.n = 9; }, MHC_STATUS_BAD_PARAM_SHAPE, "desc->n"});
    v.push_back({"act_dtype fp32", op, [](mhc_desc_t& d) { d.act_dtype = MHC_DTYPE_FP32; },
                 MHC_STATUS_BAD_PARAM_VALUE, "desc->act_dtype"});
  }
  for (mhc_op_t op : kStaticOps)
    v.push_back({"n 33", op, [](mhc_desc_t& d) { d.n = 33; }, MHC_STATUS_BAD_PARAM_SHAPE, "desc->n"});
  for (mhc_op_t op : {0, 11, 15, 19, 64, 65, 66, 71, 79, 83, -1, 1000})
    v.push_back({"op " + std::to_string(op), MHC_OP_PRE, [op](mhc_desc_t& d) { d.op = op; },
                 MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM, "desc->op"});
  // S larger than the K granules (K = 288: 5 granules), negative S, S for ops without splits.
  for (mhc_op_t op : {MHC_OP_PRENORM_GEMM, MHC_OP_PRE, MHC_OP_BOUNDARY, MHC_OP_BOUNDARY_MIX, MHC_OP_BOUNDARY_FIRST})
    for (int32_t s : {6, 1000, -1})
      v.push_back({"num_splits " + std::to_string(s), op, [s](mhc_desc_t& d) { d.num_splits = s; },
                   MHC_STATUS_BAD_PARAM_SHAPE, "desc->num_splits"});
  for (int32_t s : {0, 6, -1})
    v.push_back({"partials num_splits " + std::to_string(s), MHC_OP_PRE_FUSE,
                 [s](mhc_desc_t& d) { d.flags = MHC_DESC_FLAG_SPLIT_PARTIALS, d.num_splits = s; },
                 MHC_STATUS_BAD_PARAM_SHAPE, "desc->num_splits"});
  for (mhc_op_t op : {MHC_OP_PRE_FUSE, MHC_OP_POST, MHC_OP_HEAD, MHC_OP_EXPAND, MHC_OP_BOUNDARY_COLLAPSE,
                      MHC_OP_STATIC_PRE, MHC_OP_STATIC_POST, MHC_OP_STATIC_LAYER, MHC_OP_PRE_BACKWARD,
                      MHC_OP_POST_BACKWARD, MHC_OP_HEAD_BACKWARD, MHC_OP_EXPAND_BACKWARD,
                      MHC_OP_STATIC_PRE_BACKWARD, MHC_OP_STATIC_POST_BACKWARD, MHC_OP_STATIC_LAYER_BACKWARD})
    v.push_back({"num_splits 2 without splits", op, [](mhc_desc_t& d) { d.num_splits = 2; },
                 MHC_STATUS_BAD_PARAM_SHAPE, "desc->num_splits"});
  for (mhc_op_t op : {MHC_OP_PRE, MHC_OP_POST, MHC_OP_HEAD, MHC_OP_EXPAND, MHC_OP_BOUNDARY, MHC_OP_BOUNDARY_COLLAPSE,
                      MHC_OP_BOUNDARY_MIX, MHC_OP_BOUNDARY_FIRST, MHC_OP_STATIC_PRE, MHC_OP_STATIC_POST,
                      MHC_OP_STATIC_LAYER, MHC_OP_PRE_BACKWARD, MHC_OP_POST_BACKWARD, MHC_OP_HEAD_BACKWARD,
                      MHC_OP_EXPAND_BACKWARD, MHC_OP_STATIC_PRE_BACKWARD, MHC_OP_STATIC_POST_BACKWARD,
                      MHC_OP_STATIC_LAYER_BACKWARD})
    v.push_back({"split partials flag", op,
                 [](mhc_desc_t& d) { d.flags = MHC_DESC_FLAG_SPLIT_PARTIALS, d.num_splits = 2; },
                 MHC_STATUS_BAD_PARAM_VALUE, "desc->flags"});
  // eps <= 0, NaN or infinite; post_mult not finite.
  struct EpsField {
    const char* name;
    float mhc_desc_t::*field;
    std::vector<mhc_op_t> ops;
  };
  const EpsField eps_fields[] = {
      {"desc->rms_eps", &mhc_desc_t::rms_eps,
       {MHC_OP_PRE_FUSE, MHC_OP_PRE, MHC_OP_HEAD, MHC_OP_BOUNDARY, MHC_OP_BOUNDARY_MIX, MHC_OP_BOUNDARY_FIRST,
        MHC_OP_PRE_BACKWARD, MHC_OP_HEAD_BACKWARD}},
      {"desc->pre_eps", &mhc_desc_t::pre_eps,
       {MHC_OP_PRE_FUSE, MHC_OP_PRE, MHC_OP_HEAD, MHC_OP_BOUNDARY, MHC_OP_BOUNDARY_MIX, MHC_OP_BOUNDARY_FIRST,
        MHC_OP_PRE_BACKWARD, MHC_OP_HEAD_BACKWARD}},
      {"desc->sinkhorn_eps", &mhc_desc_t::sinkhorn_eps,
       {MHC_OP_PRE_FUSE, MHC_OP_PRE, MHC_OP_BOUNDARY, MHC_OP_BOUNDARY_MIX, MHC_OP_BOUNDARY_FIRST,
        MHC_OP_PRE_BACKWARD}},
      {"desc->static_eps", &mhc_desc_t::static_eps, {std::begin(kStaticOps), std::end(kStaticOps)}},
  };
  for (const EpsField& f : eps_fields)
    for (mhc_op_t op : f.ops)
      for (float e : {0.0f, -0.0f, -1e-6f, nan, -nan, inf, -inf}) {
        auto field = f.field;
        v.push_back({std::string(f.name) + " " + std::to_string(e), op, [field, e](mhc_desc_t& d) { d.*field = e; },
                     MHC_STATUS_BAD_PARAM_VALUE, f.name});
      }
  for (mhc_op_t op : {MHC_OP_PRE_FUSE, MHC_OP_PRE, MHC_OP_BOUNDARY, MHC_OP_BOUNDARY_MIX, MHC_OP_BOUNDARY_FIRST,
                      MHC_OP_PRE_BACKWARD})
    for (float m : {nan, inf, -inf})
      v.push_back({"post_mult " + std::to_string(m), op, [m](mhc_desc_t& d) { d.post_mult = m; },
                   MHC_STATUS_BAD_PARAM_VALUE, "desc->post_mult"});
  for (mhc_op_t op : kSinkhornOps)
    for (int32_t r : {0, -1, 1001})
      v.push_back({"sinkhorn_repeat " + std::to_string(r), op, [r](mhc_desc_t& d) { d.sinkhorn_repeat = r; },
                   MHC_STATUS_BAD_PARAM_VALUE, "desc->sinkhorn_repeat"});
  // The boundary's mode flags on ops without that mode (alone and with the other flag).
  for (mhc_op_t op : kAllOps) {
    if (!contains(kShiftedOps, op)) {
      v.push_back({"flag SHIFTED", op, [](mhc_desc_t& d) { d.flags |= MHC_DESC_FLAG_SHIFTED; },
                   MHC_STATUS_BAD_PARAM_VALUE, "MHC_DESC_FLAG_SHIFTED"});
      if (contains(kNormOps, op))
        v.push_back({"flags SHIFTED | NORM", op,
                     [](mhc_desc_t& d) { d.flags |= MHC_DESC_FLAG_SHIFTED | MHC_DESC_FLAG_NORM; },
                     MHC_STATUS_BAD_PARAM_VALUE, "MHC_DESC_FLAG_SHIFTED"});
    }
    if (!contains(kNormOps, op)) {
      v.push_back({"flag NORM", op, [](mhc_desc_t& d) { d.flags |= MHC_DESC_FLAG_NORM; },
                   MHC_STATUS_BAD_PARAM_VALUE, "MHC_DESC_FLAG_NORM"});
      if (contains(kShiftedOps, op))
        v.push_back({"flags SHIFTED | NORM", op,
                     [](mhc_desc_t& d) { d.flags |= MHC_DESC_FLAG_SHIFTED | MHC_DESC_FLAG_NORM; },
                     MHC_STATUS_BAD_PARAM_VALUE, "MHC_DESC_FLAG_NORM"});
    }
  }
  // norm_eps and norm_scale: checked with MHC_DESC_FLAG_NORM (in either mode where there are two).
  for (mhc_op_t op : kNormOps)
    for (uint32_t mode : {0u, static_cast<uint32_t>(MHC_DESC_FLAG_SHIFTED)}) {
      if (mode && !contains(kShiftedOps, op)) continue;
      const uint32_t flags = mode | MHC_DESC_FLAG_NORM;
      for (float e : {0.0f, -0.0f, -1e-20f, nan, -nan, inf, -inf})
        v.push_back({"norm_eps " + std::to_string(e), op,
                     [flags, e](mhc_desc_t& d) { d.flags = flags, d.norm_eps = e; }, MHC_STATUS_BAD_PARAM_VALUE,
                     "desc->norm_eps"});
      for (float sc : {0.0f, -0.0f, nan, inf, -inf})
        v.push_back({"norm_scale " + std::to_string(sc), op,
                     [flags, sc](mhc_desc_t& d) { d.flags = flags, d.norm_scale = sc; },
                     MHC_STATUS_BAD_PARAM_VALUE, "desc->norm_scale"});
    }
  return v;
}

}  // namespace

TEST_CASE("validation: every bad descriptor field", "[validation]") {
  const mhc_preference_t pref = host_only();
  const auto cases = bad_descriptors();
  REQUIRE(cases.size() > 200);
  for (const BadDesc& c : cases) {
    INFO(c.what << " (op " << c.op << ")");
    mhc_desc_t d = base_desc(c.op);
    require_accepted(d, &pref);  // the control: the unmutated descriptor is fine
    c.mutate(d);
    require_rejected(d, &pref, c.status, c.needle);
  }
}

TEST_CASE("validation: the edges of every range are accepted", "[validation]") {
  const mhc_preference_t pref = host_only();
  for (mhc_op_t op : kDynamicOps)
    for (int32_t n : {1, 8}) {
      INFO("op " << op << " n " << n);
      mhc_desc_t d = make_desc(op, 1, n, 1);
      require_accepted(d, &pref);
    }
  for (mhc_op_t op : kStaticOps)
    for (int32_t n : {1, 17, 32}) {
      INFO("op " << op << " n " << n);
      mhc_desc_t d = make_desc(op, 1, n, 3);
      d.act_dtype = MHC_DTYPE_FP32;
      require_accepted(d, &pref);
    }
  for (mhc_op_t op : kSinkhornOps)
    for (int32_t r : {1, 1000}) {
      mhc_desc_t d = base_desc(op);
      d.sinkhorn_repeat = r;
      require_accepted(d, &pref);
    }
  for (mhc_op_t op : kMixOps)
    for (int32_t s : {1, 5}) {  // S = G is the largest allowed
      mhc_desc_t d = base_desc(op);
      d.num_splits = s;
      require_accepted(d, &pref);
    }
  mhc_desc_t fuse = base_desc(MHC_OP_PRE_FUSE);
  fuse.num_splits = 1;  // a reduced pre_fuse may say S = 1
  require_accepted(fuse, &pref);
  fuse.flags = MHC_DESC_FLAG_SPLIT_PARTIALS, fuse.num_splits = 5;
  require_accepted(fuse, &pref);
  mhc_desc_t pre = base_desc(MHC_OP_PRE);
  pre.rms_eps = pre.pre_eps = pre.sinkhorn_eps = std::numeric_limits<float>::denorm_min();
  pre.post_mult = -3.0f;  // any finite value
  require_accepted(pre, &pref);
  // eps and repeat values an op does not read are not validated: they may be anything.
  mhc_desc_t expand = base_desc(MHC_OP_EXPAND);
  expand.rms_eps = expand.static_eps = std::numeric_limits<float>::quiet_NaN();
  expand.sinkhorn_repeat = 0;
  require_accepted(expand, &pref);
  // The boundary's modes: every flag combination an op takes is accepted; norm_eps and norm_scale
  // are read only with MHC_DESC_FLAG_NORM (anything goes without it), any finite nonzero scale and
  // any eps > 0 with it.
  for (mhc_op_t op : kAllOps) {
    if (!contains(kShiftedOps, op) && !contains(kNormOps, op)) continue;
    for (uint32_t flags : {0u, static_cast<uint32_t>(MHC_DESC_FLAG_SHIFTED), static_cast<uint32_t>(MHC_DESC_FLAG_NORM),
                           static_cast<uint32_t>(MHC_DESC_FLAG_SHIFTED | MHC_DESC_FLAG_NORM)}) {
      if ((flags & MHC_DESC_FLAG_SHIFTED) && !contains(kShiftedOps, op)) continue;
      if ((flags & MHC_DESC_FLAG_NORM) && !contains(kNormOps, op)) continue;
      INFO("op " << op << " flags " << flags);
      mhc_desc_t d = base_desc(op);
      d.flags = flags;
      require_accepted(d, &pref);
      if (flags & MHC_DESC_FLAG_NORM) {
        for (float e : {std::numeric_limits<float>::denorm_min(), 1e-20f, 1e3f}) {
          d.norm_eps = e;
          require_accepted(d, &pref);
        }
        for (float sc : {-2.5f, std::numeric_limits<float>::denorm_min(), 1e30f}) {
          d.norm_scale = sc;
          require_accepted(d, &pref);
        }
      } else {
        d.norm_eps = d.norm_scale = std::numeric_limits<float>::quiet_NaN();
        require_accepted(d, &pref);
        d.norm_eps = -1.0f, d.norm_scale = 0.0f;
        require_accepted(d, &pref);
      }
    }
  }
  // MHC_DESC_INIT's norm defaults (DeepSeek-V4 norm_eps 1e-6, scale 1).
  const mhc_desc_t init = MHC_DESC_INIT;
  CHECK(init.norm_eps == 1e-6f);
  CHECK(init.norm_scale == 1.0f);
}

TEST_CASE("validation: NULL descriptor and NULL plan out-pointer", "[validation]") {
  const mhc_desc_t d = base_desc(MHC_OP_PRE);
  mhc_plan_t plan = reinterpret_cast<mhc_plan_t>(&plan);
  REQUIRE_STATUS(mhc_plan_select(nullptr, nullptr, &plan), MHC_STATUS_BAD_PARAM_NULL_POINTER, "desc");
  CHECK(plan == nullptr);
  REQUIRE_STATUS(mhc_plan_select(&d, nullptr, nullptr), MHC_STATUS_BAD_PARAM_NULL_POINTER, "plan");
}

TEST_CASE("validation: mhc_desc_init rejects an unknown op and leaves the struct alone", "[validation]") {
  for (mhc_op_t op : {0, 11, 19, -5}) {
    INFO("op " << op);
    mhc_desc_t d;
    std::memset(&d, 0x5a, sizeof d);
    REQUIRE_STATUS(mhc_desc_init(&d, op), MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM, "op");
    CHECK(d.struct_size == 0x5a5a5a5au);
    CHECK(d.tokens == 0x5a5a5a5a5a5a5a5all);
  }
  REQUIRE_STATUS(mhc_desc_init(nullptr, MHC_OP_PRE), MHC_STATUS_BAD_PARAM_NULL_POINTER, "desc");
  REQUIRE_STATUS(mhc_preference_init(nullptr), MHC_STATUS_BAD_PARAM_NULL_POINTER, "pref");
  REQUIRE_STATUS(mhc_args_init(nullptr), MHC_STATUS_BAD_PARAM_NULL_POINTER, "args");
}
