// a1_prenorm_gemm: D = A w(fn)^T and Q = sum A^2 over K = n*C, split-K partials or reduced.
#include "tensor_cards.hpp"

namespace mhc {
namespace {
using D = Dim;
using namespace tensor_cards;
constexpr TensorCard kTensors[] = {
    kResidualBf16, kFn,
    {MHC_TENSOR_FIELD(out_gemm), Role::kOutput, Storage::kFp32, 3, {D::kParts, D::kTokens, D::kMixes}, true},
    {MHC_TENSOR_FIELD(out_sqrsum), Role::kOutput, Storage::kFp32, 2, {D::kParts, D::kTokens}, true},
};
}  // namespace

const OpCard card_a1_prenorm_gemm = {
    MHC_OP_PRENORM_GEMM, "MHC_OP_PRENORM_GEMM", "a1_prenorm_gemm",
    "D = A w(fn)^T and Q = sum A^2 over K = n*C (tf32 or fp32 weights), split-K partials or reduced",
    Family::kDynamic, 1, 8, true, false, MHC_DTYPE_BF16,
    kUsesWeightPrecision, MixRule::kPreMixes, SplitRule::kSplitK, /*partials_flag=*/true,
    kTensors, int(std::size(kTensors))};

}  // namespace mhc
