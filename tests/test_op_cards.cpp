// Walks the op list: for every card, what the C ABI does (mhc_op_name, mhc_desc_init, select's
// validation, the host SKU, mhc_plan_get_tensor_info, can_implement, run-time T) follows from the
// card alone. The expectations below are computed from the card's fields, never per op, so a new
// card is covered the day it is added to op_list.def.
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "../src/ops/op_card.hpp"
#include "support.hpp"

using namespace mhc_test;

namespace {

// A descriptor for `card` that select accepts: n and C small, every used field at its default.
mhc_desc_t card_desc(const mhc::OpCard& card, int64_t T = 5) {
  mhc_desc_t d;
  REQUIRE_OK(mhc_desc_init(&d, card.id));
  d.tokens = T;
  d.n = card.n_min <= 2 && card.n_max >= 2 ? 2 : card.n_min;
  d.hidden = 100;  // K = 200 with n = 2: 4 granules of 64, the last short
  if (card.splits == mhc::SplitRule::kSplitK) d.num_splits = 1;
  return d;
}

// Every flag combination the card takes: subsets of its mode flags (MHC_DESC_FLAG_SHIFTED,
// MHC_DESC_FLAG_NORM) and, where taken, MHC_DESC_FLAG_SPLIT_PARTIALS. 0 first.
std::vector<uint32_t> card_modes(const mhc::OpCard& card) {
  const uint32_t all = card.mode_flags | (card.partials_flag ? MHC_DESC_FLAG_SPLIT_PARTIALS : 0u);
  std::vector<uint32_t> modes;
  for (uint32_t m = 0; m <= all; ++m)
    if ((m & ~all) == 0) modes.push_back(m);
  return modes;
}

std::string mode_name(uint32_t m) {
  std::string s;
  if (m & MHC_DESC_FLAG_SPLIT_PARTIALS) s += " partials";
  if (m & MHC_DESC_FLAG_SHIFTED) s += " shifted";
  if (m & MHC_DESC_FLAG_NORM) s += " norm";
  return s;
}

// The card's tensors that exist in mode `flags` (a tensor with only_with bits exists only with
// all of them), and whether each is required there (required, or required_with all set).
struct Expected {
  const mhc::TensorCard* card;
  bool required;
};
std::vector<Expected> expected_tensors(const mhc::OpCard& card, uint32_t flags) {
  std::vector<Expected> v;
  for (int i = 0; i < card.tensor_count; ++i) {
    const mhc::TensorCard& t = card.tensors[i];
    if ((flags & t.only_with) != t.only_with) continue;
    v.push_back({&t, t.required || (t.required_with != 0 && (flags & t.required_with) == t.required_with)});
  }
  return v;
}

mhc_preference_t forced_host(const mhc::OpCard& card) {
  mhc_preference_t p = host_only();
  p.forced_sku = 0x00010000u | (static_cast<uint32_t>(card.id) << 8);
  return p;
}

// A plan of the card's host SKU (forced, so the registry's id rule is checked too).
mhc_plan_t select_host(const mhc::OpCard& card, const mhc_desc_t& d) {
  const mhc_preference_t p = forced_host(card);
  mhc_plan_t plan = nullptr;
  REQUIRE_OK(mhc_plan_select(&d, &p, &plan));
  return plan;
}

mhc_status_t try_select(const mhc_desc_t& d, mhc_plan_t* plan) {
  const mhc_preference_t p = host_only();
  *plan = nullptr;
  return mhc_plan_select(&d, &p, plan);
}

// The card's own arithmetic for a dimension (independent of the library's evaluation).
int64_t expected_dim(mhc::Dim dim, const mhc_desc_t& d, const mhc::OpCard& card) {
  const int64_t n = d.n, C = d.hidden;
  switch (dim) {
    case mhc::Dim::kTokens: return d.tokens;
    case mhc::Dim::kStreams: return n;
    case mhc::Dim::kHidden: return C;
    case mhc::Dim::kK: return n * C;
    case mhc::Dim::kMixes: return card.mixes == mhc::MixRule::kPreMixes ? n * (n + 2) : n;
    case mhc::Dim::kParts: return d.num_splits;
    case mhc::Dim::kOne: return 1;
    case mhc::Dim::kThree: return 3;
  }
  return -1;
}

struct Buffer {
  mhc_tensor_info_t info;
  std::vector<uint32_t> words;
  int64_t elements() const {
    int64_t e = 1;
    for (int k = 0; k < info.rank; ++k) e *= info.shape[k];
    return e;
  }
  size_t elem_bytes() const { return info.dtype == MHC_DTYPE_BF16 ? 2 : 4; }
  char* data() { return reinterpret_cast<char*>(words.data()); }
};

std::vector<Buffer> tensor_infos(mhc_plan_t plan) {
  int32_t count = -1;
  REQUIRE_OK(mhc_plan_get_tensor_count(plan, &count));
  std::vector<Buffer> v(count);
  for (int32_t i = 0; i < count; ++i) {
    v[i].info.struct_size = sizeof(mhc_tensor_info_t);
    REQUIRE_OK(mhc_plan_get_tensor_info(plan, i, &v[i].info));
    v[i].words.assign((v[i].elements() * v[i].elem_bytes() + 3) / 4 + 1, 0u);
  }
  return v;
}

void set_field(mhc_args_t& a, size_t offset, const void* p) {
  std::memcpy(reinterpret_cast<char*>(&a) + offset, &p, sizeof p);
}

// Inputs random in ranges every op takes (square-sums positive, scales near 1); outputs poisoned.
void fill(std::vector<Buffer>& bufs, uint64_t seed) {
  std::mt19937_64 g(seed);
  for (Buffer& b : bufs) {
    const bool in = b.info.role == MHC_TENSOR_ROLE_INPUT;
    const std::string f = b.info.field;
    const double lo = f == "sqrsum" ? 20.0 : f == "scale" ? 0.5 : -1.0;
    const double hi = f == "sqrsum" ? 80.0 : f == "scale" ? 1.5 : 1.0;
    std::uniform_real_distribution<double> u(lo, hi);
    for (int64_t e = 0; e < b.elements(); ++e) {
      if (b.info.dtype == MHC_DTYPE_BF16) {
        const uint16_t v = in ? double_to_bf16(u(g)) : kPoisonBf16;
        std::memcpy(b.data() + 2 * e, &v, 2);
      } else {
        const float v = static_cast<float>(u(g));
        if (in) std::memcpy(b.data() + 4 * e, &v, 4);
        else std::memcpy(b.data() + 4 * e, &kPoisonF32, 4);
      }
    }
  }
}

mhc_args_t args_of(std::vector<Buffer>& bufs, int64_t tokens = 0) {
  mhc_args_t a;
  mhc_args_init(&a);
  for (Buffer& b : bufs) set_field(a, b.info.field_offset, b.data());
  a.tokens = tokens;
  return a;
}

// Calls f(e, src) for element e of `part` and its element src in `full` (same index, full's T).
template <typename F>
void for_each_element(const Buffer& part, const Buffer& full, F&& f) {
  const int rank = part.info.rank;
  std::vector<int64_t> idx(rank, 0);
  for (int64_t e = 0; e < part.elements(); ++e) {
    int64_t rem = e;
    for (int k = rank - 1; k >= 0; --k) idx[k] = rem % part.info.shape[k], rem /= part.info.shape[k];
    int64_t src = 0;
    for (int k = 0; k < rank; ++k) src = src * full.info.shape[k] + idx[k];
    f(e, src);
  }
}

}  // namespace

TEST_CASE("op cards: names, ids and desc_init defaults come from the card", "[cards]") {
  REQUIRE(!mhc::op_cards().empty());
  for (const mhc::OpCard* card : mhc::op_cards()) {
    INFO(card->tag);
    REQUIRE(mhc_op_name(card->id) != nullptr);
    CHECK(std::string(mhc_op_name(card->id)) == card->name);
    // "a3_" (or "a10_") + short tag
    const std::string tag = card->tag;
    const size_t us = tag.find('_');
    REQUIRE(us != std::string::npos);
    CHECK(tag.substr(us + 1) == card->short_tag());
    CHECK((tag[0] == 'a' || tag[0] == 'b'));
    CHECK(us >= 2);
    CHECK(tag.find_first_not_of("0123456789", 1) == us);
    mhc_desc_t d;
    REQUIRE_OK(mhc_desc_init(&d, card->id));
    CHECK(d.op == card->id);
    CHECK(d.act_dtype == card->default_act);
    CHECK(card->n_min >= 1);
    CHECK(card->n_max >= card->n_min);
    for (const mhc::OpCard* other : mhc::op_cards())
      if (other != card) CHECK(other->id != card->id);
  }
  mhc_desc_t d;
  REQUIRE_STATUS(mhc_desc_init(&d, 0), MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM, mhc::op_cards().front()->name);
  CHECK(mhc_op_name(0) == nullptr);
}

TEST_CASE("op cards: select validates what the card states", "[cards]") {
  for (const mhc::OpCard* card : mhc::op_cards()) {
    INFO(card->tag);
    mhc_plan_t plan = nullptr;
    const mhc_desc_t ok = card_desc(*card);
    REQUIRE_OK(try_select(ok, &plan));
    REQUIRE_OK(mhc_plan_destroy(plan));

    // n range, named in the message.
    const std::string range = std::to_string(card->n_min) + ".." + std::to_string(card->n_max);
    for (int32_t n : {card->n_min - 1, card->n_max + 1}) {
      mhc_desc_t d = ok;
      d.n = n;
      REQUIRE_STATUS(try_select(d, &plan), MHC_STATUS_BAD_PARAM_SHAPE, range);
      CHECK(plan == nullptr);
    }
    {
      mhc_desc_t d = ok;
      d.n = card->n_max;
      REQUIRE_OK(try_select(d, &plan));
      REQUIRE_OK(mhc_plan_destroy(plan));
    }
    // Residual dtypes.
    for (mhc_dtype_t act : {MHC_DTYPE_BF16, MHC_DTYPE_FP32}) {
      mhc_desc_t d = ok;
      d.act_dtype = act;
      const bool takes = act == MHC_DTYPE_BF16 ? card->act_bf16 : card->act_fp32;
      if (takes) {
        REQUIRE_OK(try_select(d, &plan));
        REQUIRE_OK(mhc_plan_destroy(plan));
      } else {
        REQUIRE_STATUS(try_select(d, &plan), MHC_STATUS_BAD_PARAM_VALUE, "desc->act_dtype");
      }
    }
    // Split rule and the partials flag.
    {
      mhc_desc_t d = ok;
      d.num_splits = card->splits == mhc::SplitRule::kSplitK ? 1000 : 2;
      REQUIRE_STATUS(try_select(d, &plan), MHC_STATUS_BAD_PARAM_SHAPE, "desc->num_splits");
      d = ok;
      d.flags = MHC_DESC_FLAG_SPLIT_PARTIALS;
      d.num_splits = 1;
      if (card->partials_flag) {
        REQUIRE_OK(try_select(d, &plan));
        REQUIRE_OK(mhc_plan_destroy(plan));
      } else {
        REQUIRE_STATUS(try_select(d, &plan), MHC_STATUS_BAD_PARAM_VALUE, "MHC_DESC_FLAG_SPLIT_PARTIALS");
      }
    }
    // Each descriptor field: validated where the card says the op reads it, ignored elsewhere.
    struct Use {
      uint32_t bit;
      const char* field;
      void (*spoil)(mhc_desc_t&);
    };
    const Use uses[] = {
        {mhc::kUsesSinkhornRepeat, "desc->sinkhorn_repeat", [](mhc_desc_t& d) { d.sinkhorn_repeat = 0; }},
        {mhc::kUsesRmsEps, "desc->rms_eps", [](mhc_desc_t& d) { d.rms_eps = 0.0f; }},
        {mhc::kUsesPreEps, "desc->pre_eps", [](mhc_desc_t& d) { d.pre_eps = -1.0f; }},
        {mhc::kUsesSinkhornEps, "desc->sinkhorn_eps", [](mhc_desc_t& d) { d.sinkhorn_eps = 0.0f; }},
        {mhc::kUsesPostMult, "desc->post_mult", [](mhc_desc_t& d) { d.post_mult = INFINITY; }},
        {mhc::kUsesStaticEps, "desc->static_eps", [](mhc_desc_t& d) { d.static_eps = 0.0f; }},
    };
    for (const Use& u : uses) {
      INFO(u.field);
      mhc_desc_t d = ok;
      u.spoil(d);
      if (card->uses & u.bit) {
        REQUIRE_STATUS(try_select(d, &plan), MHC_STATUS_BAD_PARAM_VALUE, u.field);
      } else {
        REQUIRE_OK(try_select(d, &plan));
        REQUIRE_OK(mhc_plan_destroy(plan));
      }
    }
    // The mode flags: each taken alone and together where the card says so, refused (naming the
    // flag) elsewhere.
    for (uint32_t flag : {static_cast<uint32_t>(MHC_DESC_FLAG_SHIFTED), static_cast<uint32_t>(MHC_DESC_FLAG_NORM)}) {
      INFO("flag " << flag);
      mhc_desc_t d = ok;
      d.flags = flag;
      if (card->mode_flags & flag) {
        REQUIRE_OK(try_select(d, &plan));
        REQUIRE_OK(mhc_plan_destroy(plan));
      } else {
        REQUIRE_STATUS(try_select(d, &plan), MHC_STATUS_BAD_PARAM_VALUE,
                       flag == MHC_DESC_FLAG_SHIFTED ? "MHC_DESC_FLAG_SHIFTED" : "MHC_DESC_FLAG_NORM");
        CHECK(plan == nullptr);
      }
    }
    // norm_eps and norm_scale: read (and validated) only with MHC_DESC_FLAG_NORM, by the ops that
    // use the norm (kUsesNorm); the card must take the flag exactly when it reads them.
    CHECK(((card->uses & mhc::kUsesNorm) != 0) == ((card->mode_flags & MHC_DESC_FLAG_NORM) != 0));
    for (bool with_norm : {false, true}) {
      if (with_norm && !(card->mode_flags & MHC_DESC_FLAG_NORM)) continue;
      for (int which = 0; which < 2; ++which) {
        mhc_desc_t d = ok;
        if (with_norm) d.flags = MHC_DESC_FLAG_NORM;
        if (which == 0) d.norm_eps = 0.0f;
        else d.norm_scale = 0.0f;
        const char* field = which == 0 ? "desc->norm_eps" : "desc->norm_scale";
        INFO(field << (with_norm ? " with NORM" : " without NORM"));
        if (with_norm) {
          REQUIRE_STATUS(try_select(d, &plan), MHC_STATUS_BAD_PARAM_VALUE, field);
        } else {
          REQUIRE_OK(try_select(d, &plan));
          REQUIRE_OK(mhc_plan_destroy(plan));
        }
      }
    }
  }
}

TEST_CASE("op cards: the host registry has one SKU per card", "[cards]") {
  for (const mhc::OpCard* card : mhc::op_cards()) {
    INFO(card->tag);
    mhc_plan_t plan = select_host(*card, card_desc(*card));
    mhc_sku_t sku = 0;
    REQUIRE_OK(mhc_plan_get_sku(plan, &sku));
    CHECK(sku == forced_host(*card).forced_sku);
    REQUIRE(mhc_sku_name(sku) != nullptr);
    CHECK(std::string(mhc_sku_name(sku)) == std::string("host_fp64_") + card->short_tag());
    REQUIRE_OK(mhc_plan_destroy(plan));
  }
}

TEST_CASE("op cards: tensor info is the card's tensor list evaluated", "[cards]") {
  for (const mhc::OpCard* card : mhc::op_cards()) {
    for (uint32_t mode : card_modes(*card)) {
      const bool partials = (mode & MHC_DESC_FLAG_SPLIT_PARTIALS) != 0;
      DYNAMIC_SECTION(card->tag << mode_name(mode)) {
        mhc_desc_t d = card_desc(*card, 7);
        d.flags = mode;
        if (partials) d.num_splits = 3;
        mhc_plan_t plan = select_host(*card, d);
        mhc_desc_t resolved;
        resolved.struct_size = sizeof resolved;
        REQUIRE_OK(mhc_plan_get_desc(plan, &resolved));
        std::vector<Buffer> infos = tensor_infos(plan);
        const std::vector<Expected> expected = expected_tensors(*card, mode);
        REQUIRE(infos.size() == expected.size());
        const int listed = static_cast<int>(expected.size());
        bool seen_output = false;
        for (int i = 0; i < listed; ++i) {
          const mhc::TensorCard& t = *expected[i].card;
          const mhc_tensor_info_t& info = infos[i].info;
          INFO(t.field);
          CHECK(std::string(info.field) == t.field);
          CHECK(info.field_offset == t.offset);
          CHECK(info.role == (t.role == mhc::Role::kInput ? MHC_TENSOR_ROLE_INPUT : MHC_TENSOR_ROLE_OUTPUT));
          CHECK(info.required == (expected[i].required ? 1 : 0));
          const mhc_dtype_t dtype = t.storage == mhc::Storage::kBf16   ? MHC_DTYPE_BF16
                                    : t.storage == mhc::Storage::kFp32 ? MHC_DTYPE_FP32
                                                                       : resolved.act_dtype;
          CHECK(info.dtype == dtype);
          std::vector<int64_t> shape;
          int token_dim = -1;
          for (int k = 0; k < t.rank; ++k) {
            if (t.dims[k] == mhc::Dim::kParts && !partials) continue;
            if (t.dims[k] == mhc::Dim::kTokens) token_dim = static_cast<int>(shape.size());
            shape.push_back(expected_dim(t.dims[k], resolved, *card));
          }
          REQUIRE(info.rank == static_cast<int>(shape.size()));
          for (int k = 0; k < info.rank; ++k) CHECK(info.shape[k] == shape[k]);
          for (int k = info.rank; k < MHC_TENSOR_MAX_RANK; ++k) CHECK(info.shape[k] == 0);
          CHECK(info.token_dim == token_dim);
          // Inputs first, then outputs.
          if (info.role == MHC_TENSOR_ROLE_OUTPUT) seen_output = true;
          else CHECK(!seen_output);
        }
        mhc_tensor_info_t info;
        info.struct_size = sizeof info;
        REQUIRE_STATUS(mhc_plan_get_tensor_info(plan, listed, &info), MHC_STATUS_BAD_PARAM_VALUE, "index");
        REQUIRE_STATUS(mhc_plan_get_tensor_info(plan, -1, &info), MHC_STATUS_BAD_PARAM_VALUE, "index");
        REQUIRE_STATUS(mhc_plan_get_tensor_info(plan, 0, nullptr), MHC_STATUS_BAD_PARAM_NULL_POINTER, "info");
        info.struct_size = 8;
        REQUIRE_STATUS(mhc_plan_get_tensor_info(plan, 0, &info), MHC_STATUS_BAD_PARAM_STRUCT_SIZE, "info->struct_size");
        int32_t count = 0;
        REQUIRE_STATUS(mhc_plan_get_tensor_count(nullptr, &count), MHC_STATUS_BAD_PARAM_NULL_POINTER, "plan");
        REQUIRE_STATUS(mhc_plan_get_tensor_count(plan, nullptr), MHC_STATUS_BAD_PARAM_NULL_POINTER, "count");
        REQUIRE_STATUS(mhc_plan_get_tensor_info(nullptr, 0, &info), MHC_STATUS_BAD_PARAM_NULL_POINTER, "plan");
        REQUIRE_OK(mhc_plan_destroy(plan));
      }
    }
  }
}

TEST_CASE("op cards: can_implement checks exactly the card's tensors", "[cards]") {
  for (const mhc::OpCard* card : mhc::op_cards()) {
    for (uint32_t mode : card_modes(*card)) {
      INFO(card->tag << mode_name(mode));
      mhc_desc_t d = card_desc(*card);
      d.flags = mode;
      if (mode & MHC_DESC_FLAG_SPLIT_PARTIALS) d.num_splits = 2;
      mhc_plan_t plan = select_host(*card, d);
      std::vector<Buffer> bufs = tensor_infos(plan);
      fill(bufs, 1);
      mhc_args_t full = args_of(bufs);
      REQUIRE_OK(mhc_plan_can_implement(plan, &full));
      for (const Buffer& b : bufs) {
        mhc_args_t a = full;
        set_field(a, b.info.field_offset, nullptr);
        const std::string name = std::string("args->") + b.info.field;
        INFO(name);
        if (b.info.required) REQUIRE_STATUS(mhc_plan_can_implement(plan, &a), MHC_STATUS_BAD_PARAM_NULL_POINTER, name);
        else REQUIRE_OK(mhc_plan_can_implement(plan, &a));
      }
      // Every pointer field of mhc_args_t the card does not list must be NULL.
      static char other[64];
      std::vector<size_t> offsets;
      for (size_t off = offsetof(mhc_args_t, residual); off <= offsetof(mhc_args_t, out_rms); off += sizeof(void*))
        offsets.push_back(off);
      offsets.push_back(offsetof(mhc_args_t, pre_mix));  // since 0.3, after `tokens`
      offsets.push_back(offsetof(mhc_args_t, out_pre_mix));
      for (size_t off = offsetof(mhc_args_t, grad_residual); off <= offsetof(mhc_args_t, out_grad_base);
           off += sizeof(void*))  // since 0.4, the gradients
        offsets.push_back(off);
      for (size_t off = offsetof(mhc_args_t, out_grad_h_pre); off <= offsetof(mhc_args_t, out_grad_norm_weight);
           off += sizeof(void*))  // since 0.5, after grad_accumulate: family B's parameter gradients
        offsets.push_back(off);
      for (size_t off : offsets) {
        bool listed = false;
        for (const Buffer& b : bufs) listed |= b.info.field_offset == off;
        if (listed) continue;
        INFO("args offset " << off);
        mhc_args_t a = full;
        set_field(a, off, other);
        REQUIRE_STATUS(mhc_plan_can_implement(plan, &a), MHC_STATUS_BAD_PARAM_VALUE, "expected NULL");
      }
      REQUIRE_OK(mhc_plan_destroy(plan));
    }
  }
}

// A plan runs any T up to desc.tokens: the rows of a short run are bit-identical to the same rows
// of a full run (the plan's splits never depend on the run's T), and nothing past T is written.
// An output without a T dimension (a backward op's weight gradient) is a sum over the run's
// tokens: fully written by every run, and equal to the full run's only at T = desc.tokens.
TEST_CASE("op cards: every op runs any T up to desc.tokens", "[cards][tokens]") {
  constexpr int64_t kMax = 6;
  for (const mhc::OpCard* card : mhc::op_cards()) {
    for (uint32_t mode : card_modes(*card)) {
      const bool partials = (mode & MHC_DESC_FLAG_SPLIT_PARTIALS) != 0;
      DYNAMIC_SECTION(card->tag << mode_name(mode)) {
        mhc_desc_t d = card_desc(*card, kMax);
        if (card->splits == mhc::SplitRule::kSplitK) d.num_splits = 0;  // the T-dependent default
        d.flags = mode;
        if (partials) d.num_splits = 2;
        mhc_plan_t plan = select_host(*card, d);
        std::vector<Buffer> full = tensor_infos(plan);
        fill(full, 7);
        const mhc_args_t fa = args_of(full);
        REQUIRE_OK(mhc_plan_run(plan, nullptr, nullptr, 0, &fa));
        for (Buffer& b : full) {  // every output element written
          if (b.info.role != MHC_TENSOR_ROLE_OUTPUT) continue;
          INFO(b.info.field);
          int64_t poisoned = 0;
          for (int64_t e = 0; e < b.elements(); ++e)
            poisoned += b.info.dtype == MHC_DTYPE_BF16 ? std::memcmp(b.data() + 2 * e, &kPoisonBf16, 2) == 0
                                                       : std::memcmp(b.data() + 4 * e, &kPoisonF32, 4) == 0;
          CHECK(poisoned == 0);
        }
        for (int64_t t : {int64_t{1}, int64_t{3}, kMax}) {
          INFO("run-time T " << t);
          // The short run's tensors: the full run's shapes with T = t, the leading rows copied.
          std::vector<Buffer> part = full;
          for (Buffer& b : part) {
            if (b.info.token_dim >= 0) b.info.shape[b.info.token_dim] = t;
            b.words.assign((b.elements() * b.elem_bytes() + 3) / 4 + 1, 0u);
          }
          fill(part, 99);  // poison outputs (inputs overwritten below)
          for (size_t i = 0; i < part.size(); ++i) {
            Buffer& b = part[i];
            if (b.info.role != MHC_TENSOR_ROLE_INPUT) continue;
            for_each_element(b, full[i], [&](int64_t e, int64_t src) {
              std::memcpy(b.data() + e * b.elem_bytes(), full[i].data() + src * b.elem_bytes(), b.elem_bytes());
            });
          }
          const mhc_args_t pa = args_of(part, t);
          REQUIRE_OK(mhc_plan_run(plan, nullptr, nullptr, 0, &pa));
          for (size_t i = 0; i < part.size(); ++i) {
            Buffer& b = part[i];
            if (b.info.role != MHC_TENSOR_ROLE_OUTPUT) continue;
            INFO(b.info.field);
            int64_t diff = 0, poisoned = 0;
            for_each_element(b, full[i], [&](int64_t e, int64_t src) {
              diff += std::memcmp(b.data() + e * b.elem_bytes(), full[i].data() + src * b.elem_bytes(),
                                  b.elem_bytes()) != 0;
              poisoned += b.info.dtype == MHC_DTYPE_BF16 ? std::memcmp(b.data() + 2 * e, &kPoisonBf16, 2) == 0
                                                         : std::memcmp(b.data() + 4 * e, &kPoisonF32, 4) == 0;
            });
            CHECK(poisoned == 0);
            if (b.info.token_dim >= 0 || t == kMax) CHECK(diff == 0);
            // The slack word past the short tensor stays as it was (zero).
            CHECK(b.words.back() == 0u);
          }
        }
        REQUIRE_OK(mhc_plan_destroy(plan));
      }
    }
  }
}
