// a4_post on the host, fp64. A4: out = post X + comb^T R, one rounding per element.
#include "host_ops.hpp"
#include "numeric.hpp"

namespace mhc::host {

void run_a4_post(const RunContext& ctx) {
  const Problem& p = ctx.problem;
  const int n = p.n;
  const auto* X = static_cast<const uint16_t*>(ctx.args.layer_output);
  const auto* R = static_cast<const uint16_t*>(ctx.args.residual);
  const auto* post = static_cast<const float*>(ctx.args.post_mix);
  const auto* comb = static_cast<const float*>(ctx.args.comb_mix);
  auto* out = static_cast<uint16_t*>(ctx.args.out_residual);
  parallel_for(p.T, static_cast<double>(p.K * n), [&](int64_t t) {
    const float* pt = post + t * n;
    const float* ct = comb + t * n * n;
    for (int k = 0; k < n; ++k)
      for (int64_t x = 0; x < p.C; ++x) {
        double acc = static_cast<double>(pt[k]) * num::bf16_to_double(X[t * p.C + x]);
        for (int j = 0; j < n; ++j)  // comb transposed: the sum runs over the first index
          acc += static_cast<double>(ct[j * n + k]) * num::bf16_to_double(R[(t * n + j) * p.C + x]);
        out[(t * n + k) * p.C + x] = num::double_to_bf16(acc);
      }
  });
}

}  // namespace mhc::host
