// a5_head_backward on the host, fp64. A5': the pre gate reversed from the saved D and Q (N = n), then the GEMM's.
#include "dynamic_backward.hpp"

namespace mhc::host {

void run_a5_head_backward(const RunContext& ctx) { run_pre_backward(ctx, /*head=*/true); }

}  // namespace mhc::host
