// a2_pre_fuse CUDA SKU: one fuse pass from (D, Q), reduced or S partials summed in slot order.
#include "../../ops/op_card.hpp"
#include "dynamic_glue.hpp"
#include "skus.hpp"

namespace mhc::cuda {
namespace {

void run_fuse(const RunContext& c) {
  const Problem& p = c.problem;
  PreFuseParams f = fuse_params(c, /*head=*/false);
  f.D = static_cast<const float*>(c.args.gemm_out);
  f.Q = static_cast<const float*>(c.args.sqrsum);
  f.S = p.partials ? p.S : 1;
  f.d_split_stride = p.T * p.N, f.q_split_stride = p.T;
  launch_pre_fuse(f, cols_vector(p, {f.R, f.layer_input}), c.stream, false);
}

}  // namespace

std::vector<Sku> skus_a2_pre_fuse() {
  Sku s = dynamic_sku(card_a2_pre_fuse, MHC_SKU_SM80_PRE_FUSE, "sm80_f32_pre_fuse_sinkhorn", 80, /*gemm=*/false);
  s.supports = [](const Problem& p, const DeviceInfo&) { return fuse_grid_limits(p.T, p.C); };
  s.run = run_fuse;
  return {s};
}

}  // namespace mhc::cuda
