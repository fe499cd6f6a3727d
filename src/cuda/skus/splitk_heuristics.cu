#include <algorithm>

#include "splitk_heuristics.hpp"

#include "../workspace_section.hpp"

namespace mhc::cuda {

int64_t chunk_tokens(const Problem& plan) { return std::min(kChunkTokens, plan.T); }

int32_t decode_sub_splits(const Problem& plan) {
  if (!plan.s_from_tokens || plan.T > 32) return 1;
  constexpr int64_t kTargetCtas = 256, kMaxSub = 4;
  const int64_t want = (kTargetCtas + plan.S - 1) / plan.S;
  return static_cast<int32_t>(
      std::clamp<int64_t>(want, 1, std::max<int64_t>(1, std::min(kMaxSub, plan.G / plan.S))));
}

int32_t k_only_splits(const Problem& plan) { return default_splits(plan.T, plan.G, /*batch_invariant=*/true); }

size_t partials_bytes(int64_t S, int64_t tokens, int64_t N) {
  return workspace_section(static_cast<size_t>(S * tokens * (N + 1)) * sizeof(float));
}

}  // namespace mhc::cuda
