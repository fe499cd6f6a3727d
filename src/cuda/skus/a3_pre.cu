// a3_pre CUDA SKUs: the split-K two-pass engine with the bf16 GEMM (long runs, S from T), the same
// with the tf32 GEMM (both with decode sub-splits), the decode cluster kernel and the one-pass
// engine (sm_90, forced only).
#include "../../ops/op_card.hpp"
#include "dynamic_glue.hpp"
#include "onepass.hpp"
#include "pre_cluster_sku.hpp"
#include "skus.hpp"
#include "splitk_two_pass.hpp"

namespace mhc::cuda {

std::vector<Sku> skus_a3_pre() {
  const Sku two_pass = two_pass_sku(card_a3_pre, MHC_SKU_SM90_PRE, "sm90_tf32_pre_splitk_pdl", 90, {false, true, true});
  // The bf16 GEMM first: plans with S from T of at least 1024 tokens; the tf32 engine serves the
  // others (batch-invariant plans, decode) and stays selectable for comparison. The SKUs after it
  // support no problem it does not, so select reaches them only when they are forced: the decode
  // cluster kernel (until measured on a GPU; then for plans of <= 64 tokens), the one-pass engine.
  return {bf16_only(two_pass_sku(card_a3_pre, MHC_SKU_SM90_PRE_BF16, "sm90_bf16_pre_splitk_pdl", 90,
                                {false, true, true, true})),
          two_pass,
          pre_cluster_sku(card_a3_pre, MHC_SKU_SM90_PRE_CLUSTER, "sm90_f32_pre_cluster", two_pass),
          onepass_sku(card_a3_pre, MHC_SKU_SM90_PRE_ONEPASS, "sm90_tf32_pre_onepass", {OnepassKind::kPre, true, 0}, two_pass),
          onepass_sku(card_a3_pre, MHC_SKU_SM90_PRE_ONEPASS_TB16, "sm90_tf32_pre_onepass_tb16",
                      {OnepassKind::kPre, true, 16}, two_pass),
          two_pass_sku(card_a3_pre, MHC_SKU_SM80_PRE, "sm80_tf32_pre_splitk", 80, {false, true, false})};
}

}  // namespace mhc::cuda
