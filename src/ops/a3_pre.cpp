// a3_pre: A1 then A2 in one call, the pre step of a DeepSeek-V4 layer.
#include "tensor_cards.hpp"

namespace mhc {
namespace {
using D = Dim;
using namespace tensor_cards;
constexpr TensorCard kTensors[] = {
    kResidualBf16, kFn, kScale3, kBase, kOutPostMix, kOutCombMix, kOutLayerInputBf16,
    {MHC_TENSOR_FIELD(out_gemm), Role::kOutput, Storage::kFp32, 2, {D::kTokens, D::kMixes}, false},
    {MHC_TENSOR_FIELD(out_sqrsum), Role::kOutput, Storage::kFp32, 1, {D::kTokens}, false},
};
}  // namespace

const OpCard card_a3_pre = {
    MHC_OP_PRE, "MHC_OP_PRE", "a3_pre",
    "A1 then A2 in one call: the pre step of a DeepSeek-V4 layer",
    Family::kDynamic, 1, 8, true, false, MHC_DTYPE_BF16,
    kUsesSinkhornRepeat | kUsesRmsEps | kUsesPreEps | kUsesSinkhornEps | kUsesPostMult | kUsesWeightPrecision,
    MixRule::kPreMixes, SplitRule::kSplitK, /*partials_flag=*/false,
    kTensors, int(std::size(kTensors))};

}  // namespace mhc
