// b2_static_post: static H, out = Sinkhorn(exp(h_res)) x + 2 sigmoid(h_post) F.
#include "op_card.hpp"

namespace mhc {
namespace {
using D = Dim;
constexpr TensorCard kTensors[] = {
    {MHC_TENSOR_FIELD(residual), Role::kInput, Storage::kAct, 3, {D::kTokens, D::kStreams, D::kHidden}, true},
    {MHC_TENSOR_FIELD(layer_output), Role::kInput, Storage::kAct, 2, {D::kTokens, D::kHidden}, true},
    {MHC_TENSOR_FIELD(h_post), Role::kInput, Storage::kFp32, 1, {D::kStreams}, true},
    {MHC_TENSOR_FIELD(h_res), Role::kInput, Storage::kFp32, 2, {D::kStreams, D::kStreams}, true},
    {MHC_TENSOR_FIELD(out_residual), Role::kOutput, Storage::kAct, 3, {D::kTokens, D::kStreams, D::kHidden}, true},
};
}  // namespace

const OpCard card_b2_static_post = {
    MHC_OP_STATIC_POST, "MHC_OP_STATIC_POST", "b2_static_post",
    "static H: out = Sinkhorn(exp(h_res)) x + 2 sigmoid(h_post) F",
    Family::kStatic, 1, 32, true, true, MHC_DTYPE_FP32,
    kUsesSinkhornRepeat | kUsesStaticEps, MixRule::kNone, SplitRule::kNone, /*partials_flag=*/false,
    kTensors, int(std::size(kTensors))};

}  // namespace mhc
