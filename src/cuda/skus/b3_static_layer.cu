// b3_static_layer CUDA SKUs: the row-fused static-H kernel in layer mode, two-stage row ring and
// the one-stage variant (kept selectable for comparison).
#include "../../ops/op_card.hpp"
#include "skus.hpp"
#include "static_rowfused.hpp"

namespace mhc::cuda {

std::vector<Sku> skus_b3_static_layer() {
  return {static_sku(card_b3_static_layer, MHC_SKU_SM80_STATIC_LAYER, "sm80_static_layer_rowfused_f32acc",
                     kStaticLayerMode, false),
          static_sku(card_b3_static_layer, MHC_SKU_SM80_STATIC_LAYER_1STAGE, "sm80_static_layer_rowfused_f32acc_1stage",
                     kStaticLayerMode, true)};
}

}  // namespace mhc::cuda
