// a3_pre and a7_boundary: the decode cluster kernel as SKUs (see pre_cluster_sku.hpp).
#include "../kernels/sm90_f32_pre_cluster.cuh"
#include "boundary_glue.hpp"
#include "dynamic_glue.hpp"
#include "pre_cluster_sku.hpp"

namespace mhc::cuda {

std::string pre_cluster_limits(const Problem& plan, const DeviceInfo& dev, bool boundary) {
  if (!plan.s_from_tokens)  // a split count the caller asked for
    return fmt::format("desc.num_splits = {} asks for the split-K engine (this kernel has no splits)",
                       plan.desc.num_splits);
  return pre_cluster_limits(plan.n, plan.C, plan.T, dev, boundary);
}

void run_pre_cluster(const RunContext& c) {
  launch_pre_cluster({fuse_params(c, /*head=*/false), static_cast<const float*>(c.args.fn),
                      /*round_fn_tf32=*/!split_weights(c.problem)},
                     c.device, c.stream);
}

void run_boundary_cluster(const RunContext& c) {
  const Problem& p = c.problem;
  const mhc_args_t& a = c.args;
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
}

Sku pre_cluster_sku(const OpCard& card, mhc_sku_t id, const char* name, Sku fallback) {
  Sku sku = by_tokens_sku(card, id, name, 90, [](const Problem& plan, const DeviceInfo& dev) {
    return pre_cluster_limits(plan, dev);
  });
  sku.workspace_bytes = [](const Problem&) { return size_t{0}; };
  sku.default_max_tokens = kPreClusterMaxTokens;
  sku.run = run_pre_cluster;
  return with_fallback(std::move(sku), std::move(fallback), residual_fn_output_aligned);
}

Sku boundary_cluster_sku(const OpCard& card, mhc_sku_t id, const char* name, Sku fallback) {
  Sku sku = by_tokens_sku(card, id, name, 90, [](const Problem& plan, const DeviceInfo& dev) {
    return pre_cluster_limits(plan, dev, /*boundary=*/true);
  });
  sku.workspace_bytes = [](const Problem&) { return size_t{0}; };
  sku.default_max_tokens = kPreClusterMaxTokens;
  sku.run = run_boundary_cluster;
  return with_fallback(std::move(sku), std::move(fallback), [](const RunContext& c) {
    const mhc_args_t& a = c.args;
    return aligned(a.layer_output, 16) && aligned(a.out_residual, 16) && residual_fn_output_aligned(c);
  });
}

}  // namespace mhc::cuda
