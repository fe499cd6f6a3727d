// a3_pre CUDA SKUs: the split-K two-pass engine with decode sub-splits.
#include "../../ops/op_card.hpp"
#include "skus.hpp"
#include "splitk_two_pass.hpp"

namespace mhc::cuda {

std::vector<Sku> skus_a3_pre() {
  return {two_pass_sku(card_a3_pre, MHC_SKU_SM90_PRE, "sm90_tf32_pre_splitk_pdl", 90, {false, true, true}),
          two_pass_sku(card_a3_pre, MHC_SKU_SM80_PRE, "sm80_tf32_pre_splitk", 80, {false, true, false})};
}

}  // namespace mhc::cuda
