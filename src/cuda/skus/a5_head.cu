// a5_head CUDA SKUs: the one-pass engine (sm_90), then the split-K two-pass engine; splits from K
// alone, pre gate only.
#include "../../ops/op_card.hpp"
#include "onepass.hpp"
#include "skus.hpp"
#include "splitk_two_pass.hpp"

namespace mhc::cuda {

std::vector<Sku> skus_a5_head() {
  const Sku two_pass = two_pass_sku(card_a5_head, MHC_SKU_SM90_HEAD, "sm90_tf32_head_splitk_pdl", 90, {true, false, true});
  return {two_pass,  // the one-pass SKU after it: reached only when forced
          onepass_sku(card_a5_head, MHC_SKU_SM90_HEAD_ONEPASS, "sm90_tf32_head_onepass", {OnepassKind::kHead, false, 0},
                      two_pass),
          two_pass_sku(card_a5_head, MHC_SKU_SM80_HEAD, "sm80_tf32_head_splitk", 80, {true, false, false})};
}

}  // namespace mhc::cuda
