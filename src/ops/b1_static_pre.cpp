// b1_static_pre: static H, layer_input = RMSNorm(sum_i sigmoid(h_pre_i) x_i) * w.
#include "tensor_cards.hpp"

namespace mhc {
namespace {
using D = Dim;
using namespace tensor_cards;
constexpr TensorCard kTensors[] = {
    kResidualAct, kNormWeight, kHPre,
    {MHC_TENSOR_FIELD(out_layer_input), Role::kOutput, Storage::kAct, 2, {D::kTokens, D::kHidden}, true},
    {MHC_TENSOR_FIELD(out_rms), Role::kOutput, Storage::kFp32, 1, {D::kTokens}, false},
};
}  // namespace

const OpCard card_b1_static_pre = {
    MHC_OP_STATIC_PRE, "MHC_OP_STATIC_PRE", "b1_static_pre",
    "static H: layer_input = RMSNorm(sum_i sigmoid(h_pre_i) x_i) * w",
    Family::kStatic, 1, 32, true, true, MHC_DTYPE_FP32,
    kUsesStaticEps, MixRule::kNone, SplitRule::kNone, /*partials_flag=*/false,
    kTensors, int(std::size(kTensors))};

}  // namespace mhc
