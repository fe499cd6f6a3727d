// a8_boundary_collapse on the host, fp64: post, then the collapse of the rounded new residual with
// the carried pre, optional RMSNorm. out_residual is optional (the V4.1 head needs none).
#include <vector>

#include "boundary_steps.hpp"

namespace mhc::host {

void run_a8_boundary_collapse(const RunContext& ctx) {
  const Problem& p = ctx.problem;
  const int n = p.n;
  const PostInputs in = post_inputs(ctx);
  auto* H = static_cast<uint16_t*>(ctx.args.out_residual);
  auto* out = static_cast<uint16_t*>(ctx.args.out_layer_input);
  parallel_for(p.T, static_cast<double>(p.K * (n + 1)), [&](int64_t t) {
    std::vector<uint16_t> local(H ? 0 : p.K);
    uint16_t* h = H ? H + t * p.K : local.data();
    in.post_token(p, t, h);
    std::vector<double> pre(in.carried + t * n, in.carried + (t + 1) * n);
    collapse_row(p, ctx, h, pre.data(), out + t * p.C);
  });
}

}  // namespace mhc::host
