// b3_static_layer: B2(B1), the whole static hyper-connection layer.
#include "tensor_cards.hpp"

namespace mhc {
namespace {
using namespace tensor_cards;
constexpr TensorCard kTensors[] = {
    kResidualAct, kNormWeight, kHPre, kHPost, kHRes, kOutResidualAct,
};
}  // namespace

const OpCard card_b3_static_layer = {
    MHC_OP_STATIC_LAYER, "MHC_OP_STATIC_LAYER", "b3_static_layer",
    "static H: B2(B1), the whole static hyper-connection layer (Tier-1 HyperConnectionPlan)",
    Family::kStatic, 1, 32, true, true, MHC_DTYPE_FP32,
    kUsesSinkhornRepeat | kUsesStaticEps, MixRule::kNone, SplitRule::kNone, /*partials_flag=*/false,
    kTensors, int(std::size(kTensors))};

}  // namespace mhc
