// Family B backward on the host, fp64 (docs/numerics.md "Backward (training), family B"): B1', B2'
// and B3' share one routine; B3' is B2' with dF flowing into B1' as dL/d layer_input.
#pragma once

#include "host_ops.hpp"

namespace mhc::host {

// pre: the B1' part (rms recomputed from x, dy, dh_pre, dw); post: the B2' part (dF, dh_post,
// dh_res through the guarded Sinkhorn). B1': pre; B2': post; B3': both, F = yn (unrounded) and
// dyn = dF. Per row b (in parallel): dx and dF; then the parameters' gradients summed over b in
// ascending order, each element by one thread, so the bits do not depend on the thread count.
void run_static_backward(const RunContext& ctx, bool pre, bool post);

}  // namespace mhc::host
