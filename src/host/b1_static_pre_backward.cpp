// b1_static_pre_backward on the host, fp64. B1' (dx, dh_pre, dw from dL/d layer_input, rms recomputed).
#include "static_backward.hpp"

namespace mhc::host {

void run_b1_static_pre_backward(const RunContext& ctx) { run_static_backward(ctx, /*pre=*/true, /*post=*/false); }

}  // namespace mhc::host
