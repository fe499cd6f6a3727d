// a5_head: the final layer's pre mix (n mixes), before the LM head.
#include "tensor_cards.hpp"

namespace mhc {
namespace {
using D = Dim;
using namespace tensor_cards;
constexpr TensorCard kTensors[] = {
    kResidualBf16, kFn,
    {MHC_TENSOR_FIELD(scale), Role::kInput, Storage::kFp32, 1, {D::kOne}, true},
    kBase, kOutLayerInputBf16,
};
}  // namespace

const OpCard card_a5_head = {
    MHC_OP_HEAD, "MHC_OP_HEAD", "a5_head",
    "the final layer's pre mix (N = n mixes), before the LM head",
    Family::kDynamic, 1, 8, true, false, MHC_DTYPE_BF16,
    kUsesRmsEps | kUsesPreEps | kUsesWeightPrecision, MixRule::kStreams, SplitRule::kNone, /*partials_flag=*/false,
    kTensors, int(std::size(kTensors))};

}  // namespace mhc
