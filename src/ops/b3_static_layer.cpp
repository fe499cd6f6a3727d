// b3_static_layer: B2(B1), the whole static hyper-connection layer.
#include "op_card.hpp"

namespace mhc {
namespace {
using D = Dim;
constexpr TensorCard kTensors[] = {
    {MHC_TENSOR_FIELD(residual), Role::kInput, Storage::kAct, 3, {D::kTokens, D::kStreams, D::kHidden}, true},
    {MHC_TENSOR_FIELD(norm_weight), Role::kInput, Storage::kBf16, 1, {D::kHidden}, true},
    {MHC_TENSOR_FIELD(h_pre), Role::kInput, Storage::kFp32, 1, {D::kStreams}, true},
    {MHC_TENSOR_FIELD(h_post), Role::kInput, Storage::kFp32, 1, {D::kStreams}, true},
    {MHC_TENSOR_FIELD(h_res), Role::kInput, Storage::kFp32, 2, {D::kStreams, D::kStreams}, true},
    {MHC_TENSOR_FIELD(out_residual), Role::kOutput, Storage::kAct, 3, {D::kTokens, D::kStreams, D::kHidden}, true},
};
}  // namespace

const OpCard card_b3_static_layer = {
    MHC_OP_STATIC_LAYER, "MHC_OP_STATIC_LAYER", "b3_static_layer",
    "static H: B2(B1), the whole static hyper-connection layer (Tier-1 HyperConnectionPlan)",
    Family::kStatic, 1, 32, true, true, MHC_DTYPE_FP32,
    kUsesSinkhornRepeat | kUsesStaticEps, MixRule::kNone, SplitRule::kNone, /*partials_flag=*/false,
    kTensors, int(std::size(kTensors))};

}  // namespace mhc
