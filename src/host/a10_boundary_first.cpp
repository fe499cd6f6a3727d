// a10_boundary_first on the host, fp64: H = expand(E), the mix of H, and the first layer input:
// the collapse with this site's pre (V4) or E itself (V4.1 shifted, the carried pre is e_0),
// optional RMSNorm.
#include <algorithm>

#include "boundary_steps.hpp"

namespace mhc::host {

void run_a10_boundary_first(const RunContext& ctx) {
  const Problem& p = ctx.problem;
  const auto* E = static_cast<const uint16_t*>(ctx.args.embedding);
  auto* H = static_cast<uint16_t*>(ctx.args.out_residual);
  auto* out = static_cast<uint16_t*>(ctx.args.out_layer_input);
  parallel_for(p.T, static_cast<double>(p.K * (p.N + 2)), [&](int64_t t) {
    const uint16_t* e = E + t * p.C;
    uint16_t* h = H + t * p.K;
    for (int i = 0; i < p.n; ++i) std::copy(e, e + p.C, h + i * p.C);
    const TokenCoeffs c = mix_row(p, ctx, h);
    write_mix(ctx, t, c);
    if (p.shifted) std::copy(e, e + p.C, out + t * p.C);  // e_0 selects stream 0: u = E exactly
    collapse_row(p, ctx, h, p.shifted ? nullptr : c.pre.data(), out + t * p.C);
  });
}

}  // namespace mhc::host
