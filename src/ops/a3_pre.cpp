// a3_pre: A1 then A2 in one call, the pre step of a DeepSeek-V4 layer.
#include "op_card.hpp"

namespace mhc {
namespace {
using D = Dim;
constexpr TensorCard kTensors[] = {
    {MHC_TENSOR_FIELD(residual), Role::kInput, Storage::kBf16, 3, {D::kTokens, D::kStreams, D::kHidden}, true},
    {MHC_TENSOR_FIELD(fn), Role::kInput, Storage::kFp32, 2, {D::kMixes, D::kK}, true},
    {MHC_TENSOR_FIELD(scale), Role::kInput, Storage::kFp32, 1, {D::kThree}, true},
    {MHC_TENSOR_FIELD(base), Role::kInput, Storage::kFp32, 1, {D::kMixes}, true},
    {MHC_TENSOR_FIELD(out_post_mix), Role::kOutput, Storage::kFp32, 2, {D::kTokens, D::kStreams}, true},
    {MHC_TENSOR_FIELD(out_comb_mix), Role::kOutput, Storage::kFp32, 3, {D::kTokens, D::kStreams, D::kStreams}, true},
    {MHC_TENSOR_FIELD(out_layer_input), Role::kOutput, Storage::kBf16, 2, {D::kTokens, D::kHidden}, true},
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
