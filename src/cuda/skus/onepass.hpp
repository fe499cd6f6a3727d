// The one-pass SKUs (A1, A3, A5 on sm_90): one launch per chunk of tokens, fn slots resident in
// shared memory, the fuse of a token block run by the CTA that finishes its last slot.
#pragma once

#include "../../plan/sku.hpp"

namespace mhc::cuda {

enum class OnepassKind { kGemm, kPre, kHead };

struct OnepassSettings {
  OnepassKind kind;
  bool decode_subsplit;  // A3: sub-split the K axis at decode (decode_sub_splits)
  int tile_tokens;       // 16 or 32; 0: by the plan's T (onepass_tile_tokens)
};

// A one-pass SKU of `card`. Where a run's tensors are not 16-byte aligned the run goes to
// `fallback` (a SKU of the same op that supports every problem this one does; the workspace
// covers both).
Sku onepass_sku(const OpCard& card, mhc_sku_t id, const char* name, OnepassSettings settings, Sku fallback);

}  // namespace mhc::cuda
