// Family B kernels, bf16 activations: every variant of static_rows_kernel<uint16_t (bf16), ...>.
#include "sm80_f32acc_static_hc.cuh"

namespace mhc::cuda::static_hc {

KernelFn static_kernel_bf16(int mode, int nb, bool vec, bool res) {
  return pick_kernel<uint16_t>(mode, nb, vec, res);
}

}  // namespace mhc::cuda::static_hc
