// Family B backward kernels, bf16 activations: every variant of the row and tile kernels for
// uint16_t (bf16).
#include "sm80_f32acc_static_bwd.cuh"

namespace mhc::cuda::static_bwd {

RowKernelFn rows_kernel_bf16(int mode, int nb, bool vec, bool res, bool refill) {
  return pick_rows_kernel<uint16_t>(mode, nb, vec, res, refill);
}
TileKernelFn tile_kernel_bf16(int mode) { return pick_tile_kernel<uint16_t>(mode); }

}  // namespace mhc::cuda::static_bwd
