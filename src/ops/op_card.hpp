// An op card: everything libmhc states about one op, once. Validation, messages, mhc_desc_init
// defaults, the tensor table (can_implement, mhc_plan_get_tensor_info) and both SKU registries
// read the cards; no other file decides per op. op_list.def lists the cards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <vector>

#include "mhc/mhc.h"

namespace mhc {

enum class Family { kDynamic, kStatic };
enum class Role { kInput, kOutput };

// One tensor dimension as a function of the problem.
enum class Dim : uint8_t {
  kTokens,   // T (family B: B); the run-time token count
  kStreams,  // n
  kHidden,   // C
  kK,        // n * C
  kMixes,    // N (n(n+2) for the pre mixes, n for the head)
  kParts,    // S: present only when the problem uses split partials, else the dim is dropped
  kOne,      // 1
  kThree,    // 3
};

enum class Storage : uint8_t { kBf16, kFp32, kAct /* the descriptor's act_dtype */ };

constexpr int kMaxRank = MHC_TENSOR_MAX_RANK;

struct TensorCard {
  const char* field;  // the mhc_args_t field ("residual")
  size_t offset;      // offsetof(mhc_args_t, field)
  Role role;
  Storage storage;
  int rank;           // dims used, parts included
  Dim dims[kMaxRank];
  bool required;
  uint32_t only_with = 0;      // MHC_DESC_FLAG_* bits without which the op does not read it
  uint32_t required_with = 0;  // MHC_DESC_FLAG_* bits with which an optional tensor is required
};

// Descriptor fields an op reads (validated only where read).
enum DescUse : uint32_t {
  kUsesSinkhornRepeat = 1u << 0,
  kUsesRmsEps = 1u << 1,
  kUsesPreEps = 1u << 2,
  kUsesSinkhornEps = 1u << 3,
  kUsesPostMult = 1u << 4,
  kUsesStaticEps = 1u << 5,
  kUsesWeightPrecision = 1u << 6,
  kUsesNorm = 1u << 7,  // norm_eps, norm_scale (read with MHC_DESC_FLAG_NORM)
};

enum class MixRule : uint8_t { kNone, kPreMixes /* N = n(n+2) */, kStreams /* N = n */ };

enum class SplitRule : uint8_t {
  kNone,          // num_splits must be 0
  kSplitK,        // num_splits = S of the K axis; 0 picks the default policy
  kPartialCount,  // with MHC_DESC_FLAG_SPLIT_PARTIALS: num_splits = the partial count; else 0 or 1
};

struct OpCard {
  mhc_op_t id;
  const char* name;  // "MHC_OP_PRE"
  const char* tag;   // "a3_pre": every file of the op carries it
  const char* summary;
  Family family;
  int n_min, n_max;
  bool act_bf16, act_fp32;  // storage dtypes the residual may have
  mhc_dtype_t default_act;  // mhc_desc_init's act_dtype
  uint32_t uses;            // DescUse bits
  MixRule mixes;
  SplitRule splits;
  bool partials_flag;       // takes MHC_DESC_FLAG_SPLIT_PARTIALS
  const TensorCard* tensors;
  int tensor_count;         // inputs first, then outputs
  uint32_t mode_flags = 0;  // MHC_DESC_FLAG_SHIFTED / MHC_DESC_FLAG_NORM the op takes

  // The tag without its "a3_" prefix: "pre" (SKU names are built from it).
  const char* short_tag() const;
};

// X-macro over op_list.def: one declaration per card (defined in src/ops/<tag>.cpp).
#define MHC_OP_CARD(tag) extern const OpCard card_##tag;
#include "op_list.def"
#undef MHC_OP_CARD

// Every card, in op_list.def order.
const std::vector<const OpCard*>& op_cards();
// The card of `op`, or nullptr for an id no card has.
const OpCard* find_card(mhc_op_t op);
// "MHC_OP_PRENORM_GEMM(1) .. MHC_OP_STATIC_LAYER(18)"-style list of every op, for messages.
const char* op_id_list();

#define MHC_TENSOR_FIELD(f) #f, offsetof(mhc_args_t, f)

}  // namespace mhc
