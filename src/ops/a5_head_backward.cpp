// a5_head_backward: A5' (the head's backward), dR, dfn, dscale, dbase from the saved D and Q.
#include "tensor_cards.hpp"

namespace mhc {
namespace {
using D = Dim;
using namespace tensor_cards;
constexpr TensorCard kTensors[] = {
    kResidualBf16, kFn,
    kScaleHead,
    kBase, kSavedGemm, kSavedSqrsum, kGradLayerInput,
    kOutGradResidual, kOutGradFn,
    {MHC_TENSOR_FIELD(out_grad_scale), Role::kOutput, Storage::kFp32, 1, {D::kOne}, true},
    kOutGradBase,
};
}  // namespace

const OpCard card_a5_head_backward = {
    MHC_OP_HEAD_BACKWARD, "MHC_OP_HEAD_BACKWARD", "a5_head_backward",
    "A5': dL/d residual, fn_head, scale_head, base_head from dL/d y (the forward's D, Q saved)",
    Family::kDynamic, 1, 8, true, false, MHC_DTYPE_BF16,
    kUsesRmsEps | kUsesPreEps | kUsesWeightPrecision, MixRule::kStreams, SplitRule::kNone, /*partials_flag=*/false,
    kTensors, int(std::size(kTensors))};

}  // namespace mhc
