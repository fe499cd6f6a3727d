// a3_pre: A1 then A2 in one call, the pre step of a DeepSeek-V4 layer.
#include "tensor_cards.hpp"

namespace mhc {
namespace {
using namespace tensor_cards;
constexpr TensorCard kTensors[] = {
    kResidualBf16, kFn, kScale3, kBase, kOutPostMix, kOutCombMix, kOutLayerInputBf16, kOutGemmReduced, kOutSqrsumReduced,
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
