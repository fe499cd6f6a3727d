// a2_pre_fuse CUDA SKUs: one fuse pass from (D, Q), reduced or S partials summed in slot order;
// over blocks of 8 tokens (partials summed once per token), or a CTA per token and 1024 columns.
#include "../../ops/op_card.hpp"
#include "dynamic_glue.hpp"
#include "skus.hpp"

namespace mhc::cuda {
namespace {

void run_fuse(const RunContext& c, bool token_blocks) {
  const Problem& p = c.problem;
  PreFuseParams f = fuse_params(c, /*head=*/false);
  f.D = static_cast<const float*>(c.args.gemm_out);
  f.Q = static_cast<const float*>(c.args.sqrsum);
  f.S = p.partials ? p.S : 1;
  f.d_split_stride = p.T * p.N, f.q_split_stride = p.T;
  launch_pre_fuse(f, cols_vector(p, {f.R, f.layer_input}), c.stream, false, token_blocks);
}

}  // namespace

std::vector<Sku> skus_a2_pre_fuse() {
  Sku blocks = dynamic_sku(card_a2_pre_fuse, MHC_SKU_SM80_PRE_FUSE_TOKENS, "sm80_f32_pre_fuse_tokens", 80, false);
  // Short runs have too few blocks to fill the GPU: the per-token kernel (same bits).
  blocks.run = [](const RunContext& c) { run_fuse(c, c.problem.T >= kTokenBlockMinTokens); };
  Sku per_token = dynamic_sku(card_a2_pre_fuse, MHC_SKU_SM80_PRE_FUSE, "sm80_f32_pre_fuse_sinkhorn", 80, false);
  per_token.supports = [](const Problem& p, const DeviceInfo&) { return fuse_grid_limits(p.T, p.C); };
  blocks.supports = per_token.supports;  // short runs launch the per-token kernel
  per_token.run = [](const RunContext& c) { run_fuse(c, false); };
  return {blocks, per_token};
}

}  // namespace mhc::cuda
