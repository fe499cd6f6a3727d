// a6_expand: the embedding copied into the n residual streams.
#include "tensor_cards.hpp"

namespace mhc {
namespace {
using D = Dim;
using namespace tensor_cards;
constexpr TensorCard kTensors[] = {
    kEmbeddingBf16, kOutResidualBf16,
};
}  // namespace

const OpCard card_a6_expand = {
    MHC_OP_EXPAND, "MHC_OP_EXPAND", "a6_expand",
    "the embedding copied into the n residual streams: R[t,i,:] = E[t,:]",
    Family::kDynamic, 1, 8, true, false, MHC_DTYPE_BF16,
    0u, MixRule::kNone, SplitRule::kNone, /*partials_flag=*/false,
    kTensors, int(std::size(kTensors))};

}  // namespace mhc
