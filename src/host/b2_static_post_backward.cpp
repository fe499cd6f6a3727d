// b2_static_post_backward on the host, fp64. B2' (dx, dF, dh_post, dh_res through every guarded Sinkhorn step).
#include "static_backward.hpp"

namespace mhc::host {

void run_b2_static_post_backward(const RunContext& ctx) { run_static_backward(ctx, /*pre=*/false, /*post=*/true); }

}  // namespace mhc::host
