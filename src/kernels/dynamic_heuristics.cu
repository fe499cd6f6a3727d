#include <algorithm>

#include "dynamic_heuristics.hpp"

namespace mhc::cuda {

int64_t chunk_tokens(const Problem& p) {
  const int64_t fit = kL2ChunkBytes / (p.K * 2);
  const int64_t tokens = std::max<int64_t>(64, fit / 32 * 32);
  return std::min(tokens, p.T);
}

int32_t head_splits(const Problem& p) { return default_splits(p.T, p.G, /*batch_invariant=*/true); }

size_t partials_bytes(int64_t S, int64_t tokens, int64_t N) {
  const size_t bytes = static_cast<size_t>(S * tokens * (N + 1)) * sizeof(float);
  return (bytes + 255) / 256 * 256;
}

}  // namespace mhc::cuda
