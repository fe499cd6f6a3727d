// Host heuristics for the family-A CUDA SKUs, apart from the kernels: how a run is cut into
// launches and how much workspace that needs. Pure functions of the problem.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../plan/problem.hpp"

namespace mhc::cuda {

// Tokens per launch pair of the two-pass ops (pre, head). Chunks only bound the partials'
// workspace: L2-sized chunks (<= 16 MB of residual, so the fuse pass re-reads from L2) measured
// slower on the H100 (pre T=4096 C=7168: 457 us chunked vs 299 us) because each chunk's GEMM
// grid is about one wave; see docs/performance.md.
constexpr int64_t kChunkTokens = 4096;
int64_t chunk_tokens(const Problem& p);
// Sub-splits per split for pre: when S came from the token-dependent default (the plan is not
// batch-invariant anyway), decode (T <= 64) cuts each split into up to 4 so that ~256 CTAs share
// the K axis; the fuse pass then sums S * U partials in slot order.
int32_t pre_sub_splits(const Problem& p);
// The head's internal split count: from K alone, so rows do not depend on T.
int32_t head_splits(const Problem& p);
// Workspace of the split partials for `tokens` tokens, S splits and N mixes (+ square-sums).
size_t partials_bytes(int64_t S, int64_t tokens, int64_t N);

}  // namespace mhc::cuda
