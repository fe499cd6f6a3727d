// Family B backward kernels, fp32 activations: every variant of the row and tile kernels for float.
#include "sm80_f32acc_static_bwd.cuh"

namespace mhc::cuda::static_bwd {

RowKernelFn rows_kernel_f32(int mode, int nb, bool vec, bool res, bool refill) {
  return pick_rows_kernel<float>(mode, nb, vec, res, refill);
}
TileKernelFn tile_kernel_f32(int mode) { return pick_tile_kernel<float>(mode); }

}  // namespace mhc::cuda::static_bwd
