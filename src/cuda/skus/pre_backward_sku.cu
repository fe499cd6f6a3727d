// The CUDA SKU of the pre and head backward (see pre_backward_sku.hpp).
#include "../../common/error.hpp"
#include "../kernels/sm80_f32_pre_backward.cuh"
#include "dynamic_glue.hpp"
#include "pre_backward_sku.hpp"

namespace mhc::cuda {
namespace {

PreBackwardParams params(const RunContext& c, bool head) {
  const Problem& p = c.problem;
  const mhc_args_t& a = c.args;
  PreBackwardParams k{};
  k.A = static_cast<const uint16_t*>(a.residual);
  k.dli = static_cast<const uint16_t*>(a.grad_layer_input);
  k.dpost = head ? nullptr : static_cast<const float*>(a.grad_post_mix);
  k.dcomb = head ? nullptr : static_cast<const float*>(a.grad_comb_mix);
  k.D = static_cast<const float*>(a.gemm_out);
  k.Q = static_cast<const float*>(a.sqrsum);
  k.fn = static_cast<const float*>(a.fn);
  k.scale = static_cast<const float*>(a.scale);
  k.base = static_cast<const float*>(a.base);
  k.dR = static_cast<uint16_t*>(a.out_grad_residual);
  k.dfn = static_cast<float*>(a.out_grad_fn);
  k.dscale = static_cast<float*>(a.out_grad_scale);
  k.dbase = static_cast<float*>(a.out_grad_base);
  k.accumulate = a.grad_accumulate;
  k.T = p.T, k.C = p.C, k.K = p.K;
  k.n = p.n, k.N = static_cast<int>(p.N);
  k.head = head;
  k.weight_precision = p.desc.weight_precision;
  k.rms_eps = p.desc.rms_eps, k.pre_eps = p.desc.pre_eps, k.sinkhorn_eps = p.desc.sinkhorn_eps;
  k.post_mult = p.desc.post_mult;
  k.repeat = p.desc.sinkhorn_repeat;
  return k;
}

}  // namespace

Sku pre_backward_sku(const OpCard& card, mhc_sku_t id, const char* name, bool head, bool chunked) {
  // Per-token results depend only on their token; dfn, dscale, dbase are sums over the run's
  // tokens in an order fixed by T (docs/training.md).
  Sku s = dynamic_sku(card, id, name, chunked ? 90 : 80, /*gemm=*/true);
  s.workspace_bytes = [](const Problem& plan) { return PreBackwardWorkspace(plan.T, plan.n, int(plan.N), plan.K).total; };
  s.supports = [head](const Problem& p, const DeviceInfo&) -> std::string {
    if (p.T > 2147483647) return fmt::format("T = {}: at most 2^31 - 1 tokens (the token kernel's grid)", p.T);
    if (!head && pre_backward_token_smem(p.n, p.desc.sinkhorn_repeat) == 0)
      return fmt::format("n = {}, sinkhorn_repeat = {}: the Sinkhorn iterates of a token do not fit in shared memory",
                         p.n, p.desc.sinkhorn_repeat);
    return {};
  };
  s.run = [head, chunked](const RunContext& c) {
    PreBackwardParams k = params(c, head);
    PreBackwardWorkspace(c.plan_problem.T, c.problem.n, int(c.problem.N), c.problem.K).carve(c.workspace, k);
    launch_pre_backward(k, c.stream, chunked);
  };
  return s;
}

}  // namespace mhc::cuda
