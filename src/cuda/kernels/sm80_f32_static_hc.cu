// Family B kernels, fp32 activations: every variant of static_rows_kernel<float, ...>.
#include "sm80_f32acc_static_hc.cuh"

namespace mhc::cuda::static_hc {

KernelFn static_kernel_f32(int mode, int nb, bool vec, bool res) { return pick_kernel<float>(mode, nb, vec, res); }

}  // namespace mhc::cuda::static_hc
