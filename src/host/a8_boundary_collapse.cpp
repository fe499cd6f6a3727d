// a8_boundary_collapse on the host, fp64: post, then the collapse of the rounded new residual with
// the carried pre, optional RMSNorm. out_residual is optional (the V4.1 head needs none).
#include <vector>

#include "boundary_steps.hpp"

namespace mhc::host {

void run_a8_boundary_collapse(const RunContext& ctx) {
  const Problem& p = ctx.problem;
  const int n = p.n;
  const auto* Y = static_cast<const uint16_t*>(ctx.args.layer_output);
  const auto* R = static_cast<const uint16_t*>(ctx.args.residual);
  const auto* post = static_cast<const float*>(ctx.args.post_mix);
  const auto* comb = static_cast<const float*>(ctx.args.comb_mix);
  const auto* carried = static_cast<const float*>(ctx.args.pre_mix);
  auto* H = static_cast<uint16_t*>(ctx.args.out_residual);
  auto* out = static_cast<uint16_t*>(ctx.args.out_layer_input);
  parallel_for(p.T, static_cast<double>(p.K * (n + 1)), [&](int64_t t) {
    std::vector<uint16_t> local(H ? 0 : p.K);
    uint16_t* h = H ? H + t * p.K : local.data();
    post_row(p, Y + t * p.C, R + t * p.K, post + t * n, comb + t * n * n, h);
    std::vector<double> pre(carried + t * n, carried + (t + 1) * n);
    collapse_row(p, ctx, h, pre.data(), out + t * p.C);
  });
}

}  // namespace mhc::host
