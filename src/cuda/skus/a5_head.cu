// a5_head CUDA SKUs: the split-K two-pass engine (splits from K alone, pre gate only), the cluster
// kernel and the one-pass engine (sm_90), the portable two-pass engine.
#include "../../ops/op_card.hpp"
#include "../kernels/sm90_f32_head_cluster.cuh"
#include "dynamic_glue.hpp"
#include "onepass.hpp"
#include "skus.hpp"
#include "splitk_two_pass.hpp"

namespace mhc::cuda {
namespace {

// The cluster kernel where the run's tensors are 16-byte aligned, else `fallback`. Selection
// takes it for plans of at least kHeadClusterMinTokens tokens (below them the two-pass engine,
// which spreads fn over more SMs, is faster): a row then depends on the plan's desc.tokens, so
// its plans are not batch-invariant, and a caller requiring that gets the two-pass engine.
Sku cluster_sku(Sku fallback, mhc_sku_t id, const char* name, bool pipelined) {
  Sku sku = by_tokens_sku(card_a5_head, id, name, 90, [](const Problem& plan, const DeviceInfo& dev) {
    return head_cluster_limits(plan.n, plan.C, dev);
  });
  sku.workspace_bytes = [](const Problem&) { return size_t{0}; };
  sku.default_min_tokens = kHeadClusterMinTokens;
  sku.run = [pipelined](const RunContext& c) {
    launch_head_cluster({fuse_params(c, /*head=*/true), static_cast<const float*>(c.args.fn),
                         /*round_fn_tf32=*/!split_weights(c.problem), pipelined},
                        c.device, c.stream);
  };
  return with_fallback(std::move(sku), std::move(fallback), residual_fn_output_aligned);
}

}  // namespace

std::vector<Sku> skus_a5_head() {
  const Sku two_pass = two_pass_sku(card_a5_head, MHC_SKU_SM90_HEAD, "sm90_tf32_head_splitk_pdl", 90, {true, false, true});
  return {cluster_sku(two_pass, MHC_SKU_SM90_HEAD_CLUSTER, "sm90_f32_head_cluster", false),  // plans of >= 256 tokens
          two_pass,  // the SKUs after it: reached only when forced
          cluster_sku(two_pass, MHC_SKU_SM90_HEAD_CLUSTER_PIPELINED, "sm90_f32_head_cluster_pipelined", true),
          onepass_sku(card_a5_head, MHC_SKU_SM90_HEAD_ONEPASS, "sm90_tf32_head_onepass", {OnepassKind::kHead, false, 0},
                      two_pass),
          two_pass_sku(card_a5_head, MHC_SKU_SM80_HEAD, "sm80_tf32_head_splitk", 80, {true, false, false})};
}

}  // namespace mhc::cuda
