// a2_pre_fuse: from (D, Q): RMS, pre/post gates, Sinkhorn comb mix, layer_input = sum pre_i R_i.
#include "tensor_cards.hpp"

namespace mhc {
namespace {
using D = Dim;
using namespace tensor_cards;
constexpr TensorCard kTensors[] = {
    {MHC_TENSOR_FIELD(gemm_out), Role::kInput, Storage::kFp32, 3, {D::kParts, D::kTokens, D::kMixes}, true},
    {MHC_TENSOR_FIELD(sqrsum), Role::kInput, Storage::kFp32, 2, {D::kParts, D::kTokens}, true},
    kScale3, kBase, kResidualBf16, kOutPostMix, kOutCombMix, kOutLayerInputBf16,
};
}  // namespace

const OpCard card_a2_pre_fuse = {
    MHC_OP_PRE_FUSE, "MHC_OP_PRE_FUSE", "a2_pre_fuse",
    "from (D, Q): RMS norm, pre/post gates, Sinkhorn-normalized comb mix, layer_input = sum_i pre_i R_i",
    Family::kDynamic, 1, 8, true, false, MHC_DTYPE_BF16,
    kUsesSinkhornRepeat | kUsesRmsEps | kUsesPreEps | kUsesSinkhornEps | kUsesPostMult,
    MixRule::kPreMixes, SplitRule::kPartialCount, /*partials_flag=*/true,
    kTensors, int(std::size(kTensors))};

}  // namespace mhc
