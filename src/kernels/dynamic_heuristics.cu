#include <algorithm>

#include "dynamic_heuristics.hpp"

namespace mhc::cuda {

int64_t chunk_tokens(const Problem& p) { return std::min(kChunkTokens, p.T); }

int32_t pre_sub_splits(const Problem& p) {
  if (!p.s_from_tokens || p.desc.op != MHC_OP_PRE || p.T > 64) return 1;
  constexpr int64_t kTargetCtas = 256, kMaxSub = 4;
  const int64_t token_blocks = (std::min(p.T, chunk_tokens(p)) + 31) / 32;
  const int64_t want = (kTargetCtas + p.S * token_blocks - 1) / (p.S * token_blocks);
  return static_cast<int32_t>(std::clamp<int64_t>(want, 1, std::max<int64_t>(1, std::min(kMaxSub, p.G / p.S))));
}

int32_t head_splits(const Problem& p) { return default_splits(p.T, p.G, /*batch_invariant=*/true); }

size_t partials_bytes(int64_t S, int64_t tokens, int64_t N) {
  const size_t bytes = static_cast<size_t>(S * tokens * (N + 1)) * sizeof(float);
  return (bytes + 255) / 256 * 256;
}

}  // namespace mhc::cuda
