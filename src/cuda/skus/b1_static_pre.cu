// b1_static_pre CUDA SKU: the row-fused static-H kernel in pre mode.
#include "../../ops/op_card.hpp"
#include "skus.hpp"
#include "static_rowfused.hpp"

namespace mhc::cuda {

std::vector<Sku> skus_b1_static_pre() {
  return {static_sku(card_b1_static_pre, MHC_SKU_SM80_STATIC_PRE, "sm80_static_pre_rowfused_f32acc", kStaticPreMode,
                     false)};
}

}  // namespace mhc::cuda
