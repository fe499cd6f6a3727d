// a3_pre_backward CUDA SKU: the token kernel (dpre, the coefficient math in reverse in fp64), the
// column kernel (dR and dfn, streaming the tokens per slice of K) and the reductions over tokens.
#include "../../ops/op_card.hpp"
#include "pre_backward_sku.hpp"
#include "skus.hpp"

namespace mhc::cuda {

std::vector<Sku> skus_a3_pre_backward() {
  return {pre_backward_sku(card_a3_pre_backward, MHC_SKU_SM80_PRE_BACKWARD, "sm80_f32_pre_backward", false),
          // the SKU after it: reached only when forced (not yet measured)
          pre_backward_sku(card_a3_pre_backward, MHC_SKU_SM90_PRE_BACKWARD_CHUNKED, "sm90_f32_pre_backward_chunked",
                           false, /*chunked=*/true)};
}

}  // namespace mhc::cuda
