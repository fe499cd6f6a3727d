// Shared family-A SKU glue (see dynamic_glue.hpp).
#include "dynamic_glue.hpp"

#include <algorithm>
#include <memory>

#include "../kernels/sm80_bf16_post.cuh"
#include "../../common/error.hpp"
#include "skus.hpp"

namespace mhc::cuda {

mhc_precision_guarantee_t dynamic_guarantee(const Problem& p, bool gemm) {
  mhc_guarantee_flags_t flags = MHC_GUARANTEE_DETERMINISTIC | MHC_GUARANTEE_BIT_STABLE | MHC_GUARANTEE_NO_ATOMICS;
  if (!p.s_from_tokens) flags |= MHC_GUARANTEE_BATCH_INVARIANT;
  const mhc_dtype_t math = gemm ? p.desc.weight_precision : MHC_DTYPE_FP32;
  return {sizeof(mhc_precision_guarantee_t), math, MHC_DTYPE_FP32, flags};
}

PreFuseParams fuse_params(const RunContext& c, bool head) {
  const Problem& p = c.problem;
  PreFuseParams f{};
  f.scale = static_cast<const float*>(c.args.scale);
  f.base = static_cast<const float*>(c.args.base);
  f.R = static_cast<const uint16_t*>(c.args.residual);
  f.post_mix = static_cast<float*>(c.args.out_post_mix);
  f.pre_out = static_cast<float*>(c.args.out_pre_mix);
  f.comb_mix = static_cast<float*>(c.args.out_comb_mix);
  f.layer_input = static_cast<uint16_t*>(c.args.out_layer_input);
  f.D_out = static_cast<float*>(c.args.out_gemm);  // the reduced D and Q, where the op saves them
  f.Q_out = static_cast<float*>(c.args.out_sqrsum);
  f.T = p.T, f.C = p.C, f.K = p.K;
  f.n = p.n, f.N = int(p.N), f.repeat = p.desc.sinkhorn_repeat;
  f.rms_eps = p.desc.rms_eps, f.pre_eps = p.desc.pre_eps, f.sinkhorn_eps = p.desc.sinkhorn_eps;
  f.post_mult = p.desc.post_mult;
  f.head = head;
  return f;
}

void run_post(const RunContext& c, uint16_t* out) {
  const Problem& p = c.problem;
  const PostParams q{static_cast<const uint16_t*>(c.args.layer_output), static_cast<const uint16_t*>(c.args.residual),
                     static_cast<const float*>(c.args.post_mix),       static_cast<const float*>(c.args.comb_mix),
                     out,                                             p.T, p.C, p.n};
  launch_post(q, cols_vector(p, {q.X, q.R, q.out}), c.stream);
}

void run_expand(const RunContext& c, uint16_t* out) {
  const Problem& p = c.problem;
  const ExpandParams e{static_cast<const uint16_t*>(c.args.embedding), out, p.T, p.C, p.n};
  launch_expand(e, cols_vector(p, {e.E, e.out}), c.stream);
}

std::string fuse_grid_limits(int64_t tokens, int64_t C) {
  constexpr int64_t kCols = 1024, kMaxY = 65535, kMaxX = 2147483647;
  if (tokens > kMaxX) return fmt::format("T = {}: the fuse pass launches one CTA row per token (at most 2^31 - 1)", tokens);
  if ((C + kCols - 1) / kCols > kMaxY)
    return fmt::format("C = {}: the fuse pass covers C in {} CTAs of {} columns (at most {})", C,
                       (C + kCols - 1) / kCols, kCols, kMaxY);
  return {};
}

std::string gemm_grid_limits(int64_t partials) {
  if (partials > 65535)
    return fmt::format("{} split partials: the GEMM launches one CTA column per partial (at most 65535)", partials);
  return {};
}

std::string bf16_gemm_limits(const Problem& plan) {
  if (!plan.s_from_tokens)
    return "the bf16 GEMM serves plans whose split count comes from T (num_splits = 0, not batch-invariant): "
           "its partials differ from the tf32 kernels' in the last bits";
  if (plan.T < kWideMinTokens)
    return fmt::format("the bf16 GEMM serves plans of at least {} tokens (tokens = {})", kWideMinTokens, plan.T);
  return {};
}

GemmKernel gemm_kernel_of_run(GemmKernel want, const Problem& plan, int64_t run_tokens) {
  const bool serves = plan.s_from_tokens && run_tokens >= kWideMinTokens;
  return want == GemmKernel::kBf16 && !serves ? GemmKernel::kAuto : want;
}

Sku bf16_only(Sku sku) {
  sku.supports = [all = sku.supports](const Problem& plan, const DeviceInfo& dev) {
    const std::string why = bf16_gemm_limits(plan);
    return why.empty() ? all(plan, dev) : why;
  };
  return sku;
}

Sku with_fallback(Sku sku, Sku fallback, std::function<bool(const RunContext&)> takes) {
  auto own = std::make_shared<const Sku>(sku);
  auto fb = std::make_shared<const Sku>(std::move(fallback));
  sku.workspace_bytes = [own, fb](const Problem& plan) {
    return std::max(own->workspace_bytes(plan), fb->workspace_bytes(plan));
  };
  sku.supports = [own, fb](const Problem& plan, const DeviceInfo& dev) {
    const std::string why = own->supports(plan, dev);
    return why.empty() ? fb->supports(plan, dev) : why;
  };
  sku.run = [own, fb, takes = std::move(takes)](const RunContext& c) {
    if (takes(c))
      own->run(c);
    else
      fb->run(c);
  };
  return sku;
}

Sku dynamic_sku(const OpCard& card, mhc_sku_t id, const char* name, int min_cc, bool gemm) {
  Sku s = cuda_sku(card, id, name, min_cc);
  s.guarantee = [gemm](const Problem& p) { return dynamic_guarantee(p, gemm); };
  return s;
}

Sku by_tokens_sku(const OpCard& card, mhc_sku_t id, const char* name, int min_cc,
                  std::function<std::string(const Problem&, const DeviceInfo&)> limits) {
  Sku s = cuda_sku(card, id, name, min_cc);
  s.guarantee = [](const Problem& p) {
    mhc_precision_guarantee_t g = dynamic_guarantee(p, /*gemm=*/true);
    g.flags &= ~MHC_GUARANTEE_BATCH_INVARIANT;
    return g;
  };
  s.supports = [limits = std::move(limits)](const Problem& plan, const DeviceInfo& dev) {
    if (plan.batch_invariant)
      return std::string("its plans are chosen by desc.tokens, so not batch-invariant "
                         "(MHC_GUARANTEE_BATCH_INVARIANT takes the two-pass engine)");
    return limits(plan, dev);
  };
  return s;
}

}  // namespace mhc::cuda
