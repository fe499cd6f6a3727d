// A validated descriptor with every derived dimension resolved from the op's card: what SKUs and
// backends consume.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mhc/mhc.h"
#include "op_card.hpp"

namespace mhc {

constexpr int64_t kGranule = 64;  // K is split in granules of 64 (DeepGEMM's rule)
// mhc_desc_t as 0.1 and 0.2 published it (before norm_eps): the smallest struct_size accepted, in and
// out (mhc_plan_get_desc). A 0.2 caller's struct is zero-extended, and its flags cannot ask for the
// norm (the only reader of norm_eps and norm_scale).
constexpr size_t kDescMinSize = offsetof(mhc_desc_t, norm_eps);

struct Problem {
  mhc_desc_t desc;   // as given, zero-extended, with num_splits resolved
  const OpCard* card;
  Family family;
  int64_t T;         // tokens (B for family B): desc.tokens for a plan, args.tokens for a run
  int64_t C;         // hidden
  int64_t K;         // n * C
  int64_t N;         // mixes: card's MixRule (n(n+2), n or 0)
  int32_t n;
  int32_t S;         // resolved split count (SplitRule::kSplitK); partial count (kPartialCount with
                     // partials); else 1
  int64_t G;         // K granules: ceil(K / 64)
  bool partials;     // MHC_DESC_FLAG_SPLIT_PARTIALS
  bool shifted;      // MHC_DESC_FLAG_SHIFTED: the V4.1 collapse with the carried pre
  bool norm;         // MHC_DESC_FLAG_NORM: RMSNorm of the layer input
  bool s_from_tokens;  // S came from the T-dependent default policy: rows depend on desc.tokens
  bool batch_invariant;  // the caller requires MHC_GUARANTEE_BATCH_INVARIANT

  // First K index of split s (s in [0, S]); split s covers [k_begin(s), k_begin(s + 1)).
  int64_t k_begin(int32_t s) const;
  // The same problem run on `tokens` tokens (1 <= tokens <= T): S and every rule stay the plan's.
  Problem with_tokens(int64_t tokens) const;
};

const char* op_name(mhc_op_t op);  // "MHC_OP_PRE", or "unknown op"

// The split count when the caller gives none: 32 for T <= 64, else 16, capped by G.
// A batch-invariant plan picks S from K alone: clamp(G / 8, 1, 64).
int32_t default_splits(int64_t T, int64_t G, bool batch_invariant);

// Validates *user (struct_size rule, every field the card says the op reads) and resolves
// defaults. Throws mhc::Error.
Problem make_problem(const mhc_desc_t* user, bool batch_invariant);

}  // namespace mhc
