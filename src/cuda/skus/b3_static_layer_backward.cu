// b3_static_layer_backward CUDA SKU: B3' (dx, dh_pre, dh_post, dh_res, dw) with the static-H backward kernels
// (static_backward.cu): a persistent row kernel, the parameters' partials reduced in an order fixed
// by (C, dtype, n), a finalize in fp64 (the guarded Sinkhorn reversed on one warp). Workspace: the
// partials and the Sinkhorn's record.
#include "../../ops/op_card.hpp"
#include "skus.hpp"
#include "static_backward.hpp"

namespace mhc::cuda {

std::vector<Sku> skus_b3_static_layer_backward() {
  // The streamed refill where one row buffer per slot is all that fits (the same bits, as fast or
  // faster: docs/performance_static.md), else the same kernels as the SKU after it (forced only).
  return {static_backward_sku(card_b3_static_layer_backward, MHC_SKU_SM80_STATIC_LAYER_BACKWARD_STREAMED,
                              "sm80_f32acc_static_layer_backward_streamed", kStaticLayerBackwardMode, /*streamed=*/true),
          static_backward_sku(card_b3_static_layer_backward, MHC_SKU_SM80_STATIC_LAYER_BACKWARD,
                              "sm80_f32acc_static_layer_backward", kStaticLayerBackwardMode)};
}

}  // namespace mhc::cuda
