// Shared by the family-A CUDA SKUs (DeepSeek-V4 path): vector-path checks, the guarantee, and
// the GEMM and fuse launches every pre-like op is built from.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>

#include "../../plan/sku.hpp"
#include "../kernels/sm80_f32_pre_fuse.cuh"
#include "../kernels/sm80_tf32_prenorm_gemm.cuh"
#include "../launch.cuh"

namespace mhc::cuda {

// fp32 and tf32x3 weights both run as fn = hi + lo, two tf32 products (small one first): tf32x3
// is exactly that; fp32 is met by it within the fp32 tolerance (error ~2^-22 relative per weight).
inline bool split_weights(const Problem& p) { return p.desc.weight_precision != MHC_DTYPE_TF32; }

// 16-byte path of the GEMM: K % 8 == 0 and A, fn 16-byte aligned.
inline bool gemm_vector(const Problem& p, const void* A, const void* fn) {
  return p.K % 8 == 0 && aligned(A, 16) && aligned(fn, 16);
}
// 16-byte path over C: C % 8 == 0 and every [*, C] tensor 16-byte aligned.
inline bool cols_vector(const Problem& p, std::initializer_list<const void*> ptrs) {
  if (p.C % 8 != 0) return false;
  for (const void* ptr : ptrs)
    if (!aligned(ptr, 16)) return false;
  return true;
}

// Deterministic, bit-stable, no atomics; batch-invariant unless S came from T. `gemm`: the op
// multiplies by fn, so its math precision is the weight precision.
mhc_precision_guarantee_t dynamic_guarantee(const Problem& p, bool gemm);

// The fuse pass's parameters for the run's tokens (the optional reduced D and Q outputs included),
// without the D/Q partials it reads (the caller points them).
// `head`: the A5 variant (pre gate only).
PreFuseParams fuse_params(const RunContext& c, bool head);

// Launch limits, checked at select (empty: fits): the fuse pass's grid is (T, ceil(C / 1024)),
// the GEMM's grid.y is the partial count S * U.
std::string fuse_grid_limits(int64_t tokens, int64_t C);
std::string gemm_grid_limits(int64_t partials);

// A4's post from the run's layer_output, residual, post_mix, comb_mix into `out` (A4's
// out_residual, or a boundary's new residual); A6's expand of the run's embedding into `out`.
void run_post(const RunContext& c, uint16_t* out);
void run_expand(const RunContext& c, uint16_t* out);

// A family-A CUDA SKU of `card` with the guarantee bound (`gemm` as above).
Sku dynamic_sku(const OpCard& card, mhc_sku_t id, const char* name, int min_cc, bool gemm);
// The same for a GEMM SKU that default selection takes by desc.tokens (Sku::default_min_tokens,
// default_max_tokens): a row then depends on which kernel the plan got, so its guarantee drops
// BATCH_INVARIANT and it refuses plans that require it; else `limits` says what it supports.
Sku by_tokens_sku(const OpCard& card, mhc_sku_t id, const char* name, int min_cc,
                  std::function<std::string(const Problem&, const DeviceInfo&)> limits);
// The 16-byte vectors of the one-launch kernels: residual, fn and layer input aligned.
inline bool residual_fn_output_aligned(const RunContext& c) {
  return aligned(c.args.residual, 16) && aligned(c.args.fn, 16) && aligned(c.args.out_layer_input, 16);
}

// `sku` for the runs `takes` accepts (its tensors aligned for its kernels), `fallback` (a SKU of
// the same op) for the others: a plan needs both to support it, the workspace covers both.
Sku with_fallback(Sku sku, Sku fallback, std::function<bool(const RunContext&)> takes);

// The bf16 GEMM serves plans whose rows already depend on T (S from T: its bits are its own) in
// runs of at least kWideMinTokens tokens (where it is faster). bf16_gemm_limits: empty when
// `plan` is one it serves, else why not. gemm_kernel_of_run: `want`, except kBf16 becomes kAuto
// for a run it does not serve. bf16_only: `sku` supporting only the plans the bf16 GEMM serves.
std::string bf16_gemm_limits(const Problem& plan);
GemmKernel gemm_kernel_of_run(GemmKernel want, const Problem& plan, int64_t run_tokens);
Sku bf16_only(Sku sku);

}  // namespace mhc::cuda
