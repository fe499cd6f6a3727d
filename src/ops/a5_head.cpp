// a5_head: the final layer's pre mix (n mixes), before the LM head.
#include "tensor_cards.hpp"

namespace mhc {
namespace {
using namespace tensor_cards;
constexpr TensorCard kTensors[] = {
    kResidualBf16, kFn,
    kScaleHead,
    kBase, kOutLayerInputBf16, kOutGemmReduced, kOutSqrsumReduced,  // D [T, n], Q [T]: saved for A5'
};
}  // namespace

const OpCard card_a5_head = {
    MHC_OP_HEAD, "MHC_OP_HEAD", "a5_head",
    "the final layer's pre mix (N = n mixes), before the LM head",
    Family::kDynamic, 1, 8, true, false, MHC_DTYPE_BF16,
    kUsesRmsEps | kUsesPreEps | kUsesWeightPrecision, MixRule::kStreams, SplitRule::kNone, /*partials_flag=*/false,
    kTensors, int(std::size(kTensors))};

}  // namespace mhc
