// b2_static_post_backward CUDA SKU: B2' (dx, dF, dh_post, dh_res) with the static-H backward kernels
// (static_backward.cu): a persistent row kernel, the parameters' partials reduced in an order fixed
// by (C, dtype, n), a finalize in fp64 (the guarded Sinkhorn reversed on one warp). Workspace: the
// partials and the Sinkhorn's record.
#include "../../ops/op_card.hpp"
#include "skus.hpp"
#include "static_backward.hpp"

namespace mhc::cuda {

std::vector<Sku> skus_b2_static_post_backward() {
  return {static_backward_sku(card_b2_static_post_backward, MHC_SKU_SM80_STATIC_POST_BACKWARD,
                              "sm80_f32acc_static_post_backward", kStaticPostBackwardMode)};
}

}  // namespace mhc::cuda
