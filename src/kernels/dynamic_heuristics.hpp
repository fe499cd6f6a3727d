// Host heuristics for the family-A CUDA SKUs, apart from the kernels: how a run is cut into
// launches and how much workspace that needs. Pure functions of the problem.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../plan/problem.hpp"

namespace mhc::cuda {

// Residual bytes one token chunk may span so that the apply pass re-reads it from L2 rather
// than DRAM (PERF.md calibration: keep <= ~30 MB in flight; 16 MB leaves room on a 40 MB A100).
constexpr int64_t kL2ChunkBytes = int64_t{16} << 20;

// Tokens per chunk for the two-pass ops (pre, head): a multiple of 32, at least 64.
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
