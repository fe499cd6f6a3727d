// b3_static_layer_backward: B3' (the whole static layer's backward), B2' with dF flowing into B1'.
#include "tensor_cards.hpp"

namespace mhc {
namespace {
using namespace tensor_cards;
constexpr TensorCard kTensors[] = {
    kResidualAct, kNormWeight, kHPre, kHPost, kHRes, kGradResidualAct,
    kOutGradResidualAct, kOutGradHPre, kOutGradHPost, kOutGradHRes, kOutGradNormWeight,
};
}  // namespace

const OpCard card_b3_static_layer_backward = {
    MHC_OP_STATIC_LAYER_BACKWARD, "MHC_OP_STATIC_LAYER_BACKWARD", "b3_static_layer_backward",
    "B3': dL/d x, h_pre, h_post, h_res, norm_weight from dL/d out (B2' with dF into B1')",
    Family::kStatic, 1, 32, true, true, MHC_DTYPE_FP32,
    kUsesSinkhornRepeat | kUsesStaticEps, MixRule::kNone, SplitRule::kNone, /*partials_flag=*/false,
    kTensors, int(std::size(kTensors))};

}  // namespace mhc
