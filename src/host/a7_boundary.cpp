// a7_boundary on the host, fp64. A7: post, the mix of the rounded new residual, the collapse with
// this site's pre (V4) or the carried pre (V4.1 shifted), optional RMSNorm. V4 mode is A4 then A3
// exactly: the same row functions.
#include <vector>

#include "boundary_steps.hpp"

namespace mhc::host {

void run_a7_boundary(const RunContext& ctx) {
  const Problem& p = ctx.problem;
  const int n = p.n;
  const auto* Y = static_cast<const uint16_t*>(ctx.args.layer_output);
  const auto* R = static_cast<const uint16_t*>(ctx.args.residual);
  const auto* post = static_cast<const float*>(ctx.args.post_mix);
  const auto* comb = static_cast<const float*>(ctx.args.comb_mix);
  const auto* carried = static_cast<const float*>(ctx.args.pre_mix);
  auto* H = static_cast<uint16_t*>(ctx.args.out_residual);
  auto* out = static_cast<uint16_t*>(ctx.args.out_layer_input);
  parallel_for(p.T, static_cast<double>(p.K * (p.N + 2 * n)), [&](int64_t t) {
    uint16_t* h = H + t * p.K;
    post_row(p, Y + t * p.C, R + t * p.K, post + t * n, comb + t * n * n, h);
    const TokenCoeffs c = mix_row(p, ctx, h);
    write_mix(ctx, t, c);
    std::vector<double> pre(c.pre);
    if (p.shifted)
      for (int i = 0; i < n; ++i) pre[i] = carried[t * n + i];
    collapse_row(p, ctx, h, pre.data(), out + t * p.C);
  });
}

}  // namespace mhc::host
