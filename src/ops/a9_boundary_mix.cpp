// a9_boundary_mix: the mix part of a V4.1 boundary: this site's pre, post and comb from the new
// residual (A1 + A2 without a layer input), to run on a second stream beside the sublayer.
#include "tensor_cards.hpp"

namespace mhc {
namespace {
using namespace tensor_cards;
constexpr TensorCard kTensors[] = {
    kResidualBf16, kFn, kScale3, kBase, kOutPostMix, kOutCombMix, kOutPreMix,
};
}  // namespace

const OpCard card_a9_boundary_mix = {
    MHC_OP_BOUNDARY_MIX, "MHC_OP_BOUNDARY_MIX", "a9_boundary_mix",
    "V4.1 mix part: pre, post and comb of the new residual (A1 + A2, no layer input)",
    Family::kDynamic, 1, 8, true, false, MHC_DTYPE_BF16,
    kUsesSinkhornRepeat | kUsesRmsEps | kUsesPreEps | kUsesSinkhornEps | kUsesPostMult | kUsesWeightPrecision,
    MixRule::kPreMixes, SplitRule::kSplitK, /*partials_flag=*/false,
    kTensors, int(std::size(kTensors))};

}  // namespace mhc
