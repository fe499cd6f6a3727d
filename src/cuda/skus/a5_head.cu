// a5_head CUDA SKUs: the split-K two-pass engine (splits from K alone, pre gate only), the cluster
// kernel and the one-pass engine (sm_90), the portable two-pass engine.
#include <memory>

#include "../../ops/op_card.hpp"
#include "../kernels/sm90_f32_head_cluster.cuh"
#include "dynamic_glue.hpp"
#include "onepass.hpp"
#include "skus.hpp"
#include "splitk_two_pass.hpp"

namespace mhc::cuda {
namespace {

// The cluster kernel where the run's tensors are 16-byte aligned, else `fallback` (which supports
// every problem this SKU does; the workspace is the fallback's).
Sku cluster_sku(Sku fallback) {
  Sku sku = dynamic_sku(card_a5_head, MHC_SKU_SM90_HEAD_CLUSTER, "sm90_f32_head_cluster", 90, /*gemm=*/true);
  auto fb = std::make_shared<const Sku>(std::move(fallback));
  sku.guarantee = [](const Problem& p) {
    mhc_precision_guarantee_t g = dynamic_guarantee(p, /*gemm=*/true);
    g.flags |= MHC_GUARANTEE_BATCH_INVARIANT;  // no split of K depends on T
    return g;
  };
  sku.workspace_bytes = [fb](const Problem& plan) { return fb->workspace_bytes(plan); };
  sku.supports = [fb](const Problem& plan, const DeviceInfo& dev) {
    const std::string own = head_cluster_limits(plan.n, plan.C, dev);
    return own.empty() ? fb->supports(plan, dev) : own;
  };
  sku.run = [fb](const RunContext& c) {
    const HeadClusterParams p{fuse_params(c, /*head=*/true), static_cast<const float*>(c.args.fn),
                              c.problem.desc.weight_precision == MHC_DTYPE_TF32};
    if (aligned(p.f.R, 16) && aligned(p.f.layer_input, 16) && aligned(p.fn, 16))
      launch_head_cluster(p, c.device, c.stream);
    else
      fb->run(c);
  };
  return sku;
}

}  // namespace

std::vector<Sku> skus_a5_head() {
  const Sku two_pass = two_pass_sku(card_a5_head, MHC_SKU_SM90_HEAD, "sm90_tf32_head_splitk_pdl", 90, {true, false, true});
  return {two_pass,  // the SKUs after it: reached only when forced
          cluster_sku(two_pass),
          onepass_sku(card_a5_head, MHC_SKU_SM90_HEAD_ONEPASS, "sm90_tf32_head_onepass", {OnepassKind::kHead, false, 0},
                      two_pass),
          two_pass_sku(card_a5_head, MHC_SKU_SM80_HEAD, "sm80_tf32_head_splitk", 80, {true, false, false})};
}

}  // namespace mhc::cuda
