// a8_boundary_collapse: the critical part of a V4.1 boundary. Post of the sublayer that ran (new
// residual H), then the collapse of H with the pre carried from the previous boundary, optionally
// RMS-normalized. With the final norm weight and no out_residual it is the V4.1 head.
#include "tensor_cards.hpp"

namespace mhc {
namespace {
using D = Dim;
using namespace tensor_cards;
constexpr TensorCard kTensors[] = {
    kLayerOutputBf16, kResidualBf16, kPostMix, kCombMix, kPreMix, kNormWeightIfNorm,
    {MHC_TENSOR_FIELD(out_residual), Role::kOutput, Storage::kBf16, 3, {D::kTokens, D::kStreams, D::kHidden}, false},
    kOutLayerInputBf16,
};
}  // namespace

const OpCard card_a8_boundary_collapse = {
    MHC_OP_BOUNDARY_COLLAPSE, "MHC_OP_BOUNDARY_COLLAPSE", "a8_boundary_collapse",
    "V4.1 critical part: post, then the collapse with the carried pre, optional RMSNorm (also the "
    "V4.1 head)",
    Family::kDynamic, 1, 8, true, false, MHC_DTYPE_BF16,
    kUsesNorm, MixRule::kNone, SplitRule::kNone, /*partials_flag=*/false,
    kTensors, int(std::size(kTensors)), MHC_DESC_FLAG_NORM};

}  // namespace mhc
