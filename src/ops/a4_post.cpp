// a4_post: new_residual = post * layer_output + comb^T residual, the post step.
#include "tensor_cards.hpp"

namespace mhc {
namespace {
using D = Dim;
using namespace tensor_cards;
constexpr TensorCard kTensors[] = {
    kLayerOutputBf16, kResidualBf16, kPostMix, kCombMix, kOutResidualBf16,
};
}  // namespace

const OpCard card_a4_post = {
    MHC_OP_POST, "MHC_OP_POST", "a4_post",
    "new_residual = post * layer_output + comb^T residual: the post step",
    Family::kDynamic, 1, 8, true, false, MHC_DTYPE_BF16,
    0u, MixRule::kNone, SplitRule::kNone, /*partials_flag=*/false,
    kTensors, int(std::size(kTensors))};

}  // namespace mhc
