// The split-K two-pass SKUs (see splitk_two_pass.hpp).
#include "dynamic_glue.hpp"
#include "splitk_heuristics.hpp"
#include "splitk_two_pass.hpp"

namespace mhc::cuda {
namespace {

int32_t splits(const Problem& plan, const TwoPassSettings& s) { return s.head ? k_only_splits(plan) : plan.S; }
int32_t sub_splits(const Problem& plan, const TwoPassSettings& s) {
  return s.decode_subsplit ? decode_sub_splits(plan) : 1;
}

size_t workspace(const Problem& plan, const TwoPassSettings& s) {
  return partials_bytes(int64_t{splits(plan, s)} * sub_splits(plan, s), chunk_tokens(plan), plan.N);
}

// Splits, sub-splits and the chunk come from the plan (the workspace was sized for them); the
// launches cover the run's tokens.
void run(const RunContext& c, const TwoPassSettings& s) {
  const Problem& p = c.problem;
  const int32_t S = splits(c.plan_problem, s), U = sub_splits(c.plan_problem, s);
  const int64_t Tc = chunk_tokens(c.plan_problem);
  const auto* A = static_cast<const uint16_t*>(c.args.residual);
  const auto* fn = static_cast<const float*>(c.args.fn);
  auto* D = static_cast<float*>(c.workspace);
  float* Q = D + int64_t{S} * U * Tc * p.N;
  const bool gvec = gemm_vector(p, A, fn);
  const PreFuseParams base = fuse_params(c, s.head);
  const bool fvec = cols_vector(p, {base.R, base.layer_input});
  // One kernel for the whole run, whatever its chunks: the bf16 kernel's bits are its own.
  const GemmKernel gemm = gemm_kernel_of_run(s.bf16 ? GemmKernel::kBf16 : GemmKernel::kAuto, c.plan_problem, p.T);
  for (int64_t t0 = 0; t0 < p.T; t0 += Tc) {
    const int64_t tc = p.T - t0 < Tc ? p.T - t0 : Tc;
    PrenormGemmParams g{A + t0 * p.K, fn, D, Q, tc, p.K, p.G, Tc * p.N, Tc, int(p.N), S, U, false};
    g.preload = s.pdl && t0 > 0;  // the run's first kernel must not overlap the caller's work
    launch_prenorm_gemm(g, split_weights(p), gvec, c.device, c.stream, g.preload, gemm);

    PreFuseParams f = base;
    f.D = D, f.Q = Q, f.S = S * U, f.d_split_stride = Tc * p.N, f.q_split_stride = Tc;
    f.T = tc;
    f.R += t0 * p.K;
    if (f.layer_input) f.layer_input += t0 * p.C;
    if (f.pre_out) f.pre_out += t0 * p.n;
    if (f.post_mix) f.post_mix += t0 * p.n;
    if (f.comb_mix) f.comb_mix += t0 * p.n * p.n;
    if (f.D_out) f.D_out += t0 * p.N;
    if (f.Q_out) f.Q_out += t0;
    // Long chunks take the token-block fuse (partials summed once per token; same bits).
    launch_pre_fuse(f, fvec, c.stream, s.pdl, /*token_blocks=*/!s.head && tc >= kTokenBlockMinTokens);
  }
}

}  // namespace

Sku two_pass_sku(const OpCard& card, mhc_sku_t id, const char* name, int min_cc, TwoPassSettings settings) {
  Sku sku = dynamic_sku(card, id, name, min_cc, /*gemm=*/true);
  sku.workspace_bytes = [settings](const Problem& plan) { return workspace(plan, settings); };
  sku.supports = [settings](const Problem& plan, const DeviceInfo&) {
    const std::string gemm = gemm_grid_limits(int64_t{splits(plan, settings)} * sub_splits(plan, settings));
    return gemm.empty() ? fuse_grid_limits(chunk_tokens(plan), plan.C) : gemm;
  };
  sku.run = [settings](const RunContext& c) { run(c, settings); };
  return sku;
}

}  // namespace mhc::cuda
