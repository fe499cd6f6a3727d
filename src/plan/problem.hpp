// A validated descriptor with every derived dimension resolved: what SKUs and backends consume.
#pragma once

#include <cstdint>

#include "mhc/mhc.h"

namespace mhc {

constexpr int64_t kGranule = 64;  // K is split in granules of 64 (DeepGEMM's rule)

enum class Family { kDynamic, kStatic };

struct Problem {
  mhc_desc_t desc;   // as given, zero-extended, with num_splits resolved
  Family family;
  int64_t T;         // tokens (B for family B)
  int64_t C;         // hidden
  int64_t K;         // n * C
  int64_t N;         // mixes: n(n+2) (A1-A3), n (A5), 0 otherwise
  int32_t n;
  int32_t S;         // resolved split count (A1, A3); partial count (A2 with partials); else 1
  int64_t G;         // K granules: ceil(K / 64)
  bool partials;     // MHC_DESC_FLAG_SPLIT_PARTIALS
  bool s_from_tokens;  // S came from the T-dependent default policy: rows depend on T

  // First K index of split s (s in [0, S]); split s covers [k_begin(s), k_begin(s + 1)).
  int64_t k_begin(int32_t s) const;
};

Family family_of(mhc_op_t op);
bool op_is_known(mhc_op_t op);
const char* op_name(mhc_op_t op);

// The split count when the caller gives none (MATH.md A1): 32 for T <= 64, else 16, capped by G.
// A batch-invariant plan picks S from K alone: clamp(G / 8, 1, 64).
int32_t default_splits(int64_t T, int64_t G, bool batch_invariant);

// Validates *user (struct_size rule, every field) and resolves defaults. Throws mhc::Error.
Problem make_problem(const mhc_desc_t* user, bool batch_invariant);

}  // namespace mhc
