// b2_static_post CUDA SKU: the row-fused static-H kernel in post mode.
#include "../../ops/op_card.hpp"
#include "skus.hpp"
#include "static_rowfused.hpp"

namespace mhc::cuda {

std::vector<Sku> skus_b2_static_post() {
  return {static_sku(card_b2_static_post, MHC_SKU_SM80_STATIC_POST, "sm80_static_post_rowfused_f32acc",
                     kStaticPostMode, false)};
}

}  // namespace mhc::cuda
