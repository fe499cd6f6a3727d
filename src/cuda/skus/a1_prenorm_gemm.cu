// a1_prenorm_gemm CUDA SKUs: the split-K GEMM + square-sum (bf16 tensor cores for long runs
// where S comes from T, else tf32), partials or reduced in a second
// launch (chained with programmatic dependent launch on sm_90); forced only: the one-pass engine's
// GEMM (sm_90; reduced by the CTA that finishes a token block), the split-K GEMM without the
// wide-token kernels and the one with the register-pipelined wide kernel instead of the staged
// one (the same bits; the bench's befores).
#include "../../ops/op_card.hpp"
#include "dynamic_glue.hpp"
#include "onepass.hpp"
#include "skus.hpp"
#include "splitk_heuristics.hpp"

namespace mhc::cuda {
namespace {

// Partials for the plan's largest T, reduced into the caller's D and Q.
size_t gemm_workspace(const Problem& plan) {
  return plan.partials || plan.S == 1 ? 0 : partials_bytes(plan.S, plan.T, plan.N);
}

PrenormGemmParams gemm_params(const Problem& p, const uint16_t* A, const float* fn, float* D, float* Q) {
  return PrenormGemmParams{A, fn, D, Q, p.T, p.K, p.G, p.T * p.N, p.T, int(p.N), p.S, 1, false};
}

void run_gemm(const RunContext& c, bool pdl, GemmKernel kernel) {
  const Problem& p = c.problem;
  kernel = gemm_kernel_of_run(kernel, c.plan_problem, p.T);
  const auto* A = static_cast<const uint16_t*>(c.args.residual);
  const auto* fn = static_cast<const float*>(c.args.fn);
  auto* D_out = static_cast<float*>(c.args.out_gemm);
  auto* Q_out = static_cast<float*>(c.args.out_sqrsum);
  const bool vec = gemm_vector(p, A, fn);
  if (p.partials || p.S == 1) {
    launch_prenorm_gemm(gemm_params(p, A, fn, D_out, Q_out), split_weights(p), vec, c.device, c.stream, false, kernel);
    return;
  }
  auto* D = static_cast<float*>(c.workspace);
  float* Q = D + p.S * p.T * p.N;
  launch_prenorm_gemm(gemm_params(p, A, fn, D, Q), split_weights(p), vec, c.device, c.stream, false, kernel);
  launch_split_reduce(SplitReduceParams{D, Q, D_out, Q_out, p.T, p.T * p.N, p.T, int(p.N), p.S}, c.stream, pdl);
}

Sku gemm_sku(mhc_sku_t id, const char* name, int min_cc, bool pdl, GemmKernel kernel = GemmKernel::kAuto) {
  Sku s = dynamic_sku(card_a1_prenorm_gemm, id, name, min_cc, /*gemm=*/true);
  s.workspace_bytes = gemm_workspace;
  s.supports = [](const Problem& p, const DeviceInfo&) { return gemm_grid_limits(p.S); };
  s.run = [pdl, kernel](const RunContext& c) { run_gemm(c, pdl, kernel); };
  return s;
}

}  // namespace

std::vector<Sku> skus_a1_prenorm_gemm() {
  const Sku splitk = gemm_sku(MHC_SKU_SM90_PRENORM_GEMM, "sm90_tf32_prenorm_gemm_splitk_pdl", 90, true);
  // The bf16 GEMM first where it serves the plan (S from T, >= 1024 tokens), as A3's default.
  return {bf16_only(gemm_sku(MHC_SKU_SM90_PRENORM_GEMM_BF16, "sm90_bf16_prenorm_gemm_splitk_pdl", 90, true,
                             GemmKernel::kBf16)),
          splitk,  // the one-pass, narrow and wide-registers SKUs after it: reached only when forced
          onepass_sku(card_a1_prenorm_gemm, MHC_SKU_SM90_PRENORM_GEMM_ONEPASS, "sm90_tf32_prenorm_gemm_onepass",
                      {OnepassKind::kGemm, false, 0}, splitk),
          gemm_sku(MHC_SKU_SM90_PRENORM_GEMM_NARROW, "sm90_tf32_prenorm_gemm_splitk_narrow", 90, true,
                   GemmKernel::kNarrow),
          gemm_sku(MHC_SKU_SM90_PRENORM_GEMM_WIDE_REGS, "sm90_tf32_prenorm_gemm_splitk_wide_regs", 90, true,
                   GemmKernel::kWideRegisters),
          gemm_sku(MHC_SKU_SM80_PRENORM_GEMM, "sm80_tf32_prenorm_gemm_splitk", 80, false)};
}

}  // namespace mhc::cuda
