// a10_boundary_first: the first boundary. H = expand(E), the mix of H, and the first layer input:
// the collapse with this site's pre (V4), or E itself (V4.1 shifted: the carried pre is e_0),
// optionally RMS-normalized.
#include "tensor_cards.hpp"

namespace mhc {
namespace {
using D = Dim;
using namespace tensor_cards;
constexpr TensorCard kTensors[] = {
    kEmbeddingBf16, kFn, kScale3, kBase, kNormWeightIfNorm,
    kOutResidualBf16, kOutLayerInputBf16, kOutPostMix, kOutCombMix,
    {MHC_TENSOR_FIELD(out_pre_mix), Role::kOutput, Storage::kFp32, 2, {D::kTokens, D::kStreams}, false, 0,
     MHC_DESC_FLAG_SHIFTED},
};
}  // namespace

const OpCard card_a10_boundary_first = {
    MHC_OP_BOUNDARY_FIRST, "MHC_OP_BOUNDARY_FIRST", "a10_boundary_first",
    "the first boundary: H = expand(E), its mix, and the first layer input (V4: collapse; V4.1: E), "
    "optional RMSNorm",
    Family::kDynamic, 1, 8, true, false, MHC_DTYPE_BF16,
    kUsesSinkhornRepeat | kUsesRmsEps | kUsesPreEps | kUsesSinkhornEps | kUsesPostMult | kUsesWeightPrecision | kUsesNorm,
    MixRule::kPreMixes, SplitRule::kSplitK, /*partials_flag=*/false,
    kTensors, int(std::size(kTensors)), MHC_DESC_FLAG_SHIFTED | MHC_DESC_FLAG_NORM};

}  // namespace mhc
