// a3_pre CUDA SKUs: the split-K two-pass engine with the bf16 GEMM (long runs, S from T), the
// same with the tf32 GEMM, the one-pass engine (sm_90), all with decode sub-splits.
#include "../../ops/op_card.hpp"
#include "dynamic_glue.hpp"
#include "onepass.hpp"
#include "skus.hpp"
#include "splitk_two_pass.hpp"

namespace mhc::cuda {

std::vector<Sku> skus_a3_pre() {
  const Sku two_pass = two_pass_sku(card_a3_pre, MHC_SKU_SM90_PRE, "sm90_tf32_pre_splitk_pdl", 90, {false, true, true});
  // The bf16 GEMM first: plans with S from T of at least 1024 tokens; the tf32 engine serves the
  // others (batch-invariant plans, decode) and stays selectable for comparison. The one-pass SKUs
  // follow the two-pass ones (which support every problem they do): select reaches them only
  // when they are forced.
  return {bf16_only(two_pass_sku(card_a3_pre, MHC_SKU_SM90_PRE_BF16, "sm90_bf16_pre_splitk_pdl", 90,
                                {false, true, true, true})),
          two_pass,
          onepass_sku(card_a3_pre, MHC_SKU_SM90_PRE_ONEPASS, "sm90_tf32_pre_onepass", {OnepassKind::kPre, true, 0}, two_pass),
          onepass_sku(card_a3_pre, MHC_SKU_SM90_PRE_ONEPASS_TB16, "sm90_tf32_pre_onepass_tb16",
                      {OnepassKind::kPre, true, 16}, two_pass),
          two_pass_sku(card_a3_pre, MHC_SKU_SM80_PRE, "sm80_tf32_pre_splitk", 80, {false, true, false})};
}

}  // namespace mhc::cuda
