// b1_static_pre_backward: B1' (the static pre's backward), dx, dh_pre, dw from dL/d layer_input.
#include "tensor_cards.hpp"

namespace mhc {
namespace {
using D = Dim;
using namespace tensor_cards;
constexpr TensorCard kTensors[] = {
    kResidualAct, kNormWeight, kHPre,
    {MHC_TENSOR_FIELD(grad_layer_input), Role::kInput, Storage::kAct, 2, {D::kTokens, D::kHidden}, true},
    kOutGradResidualAct, kOutGradHPre, kOutGradNormWeight,
};
}  // namespace

const OpCard card_b1_static_pre_backward = {
    MHC_OP_STATIC_PRE_BACKWARD, "MHC_OP_STATIC_PRE_BACKWARD", "b1_static_pre_backward",
    "B1': dL/d x, h_pre, norm_weight from dL/d layer_input (rms recomputed from x)",
    Family::kStatic, 1, 32, true, true, MHC_DTYPE_FP32,
    kUsesStaticEps, MixRule::kNone, SplitRule::kNone, /*partials_flag=*/false,
    kTensors, int(std::size(kTensors))};

}  // namespace mhc
