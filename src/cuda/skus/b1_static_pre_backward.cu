// b1_static_pre_backward CUDA SKU: B1' (dx, dh_pre, dw) with the static-H backward kernels
// (static_backward.cu): a persistent row kernel, the parameters' partials reduced in an order fixed
// by (C, dtype, n), a finalize in fp64. Workspace: the partials.
#include "../../ops/op_card.hpp"
#include "skus.hpp"
#include "static_backward.hpp"

namespace mhc::cuda {

std::vector<Sku> skus_b1_static_pre_backward() {
  // The streamed refill where one row buffer per slot is all that fits (the same bits, as fast or
  // faster: docs/performance_static.md), else the same kernels as the SKU after it (forced only).
  return {static_backward_sku(card_b1_static_pre_backward, MHC_SKU_SM80_STATIC_PRE_BACKWARD_STREAMED,
                              "sm80_f32acc_static_pre_backward_streamed", kStaticPreBackwardMode, /*streamed=*/true),
          static_backward_sku(card_b1_static_pre_backward, MHC_SKU_SM80_STATIC_PRE_BACKWARD,
                              "sm80_f32acc_static_pre_backward", kStaticPreBackwardMode)};
}

}  // namespace mhc::cuda
