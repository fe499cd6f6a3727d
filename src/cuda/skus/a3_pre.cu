// a3_pre CUDA SKUs: the one-pass engine (sm_90), then the split-K two-pass engine, both with
// decode sub-splits.
#include "../../ops/op_card.hpp"
#include "onepass.hpp"
#include "skus.hpp"
#include "splitk_two_pass.hpp"

namespace mhc::cuda {

std::vector<Sku> skus_a3_pre() {
  const Sku two_pass = two_pass_sku(card_a3_pre, MHC_SKU_SM90_PRE, "sm90_tf32_pre_splitk_pdl", 90, {false, true, true});
  // The one-pass SKUs follow the two-pass ones (which support every problem they do): select
  // reaches them only when they are forced.
  return {two_pass,
          onepass_sku(card_a3_pre, MHC_SKU_SM90_PRE_ONEPASS, "sm90_tf32_pre_onepass", {OnepassKind::kPre, true, 0}, two_pass),
          onepass_sku(card_a3_pre, MHC_SKU_SM90_PRE_ONEPASS_TB16, "sm90_tf32_pre_onepass_tb16",
                      {OnepassKind::kPre, true, 16}, two_pass),
          two_pass_sku(card_a3_pre, MHC_SKU_SM80_PRE, "sm80_tf32_pre_splitk", 80, {false, true, false})};
}

}  // namespace mhc::cuda
