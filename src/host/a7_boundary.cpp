// a7_boundary on the host, fp64. A7: post, the mix of the rounded new residual, the collapse with
// this site's pre (V4) or the carried pre (V4.1 shifted), optional RMSNorm. V4 mode is A4 then A3
// exactly: the same row functions.
#include <vector>

#include "boundary_steps.hpp"

namespace mhc::host {

void run_a7_boundary(const RunContext& ctx) {
  const Problem& p = ctx.problem;
  const int n = p.n;
  const PostInputs in = post_inputs(ctx);
  auto* H = static_cast<uint16_t*>(ctx.args.out_residual);
  auto* out = static_cast<uint16_t*>(ctx.args.out_layer_input);
  parallel_for(p.T, static_cast<double>(p.K * (p.N + 2 * n)), [&](int64_t t) {
    uint16_t* h = H + t * p.K;
    in.post_token(p, t, h);
    const TokenCoeffs c = mix_row(p, ctx, h);
    write_mix(ctx, t, c);
    std::vector<double> pre(c.pre);
    if (p.shifted)
      for (int i = 0; i < n; ++i) pre[i] = in.carried[t * n + i];
    collapse_row(p, ctx, h, pre.data(), out + t * p.C);
  });
}

}  // namespace mhc::host
