// b3_static_layer_backward on the host, fp64. B3', B2' with dF flowing into B1' (F = the unrounded yn).
#include "static_backward.hpp"

namespace mhc::host {

void run_b3_static_layer_backward(const RunContext& ctx) { run_static_backward(ctx, /*pre=*/true, /*post=*/true); }

}  // namespace mhc::host
