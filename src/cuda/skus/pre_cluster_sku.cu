// a3_pre and a7_boundary: the decode cluster kernel as SKUs (see pre_cluster_sku.hpp).
#include "../kernels/sm90_f32_pre_cluster.cuh"
#include "boundary_glue.hpp"
#include "dynamic_glue.hpp"
#include "pre_cluster_sku.hpp"

namespace mhc::cuda {

std::string pre_cluster_limits(const Problem& plan, const DeviceInfo& dev, bool boundary) {
  // Its rows depend on the plan's desc.tokens (which kernel the plan has), so its plans are not
  // batch-invariant; an explicit split count asks for the split-K engine.
  if (plan.batch_invariant)
    return "its plans are chosen by desc.tokens, so not batch-invariant (MHC_GUARANTEE_BATCH_INVARIANT takes the "
           "two-pass engine)";
  if (!plan.s_from_tokens)
    return fmt::format("desc.num_splits = {} asks for the split-K engine (this kernel has no splits)",
                       plan.desc.num_splits);
  return pre_cluster_limits(plan.n, plan.C, plan.T, dev, boundary);
}

void run_pre_cluster(const RunContext& c) {
  launch_pre_cluster({fuse_params(c, /*head=*/false), static_cast<const float*>(c.args.fn),
                      /*round_fn_tf32=*/!split_weights(c.problem)},
                     c.device, c.stream);
}

bool run_boundary_cluster(const RunContext& c) {
  const Problem& p = c.problem;
  const mhc_args_t& a = c.args;
  for (const void* ptr : {a.layer_output, a.residual, a.fn, static_cast<const void*>(a.out_residual),
                          static_cast<const void*>(a.out_layer_input)})
    if (!aligned(ptr, 16)) return false;
  PreClusterParams k{fuse_params(c, /*head=*/false), static_cast<const float*>(a.fn), !split_weights(p)};
  k.f.R = nullptr;
  k.Y = static_cast<const uint16_t*>(a.layer_output);
  k.H_prev = static_cast<const uint16_t*>(a.residual);
  k.post_in = static_cast<const float*>(a.post_mix);
  k.comb_in = static_cast<const float*>(a.comb_mix);
  k.pre_in = p.shifted ? static_cast<const float*>(a.pre_mix) : nullptr;
  k.H_out = static_cast<uint16_t*>(a.out_residual);
  launch_pre_cluster(k, c.device, c.stream);
  // The RMSNorm of u in place: the kernel the other paths end with (the same bits as theirs).
  auto* out = static_cast<uint16_t*>(a.out_layer_input);
  run_norm(c, out, out);
  return true;
}

Sku pre_cluster_sku(const OpCard& card, mhc_sku_t id, const char* name, Sku fallback) {
  Sku sku = by_tokens_sku(card, id, name, 90);
  sku.workspace_bytes = [](const Problem&) { return size_t{0}; };
  sku.supports = [](const Problem& plan, const DeviceInfo& dev) { return pre_cluster_limits(plan, dev); };
  sku.default_max_tokens = kPreClusterMaxTokens;
  sku.run = run_pre_cluster;
  return with_fallback(std::move(sku), std::move(fallback), [](const RunContext& c) {
    return aligned(c.args.residual, 16) && aligned(c.args.fn, 16) && aligned(c.args.out_layer_input, 16);
  });
}

Sku boundary_cluster_sku(const OpCard& card, mhc_sku_t id, const char* name, Sku fallback) {
  Sku sku = by_tokens_sku(card, id, name, 90);
  sku.workspace_bytes = fallback.workspace_bytes;  // unaligned runs take the fallback's kernels
  sku.supports = [fallback](const Problem& plan, const DeviceInfo& dev) {
    std::string why = pre_cluster_limits(plan, dev, /*boundary=*/true);
    return why.empty() ? fallback.supports(plan, dev) : why;
  };
  sku.default_max_tokens = kPreClusterMaxTokens;
  sku.run = [fallback](const RunContext& c) {
    if (!run_boundary_cluster(c)) fallback.run(c);
  };
  return sku;
}

}  // namespace mhc::cuda
