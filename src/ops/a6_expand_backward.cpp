// a6_expand_backward: A6' (the expand's backward), dE = the sum of the n streams' gradients.
#include "tensor_cards.hpp"

namespace mhc {
namespace {
using D = Dim;
using namespace tensor_cards;
constexpr TensorCard kTensors[] = {
    kGradResidual,
    {MHC_TENSOR_FIELD(out_grad_embedding), Role::kOutput, Storage::kBf16, 2, {D::kTokens, D::kHidden}, true},
};
}  // namespace

const OpCard card_a6_expand_backward = {
    MHC_OP_EXPAND_BACKWARD, "MHC_OP_EXPAND_BACKWARD", "a6_expand_backward",
    "A6': dL/d embedding = sum_i dL/d residual[:, i, :]",
    Family::kDynamic, 1, 8, true, false, MHC_DTYPE_BF16,
    0u, MixRule::kNone, SplitRule::kNone, /*partials_flag=*/false,
    kTensors, int(std::size(kTensors))};

}  // namespace mhc
