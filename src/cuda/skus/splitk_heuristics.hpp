// Host heuristics of the split-K two-pass SKUs (pre, head), apart from the kernels: how a run is
// cut into launches and how much workspace that needs. Pure functions of the plan's problem, so
// every run of a plan uses the same splits whatever its run-time T.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../../ops/problem.hpp"

namespace mhc::cuda {

// Tokens per launch pair of the two-pass ops (pre, head). Chunks only bound the partials'
// workspace: L2-sized chunks (<= 16 MB of residual, so the fuse pass re-reads from L2) measured
// slower on the H100 (pre T=4096 C=7168: 457 us chunked vs 299 us) because each chunk's GEMM
// grid is about one wave; see docs/performance.md.
constexpr int64_t kChunkTokens = 4096;
int64_t chunk_tokens(const Problem& plan);
// Decode sub-splits: when S came from the token-dependent default (the plan is not
// batch-invariant anyway) and the plan's T fits one 32-token block, each split is cut into up to
// 4 so that ~256 CTAs share the K axis; the fuse pass then sums S * U partials in slot order.
// From two blocks on the GEMM has enough CTAs and the fuse's extra slots cost more (H100, pre at
// T = 64, C = 7168: 21.0 us without sub-splits, 27-28 us with 4).
int32_t decode_sub_splits(const Problem& plan);
// A split count from K alone, so rows do not depend on T (the head's rule).
int32_t k_only_splits(const Problem& plan);
// Workspace of the split partials for `tokens` tokens, S splits and N mixes (+ square-sums).
size_t partials_bytes(int64_t S, int64_t tokens, int64_t N);

}  // namespace mhc::cuda
