// b2_static_post: static H, out = Sinkhorn(exp(h_res)) x + 2 sigmoid(h_post) F.
#include "tensor_cards.hpp"

namespace mhc {
namespace {
using namespace tensor_cards;
constexpr TensorCard kTensors[] = {
    kResidualAct, kLayerOutputAct,
    kHPost, kHRes, kOutResidualAct,
};
}  // namespace

const OpCard card_b2_static_post = {
    MHC_OP_STATIC_POST, "MHC_OP_STATIC_POST", "b2_static_post",
    "static H: out = Sinkhorn(exp(h_res)) x + 2 sigmoid(h_post) F",
    Family::kStatic, 1, 32, true, true, MHC_DTYPE_FP32,
    kUsesSinkhornRepeat | kUsesStaticEps, MixRule::kNone, SplitRule::kNone, /*partials_flag=*/false,
    kTensors, int(std::size(kTensors))};

}  // namespace mhc
