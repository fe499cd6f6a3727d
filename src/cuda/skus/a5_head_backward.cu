// a5_head_backward CUDA SKU: the pre backward's kernels with the pre gate only (N = n, one scale).
#include "../../ops/op_card.hpp"
#include "pre_backward_sku.hpp"
#include "skus.hpp"

namespace mhc::cuda {

std::vector<Sku> skus_a5_head_backward() {
  return {pre_backward_sku(card_a5_head_backward, MHC_SKU_SM80_HEAD_BACKWARD, "sm80_f32_head_backward", true),
          // the SKU after it: reached only when forced (not yet measured)
          pre_backward_sku(card_a5_head_backward, MHC_SKU_SM90_HEAD_BACKWARD_CHUNKED, "sm90_f32_head_backward_chunked",
                           true, /*chunked=*/true)};
}

}  // namespace mhc::cuda
