// Family A CUDA SKUs: thin dispatch that checks what the kernels need and enqueues them.
// sm80 SKUs are portable (sm_80+); sm90 SKUs are the same kernels chained with programmatic
// dependent launch, so a pass starts while the previous one drains.
#include <cstdint>

#include "dynamic_heuristics.hpp"
#include "skus.hpp"
#include "sm80_bf16_post.cuh"
#include "sm80_pre_fuse.cuh"
#include "sm80_tf32_prenorm_gemm.cuh"

namespace mhc::cuda {
namespace {

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }
bool fp32_weights(const Problem& p) { return p.desc.weight_precision == MHC_DTYPE_FP32; }

// 16-byte path of the GEMM: K % 8 == 0 and A, fn 16-byte aligned.
bool gemm_vector(const Problem& p, const void* A, const void* fn) { return p.K % 8 == 0 && aligned16(A) && aligned16(fn); }
// 16-byte path over C: C % 8 == 0 and every [*, C] tensor 16-byte aligned.
bool cols_vector(const Problem& p, std::initializer_list<const void*> ptrs) {
  if (p.C % 8 != 0) return false;
  for (const void* ptr : ptrs)
    if (!aligned16(ptr)) return false;
  return true;
}

mhc_precision_guarantee_t cuda_guarantee(const Problem& p) {
  mhc_guarantee_flags_t flags = MHC_GUARANTEE_DETERMINISTIC | MHC_GUARANTEE_BIT_STABLE | MHC_GUARANTEE_NO_ATOMICS;
  if (!p.s_from_tokens) flags |= MHC_GUARANTEE_BATCH_INVARIANT;
  const bool gemm = p.desc.op == MHC_OP_PRENORM_GEMM || p.desc.op == MHC_OP_PRE || p.desc.op == MHC_OP_HEAD;
  const mhc_dtype_t math = gemm && !fp32_weights(p) ? MHC_DTYPE_TF32 : MHC_DTYPE_FP32;
  return {sizeof(mhc_precision_guarantee_t), math, MHC_DTYPE_FP32, flags};
}

std::string always(const Problem&, const DeviceInfo&) { return {}; }
size_t no_workspace(const Problem&) { return 0; }

// ---- A1 -------------------------------------------------------------------------------------
size_t gemm_workspace(const Problem& p) { return p.partials || p.S == 1 ? 0 : partials_bytes(p.S, p.T, p.N); }

PrenormGemmParams gemm_params(const Problem& p, const uint16_t* A, const float* fn, float* D, float* Q, int64_t T,
                              int64_t d_stride, int64_t q_stride, int N, int S) {
  return PrenormGemmParams{A, fn, D, Q, T, p.K, p.G, d_stride, q_stride, N, S, 1, false};
}

void run_gemm(const RunContext& c, bool pdl) {
  const Problem& p = c.problem;
  const auto* A = static_cast<const uint16_t*>(c.args.residual);
  const auto* fn = static_cast<const float*>(c.args.fn);
  auto* D_out = static_cast<float*>(c.args.out_gemm);
  auto* Q_out = static_cast<float*>(c.args.out_sqrsum);
  const bool vec = gemm_vector(p, A, fn);
  if (p.partials || p.S == 1) {
    launch_prenorm_gemm(gemm_params(p, A, fn, D_out, Q_out, p.T, p.T * p.N, p.T, int(p.N), p.S), fp32_weights(p), vec,
                        c.stream, false);
    return;
  }
  auto* D = static_cast<float*>(c.workspace);
  float* Q = D + p.S * p.T * p.N;
  launch_prenorm_gemm(gemm_params(p, A, fn, D, Q, p.T, p.T * p.N, p.T, int(p.N), p.S), fp32_weights(p), vec, c.stream,
                      false);
  launch_split_reduce(SplitReduceParams{D, Q, D_out, Q_out, p.T, p.T * p.N, p.T, int(p.N), p.S}, c.stream, pdl);
}

// ---- A2 -------------------------------------------------------------------------------------
PreFuseParams fuse_params(const Problem& p, const RunContext& c) {
  PreFuseParams f{};
  f.scale = static_cast<const float*>(c.args.scale);
  f.base = static_cast<const float*>(c.args.base);
  f.R = static_cast<const uint16_t*>(c.args.residual);
  f.post_mix = static_cast<float*>(c.args.out_post_mix);
  f.comb_mix = static_cast<float*>(c.args.out_comb_mix);
  f.layer_input = static_cast<uint16_t*>(c.args.out_layer_input);
  f.T = p.T, f.C = p.C, f.K = p.K;
  f.n = p.n, f.N = int(p.N), f.repeat = p.desc.sinkhorn_repeat;
  f.rms_eps = p.desc.rms_eps, f.pre_eps = p.desc.pre_eps, f.sinkhorn_eps = p.desc.sinkhorn_eps;
  f.post_mult = p.desc.post_mult;
  f.head = p.desc.op == MHC_OP_HEAD;
  return f;
}

void run_fuse(const RunContext& c) {
  const Problem& p = c.problem;
  PreFuseParams f = fuse_params(p, c);
  f.D = static_cast<const float*>(c.args.gemm_out);
  f.Q = static_cast<const float*>(c.args.sqrsum);
  f.S = p.partials ? p.S : 1;
  f.d_split_stride = p.T * p.N, f.q_split_stride = p.T;
  launch_pre_fuse(f, cols_vector(p, {f.R, f.layer_input}), c.stream, false);
}

// ---- A3 and A5: GEMM pass then fuse pass, in chunks of at most kChunkTokens tokens ----------
int32_t two_pass_splits(const Problem& p) { return p.desc.op == MHC_OP_HEAD ? head_splits(p) : p.S; }

int32_t two_pass_sub_splits(const Problem& p) { return p.desc.op == MHC_OP_PRE ? pre_sub_splits(p) : 1; }

size_t two_pass_workspace(const Problem& p) {
  return partials_bytes(int64_t{two_pass_splits(p)} * two_pass_sub_splits(p), chunk_tokens(p), p.N);
}

void run_two_pass(const RunContext& c, bool pdl) {
  const Problem& p = c.problem;
  const int32_t S = two_pass_splits(p), U = two_pass_sub_splits(p);
  const int64_t Tc = chunk_tokens(p);
  const auto* A = static_cast<const uint16_t*>(c.args.residual);
  const auto* fn = static_cast<const float*>(c.args.fn);
  auto* D = static_cast<float*>(c.workspace);
  float* Q = D + int64_t{S} * U * Tc * p.N;
  const bool gvec = gemm_vector(p, A, fn);
  const PreFuseParams base = fuse_params(p, c);
  const bool fvec = cols_vector(p, {base.R, base.layer_input});
  for (int64_t t0 = 0; t0 < p.T; t0 += Tc) {
    const int64_t tc = p.T - t0 < Tc ? p.T - t0 : Tc;
    PrenormGemmParams g = gemm_params(p, A + t0 * p.K, fn, D, Q, tc, Tc * p.N, Tc, int(p.N), S);
    g.U = U;
    g.preload = pdl && t0 > 0;  // the run's first kernel must not overlap the caller's work
    launch_prenorm_gemm(g, fp32_weights(p), gvec, c.stream, g.preload);

    PreFuseParams f = base;
    f.D = D, f.Q = Q, f.S = S * U, f.d_split_stride = Tc * p.N, f.q_split_stride = Tc;
    f.T = tc;
    f.R += t0 * p.K;
    f.layer_input += t0 * p.C;
    if (f.post_mix) f.post_mix += t0 * p.n;
    if (f.comb_mix) f.comb_mix += t0 * p.n * p.n;
    if (c.args.out_gemm) f.D_out = static_cast<float*>(c.args.out_gemm) + t0 * p.N;
    if (c.args.out_sqrsum) f.Q_out = static_cast<float*>(c.args.out_sqrsum) + t0;
    launch_pre_fuse(f, fvec, c.stream, pdl);
  }
}

// ---- A4, A6 ---------------------------------------------------------------------------------
void run_post(const RunContext& c) {
  const Problem& p = c.problem;
  const PostParams q{static_cast<const uint16_t*>(c.args.layer_output), static_cast<const uint16_t*>(c.args.residual),
                     static_cast<const float*>(c.args.post_mix),       static_cast<const float*>(c.args.comb_mix),
                     static_cast<uint16_t*>(c.args.out_residual),      p.T, p.C, p.n};
  launch_post(q, cols_vector(p, {q.X, q.R, q.out}), c.stream);
}

void run_expand(const RunContext& c) {
  const Problem& p = c.problem;
  const ExpandParams e{static_cast<const uint16_t*>(c.args.embedding), static_cast<uint16_t*>(c.args.out_residual),
                       p.T, p.C, p.n};
  launch_expand(e, cols_vector(p, {e.E, e.out}), c.stream);
}

void run_gemm_sm80(const RunContext& c) { run_gemm(c, false); }
void run_gemm_sm90(const RunContext& c) { run_gemm(c, true); }
void run_two_pass_sm80(const RunContext& c) { run_two_pass(c, false); }
void run_two_pass_sm90(const RunContext& c) { run_two_pass(c, true); }

Sku sku(mhc_sku_t id, const char* name, mhc_op_t op, int min_cc, size_t (*ws)(const Problem&),
        void (*run)(const RunContext&)) {
  return Sku{id, name, MHC_BACKEND_CUDA, op, min_cc, 0, cuda_guarantee, always, ws, run};
}

}  // namespace

const std::vector<Sku>& dynamic_skus() {
  static const std::vector<Sku> skus = {
      sku(MHC_SKU_SM90_PRENORM_GEMM, "sm90_tf32_prenorm_gemm_splitk_pdl", MHC_OP_PRENORM_GEMM, 90, gemm_workspace,
          run_gemm_sm90),
      sku(MHC_SKU_SM80_PRENORM_GEMM, "sm80_tf32_prenorm_gemm_splitk", MHC_OP_PRENORM_GEMM, 80, gemm_workspace,
          run_gemm_sm80),
      sku(MHC_SKU_SM80_PRE_FUSE, "sm80_f32_pre_fuse_sinkhorn", MHC_OP_PRE_FUSE, 80, no_workspace, run_fuse),
      sku(MHC_SKU_SM90_PRE, "sm90_tf32_pre_splitk_pdl", MHC_OP_PRE, 90, two_pass_workspace, run_two_pass_sm90),
      sku(MHC_SKU_SM80_PRE, "sm80_tf32_pre_splitk", MHC_OP_PRE, 80, two_pass_workspace, run_two_pass_sm80),
      sku(MHC_SKU_SM80_POST, "sm80_bf16_post_vec8", MHC_OP_POST, 80, no_workspace, run_post),
      sku(MHC_SKU_SM90_HEAD, "sm90_tf32_head_splitk_pdl", MHC_OP_HEAD, 90, two_pass_workspace, run_two_pass_sm90),
      sku(MHC_SKU_SM80_HEAD, "sm80_tf32_head_splitk", MHC_OP_HEAD, 80, two_pass_workspace, run_two_pass_sm80),
      sku(MHC_SKU_SM80_EXPAND, "sm80_bf16_expand_vec8", MHC_OP_EXPAND, 80, no_workspace, run_expand),
  };
  return skus;
}

}  // namespace mhc::cuda
