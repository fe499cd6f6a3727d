// a6_expand on the host, fp64. A6: E copied into each of the n streams.
#include "host_ops.hpp"
#include "numeric.hpp"

namespace mhc::host {

void run_a6_expand(const RunContext& ctx) {
  const Problem& p = ctx.problem;
  const auto* E = static_cast<const uint16_t*>(ctx.args.embedding);
  auto* out = static_cast<uint16_t*>(ctx.args.out_residual);
  for (int64_t t = 0; t < p.T; ++t)
    for (int i = 0; i < p.n; ++i)
      for (int64_t x = 0; x < p.C; ++x) out[(t * p.n + i) * p.C + x] = E[t * p.C + x];
}

}  // namespace mhc::host
