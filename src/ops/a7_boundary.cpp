// a7_boundary: the layer boundary in one op. Post of the sublayer that ran (new residual H), the
// mix of H (this site's pre, post, comb) and the collapse of H into the next layer input (with
// this site's pre: DeepSeek-V4; with the carried pre: V4.1 shifted), optionally RMS-normalized.
#include "tensor_cards.hpp"

namespace mhc {
namespace {
using D = Dim;
using namespace tensor_cards;
constexpr TensorCard kTensors[] = {
    kLayerOutputBf16, kResidualBf16, kPostMix, kCombMix,
    {MHC_TENSOR_FIELD(pre_mix), Role::kInput, Storage::kFp32, 2, {D::kTokens, D::kStreams}, true, MHC_DESC_FLAG_SHIFTED},
    kFn, kScale3, kBase, kNormWeightIfNorm,
    kOutResidualBf16, kOutLayerInputBf16, kOutPostMix, kOutCombMix,
    {MHC_TENSOR_FIELD(out_pre_mix), Role::kOutput, Storage::kFp32, 2, {D::kTokens, D::kStreams}, false, 0,
     MHC_DESC_FLAG_SHIFTED},
};
}  // namespace

const OpCard card_a7_boundary = {
    MHC_OP_BOUNDARY, "MHC_OP_BOUNDARY", "a7_boundary",
    "the layer boundary: post, the mix of the new residual, its collapse into the next layer input "
    "(V4; V4.1 shifted with the carried pre), optional RMSNorm",
    Family::kDynamic, 1, 8, true, false, MHC_DTYPE_BF16,
    kUsesSinkhornRepeat | kUsesRmsEps | kUsesPreEps | kUsesSinkhornEps | kUsesPostMult | kUsesWeightPrecision | kUsesNorm,
    MixRule::kPreMixes, SplitRule::kSplitK, /*partials_flag=*/false,
    kTensors, int(std::size(kTensors)), MHC_DESC_FLAG_SHIFTED | MHC_DESC_FLAG_NORM};

}  // namespace mhc
