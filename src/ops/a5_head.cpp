// a5_head: the final layer's pre mix (n mixes), before the LM head.
#include "op_card.hpp"

namespace mhc {
namespace {
using D = Dim;
constexpr TensorCard kTensors[] = {
    {MHC_TENSOR_FIELD(residual), Role::kInput, Storage::kBf16, 3, {D::kTokens, D::kStreams, D::kHidden}, true},
    {MHC_TENSOR_FIELD(fn), Role::kInput, Storage::kFp32, 2, {D::kMixes, D::kK}, true},
    {MHC_TENSOR_FIELD(scale), Role::kInput, Storage::kFp32, 1, {D::kOne}, true},
    {MHC_TENSOR_FIELD(base), Role::kInput, Storage::kFp32, 1, {D::kMixes}, true},
    {MHC_TENSOR_FIELD(out_layer_input), Role::kOutput, Storage::kBf16, 2, {D::kTokens, D::kHidden}, true},
};
}  // namespace

const OpCard card_a5_head = {
    MHC_OP_HEAD, "MHC_OP_HEAD", "a5_head",
    "the final layer's pre mix (N = n mixes), before the LM head",
    Family::kDynamic, 1, 8, true, false, MHC_DTYPE_BF16,
    kUsesRmsEps | kUsesPreEps | kUsesWeightPrecision, MixRule::kStreams, SplitRule::kNone, /*partials_flag=*/false,
    kTensors, int(std::size(kTensors))};

}  // namespace mhc
