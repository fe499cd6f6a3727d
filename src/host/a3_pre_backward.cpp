// a3_pre_backward on the host, fp64. A3': the coefficient math reversed from the saved D and Q, then the GEMM's.
#include "dynamic_backward.hpp"

namespace mhc::host {

void run_a3_pre_backward(const RunContext& ctx) { run_pre_backward(ctx, /*head=*/false); }

}  // namespace mhc::host
