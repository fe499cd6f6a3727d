// a4_post: new_residual = post * layer_output + comb^T residual, the post step.
#include "tensor_cards.hpp"

namespace mhc {
namespace {
using D = Dim;
using namespace tensor_cards;
constexpr TensorCard kTensors[] = {
    {MHC_TENSOR_FIELD(layer_output), Role::kInput, Storage::kBf16, 2, {D::kTokens, D::kHidden}, true},
    kResidualBf16,
    {MHC_TENSOR_FIELD(post_mix), Role::kInput, Storage::kFp32, 2, {D::kTokens, D::kStreams}, true},
    {MHC_TENSOR_FIELD(comb_mix), Role::kInput, Storage::kFp32, 3, {D::kTokens, D::kStreams, D::kStreams}, true},
    kOutResidualBf16,
};
}  // namespace

const OpCard card_a4_post = {
    MHC_OP_POST, "MHC_OP_POST", "a4_post",
    "new_residual = post * layer_output + comb^T residual: the post step",
    Family::kDynamic, 1, 8, true, false, MHC_DTYPE_BF16,
    0u, MixRule::kNone, SplitRule::kNone, /*partials_flag=*/false,
    kTensors, int(std::size(kTensors))};

}  // namespace mhc
