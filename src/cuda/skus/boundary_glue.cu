// Shared boundary SKU glue (see boundary_glue.hpp).
#include "boundary_glue.hpp"
#include "dynamic_glue.hpp"
#include "splitk_two_pass.hpp"

namespace mhc::cuda {

void run_post_collapse(const RunContext& c, uint16_t* H, uint16_t* out) {
  const Problem& p = c.problem;
  CollapseParams k{};
  k.Y = static_cast<const uint16_t*>(c.args.layer_output);
  k.H_prev = static_cast<const uint16_t*>(c.args.residual);
  k.post = static_cast<const float*>(c.args.post_mix);
  k.comb = static_cast<const float*>(c.args.comb_mix);
  k.pre = static_cast<const float*>(c.args.pre_mix);
  k.norm_w = p.norm ? static_cast<const uint16_t*>(c.args.norm_weight) : nullptr;
  k.H = H, k.out = out;
  k.T = p.T, k.C = p.C, k.n = p.n;
  k.norm_eps = p.desc.norm_eps, k.norm_scale = p.desc.norm_scale;
  launch_boundary_collapse(k, cols_vector(p, {k.Y, k.H_prev, k.norm_w, H, out}), c.stream);
}

void run_norm(const RunContext& c, const uint16_t* src, uint16_t* out) {
  const Problem& p = c.problem;
  if (!p.norm && src == out) return;
  CollapseParams k{};
  k.src = src, k.out = out;
  k.norm_w = p.norm ? static_cast<const uint16_t*>(c.args.norm_weight) : nullptr;
  k.T = p.T, k.C = p.C, k.n = p.n;
  k.norm_eps = p.desc.norm_eps, k.norm_scale = p.desc.norm_scale;
  launch_boundary_collapse(k, cols_vector(p, {src, out, k.norm_w}), c.stream);
}

void MixEngine::run(const RunContext& c, const void* H, void* layer_input) const {
  mhc_args_t a = c.args;
  a.residual = H;
  a.out_layer_input = layer_input;
  const RunContext mix{c.problem, c.plan_problem, a, c.stream, c.workspace, c.device};
  engine.run(mix);
}

MixEngine mix_engine(const OpCard& card) {
  // The bf16 GEMM where A3's default SKU takes it, so that the V4 boundary equals post then pre.
  return {two_pass_sku(card, 0, "mix", 80, {/*head=*/false, /*decode_subsplit=*/true, /*pdl=*/false, /*bf16=*/true})};
}

Sku boundary_sku(const OpCard& card, mhc_sku_t id, const char* name, const MixEngine* engine) {
  Sku s = dynamic_sku(card, id, name, 80, /*gemm=*/engine != nullptr);
  if (engine) {
    s.workspace_bytes = engine->engine.workspace_bytes;
    s.supports = engine->engine.supports;
  }
  return s;
}

}  // namespace mhc::cuda
