// a3_pre_backward: A3' (the pre step's backward), dR, dfn, dscale, dbase from the saved D and Q.
#include "tensor_cards.hpp"

namespace mhc {
namespace {
using D = Dim;
using namespace tensor_cards;
constexpr TensorCard kTensors[] = {
    kResidualBf16, kFn, kScale3, kBase, kSavedGemm, kSavedSqrsum, kGradLayerInput,
    {MHC_TENSOR_FIELD(grad_post_mix), Role::kInput, Storage::kFp32, 2, {D::kTokens, D::kStreams}, true},
    {MHC_TENSOR_FIELD(grad_comb_mix), Role::kInput, Storage::kFp32, 3, {D::kTokens, D::kStreams, D::kStreams}, true},
    kOutGradResidual, kOutGradFn,
    {MHC_TENSOR_FIELD(out_grad_scale), Role::kOutput, Storage::kFp32, 1, {D::kThree}, true},
    kOutGradBase,
};
}  // namespace

const OpCard card_a3_pre_backward = {
    MHC_OP_PRE_BACKWARD, "MHC_OP_PRE_BACKWARD", "a3_pre_backward",
    "A3': dL/d residual, fn, scale, base from dL/d layer_input, post_mix, comb_mix (the forward's D, Q saved)",
    Family::kDynamic, 1, 8, true, false, MHC_DTYPE_BF16,
    kUsesSinkhornRepeat | kUsesRmsEps | kUsesPreEps | kUsesSinkhornEps | kUsesPostMult | kUsesWeightPrecision,
    MixRule::kPreMixes, SplitRule::kNone, /*partials_flag=*/false,
    kTensors, int(std::size(kTensors))};

}  // namespace mhc
