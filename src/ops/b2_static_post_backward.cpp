// b2_static_post_backward: B2' (the static post's backward), dx, dF, dh_post, dh_res from dL/d out.
#include "tensor_cards.hpp"

namespace mhc {
namespace {
using D = Dim;
using namespace tensor_cards;
constexpr TensorCard kTensors[] = {
    kResidualAct, kLayerOutputAct,
    kHPost, kHRes, kGradResidualAct, kOutGradResidualAct,
    {MHC_TENSOR_FIELD(out_grad_layer_output), Role::kOutput, Storage::kAct, 2, {D::kTokens, D::kHidden}, true},
    kOutGradHPost, kOutGradHRes,
};
}  // namespace

const OpCard card_b2_static_post_backward = {
    MHC_OP_STATIC_POST_BACKWARD, "MHC_OP_STATIC_POST_BACKWARD", "b2_static_post_backward",
    "B2': dL/d x, layer_output, h_post, h_res from dL/d out (through every guarded Sinkhorn step)",
    Family::kStatic, 1, 32, true, true, MHC_DTYPE_FP32,
    kUsesSinkhornRepeat | kUsesStaticEps, MixRule::kNone, SplitRule::kNone, /*partials_flag=*/false,
    kTensors, int(std::size(kTensors))};

}  // namespace mhc
