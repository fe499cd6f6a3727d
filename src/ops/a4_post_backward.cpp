// a4_post_backward: A4' (the post step's backward), dX, dR, dpost, dcomb from dL/d new_residual.
#include "tensor_cards.hpp"

namespace mhc {
namespace {
using D = Dim;
using namespace tensor_cards;
constexpr TensorCard kTensors[] = {
    kLayerOutputBf16, kResidualBf16, kPostMix, kCombMix, kGradResidual,
    {MHC_TENSOR_FIELD(out_grad_layer_output), Role::kOutput, Storage::kBf16, 2, {D::kTokens, D::kHidden}, true},
    kOutGradResidual,
    {MHC_TENSOR_FIELD(out_grad_post_mix), Role::kOutput, Storage::kFp32, 2, {D::kTokens, D::kStreams}, true},
    {MHC_TENSOR_FIELD(out_grad_comb_mix), Role::kOutput, Storage::kFp32, 3, {D::kTokens, D::kStreams, D::kStreams}, true},
};
}  // namespace

const OpCard card_a4_post_backward = {
    MHC_OP_POST_BACKWARD, "MHC_OP_POST_BACKWARD", "a4_post_backward",
    "A4': dL/d layer_output, residual, post_mix, comb_mix from dL/d new_residual",
    Family::kDynamic, 1, 8, true, false, MHC_DTYPE_BF16,
    0u, MixRule::kNone, SplitRule::kNone, /*partials_flag=*/false,
    kTensors, int(std::size(kTensors))};

}  // namespace mhc
