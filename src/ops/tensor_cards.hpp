// Tensors that several ops' cards list in the same form (each card still lists all of its own).
#pragma once

#include "op_card.hpp"

namespace mhc::tensor_cards {

using D = Dim;
// R [T, n, C] bf16
constexpr TensorCard kResidualBf16 = {MHC_TENSOR_FIELD(residual), Role::kInput, Storage::kBf16, 3, {D::kTokens, D::kStreams, D::kHidden}, true};
// x [B, n, C] in act_dtype
constexpr TensorCard kResidualAct = {MHC_TENSOR_FIELD(residual), Role::kInput, Storage::kAct, 3, {D::kTokens, D::kStreams, D::kHidden}, true};
// layer_input [T, C] bf16
constexpr TensorCard kOutLayerInputBf16 = {MHC_TENSOR_FIELD(out_layer_input), Role::kOutput, Storage::kBf16, 2, {D::kTokens, D::kHidden}, true};
// fn [N, n*C] fp32
constexpr TensorCard kFn = {MHC_TENSOR_FIELD(fn), Role::kInput, Storage::kFp32, 2, {D::kMixes, D::kK}, true};
// base [N] fp32
constexpr TensorCard kBase = {MHC_TENSOR_FIELD(base), Role::kInput, Storage::kFp32, 1, {D::kMixes}, true};
// scale [3] fp32 (pre, post, comb)
constexpr TensorCard kScale3 = {MHC_TENSOR_FIELD(scale), Role::kInput, Storage::kFp32, 1, {D::kThree}, true};
// scale_head [1] fp32 (A5, A5')
constexpr TensorCard kScaleHead = {MHC_TENSOR_FIELD(scale), Role::kInput, Storage::kFp32, 1, {D::kOne}, true};
// new residual [T, n, C] bf16
constexpr TensorCard kOutResidualBf16 = {MHC_TENSOR_FIELD(out_residual), Role::kOutput, Storage::kBf16, 3, {D::kTokens, D::kStreams, D::kHidden}, true};
// new residual [B, n, C] in act_dtype
constexpr TensorCard kOutResidualAct = {MHC_TENSOR_FIELD(out_residual), Role::kOutput, Storage::kAct, 3, {D::kTokens, D::kStreams, D::kHidden}, true};
// post [T, n] fp32
constexpr TensorCard kOutPostMix = {MHC_TENSOR_FIELD(out_post_mix), Role::kOutput, Storage::kFp32, 2, {D::kTokens, D::kStreams}, true};
// comb [T, n, n] fp32
constexpr TensorCard kOutCombMix = {MHC_TENSOR_FIELD(out_comb_mix), Role::kOutput, Storage::kFp32, 3, {D::kTokens, D::kStreams, D::kStreams}, true};
// RMSNorm weight [C] bf16
constexpr TensorCard kNormWeight = {MHC_TENSOR_FIELD(norm_weight), Role::kInput, Storage::kBf16, 1, {D::kHidden}, true};
// F: a sublayer's output [B, C] in act_dtype (B2's F)
constexpr TensorCard kLayerOutputAct = {MHC_TENSOR_FIELD(layer_output), Role::kInput, Storage::kAct, 2, {D::kTokens, D::kHidden}, true};
// Y: a sublayer's output [T, C] bf16 (A4's X)
constexpr TensorCard kLayerOutputBf16 = {MHC_TENSOR_FIELD(layer_output), Role::kInput, Storage::kBf16, 2, {D::kTokens, D::kHidden}, true};
// E [T, C] bf16
constexpr TensorCard kEmbeddingBf16 = {MHC_TENSOR_FIELD(embedding), Role::kInput, Storage::kBf16, 2, {D::kTokens, D::kHidden}, true};
// post [T, n] fp32, an input (A4, the boundary)
constexpr TensorCard kPostMix = {MHC_TENSOR_FIELD(post_mix), Role::kInput, Storage::kFp32, 2, {D::kTokens, D::kStreams}, true};
// comb [T, n, n] fp32, an input
constexpr TensorCard kCombMix = {MHC_TENSOR_FIELD(comb_mix), Role::kInput, Storage::kFp32, 3, {D::kTokens, D::kStreams, D::kStreams}, true};
// the carried pre [T, n] fp32 (V4.1 shifted collapse)
constexpr TensorCard kPreMix = {MHC_TENSOR_FIELD(pre_mix), Role::kInput, Storage::kFp32, 2, {D::kTokens, D::kStreams}, true};
// pre [T, n] fp32, an output (carried to the next boundary)
constexpr TensorCard kOutPreMix = {MHC_TENSOR_FIELD(out_pre_mix), Role::kOutput, Storage::kFp32, 2, {D::kTokens, D::kStreams}, true};
// RMSNorm weight [C] bf16, read only with MHC_DESC_FLAG_NORM
constexpr TensorCard kNormWeightIfNorm = {MHC_TENSOR_FIELD(norm_weight), Role::kInput, Storage::kBf16, 1, {D::kHidden}, true, MHC_DESC_FLAG_NORM};
// h_res [n, n] fp32
constexpr TensorCard kHRes = {MHC_TENSOR_FIELD(h_res), Role::kInput, Storage::kFp32, 2, {D::kStreams, D::kStreams}, true};
// h_pre [n] fp32
constexpr TensorCard kHPre = {MHC_TENSOR_FIELD(h_pre), Role::kInput, Storage::kFp32, 1, {D::kStreams}, true};
// h_post [n] fp32
constexpr TensorCard kHPost = {MHC_TENSOR_FIELD(h_post), Role::kInput, Storage::kFp32, 1, {D::kStreams}, true};

// The backward ops' saved activations: the forward's reduced D [T, N] and Q [T] fp32 (A3', A5')
constexpr TensorCard kSavedGemm = {MHC_TENSOR_FIELD(gemm_out), Role::kInput, Storage::kFp32, 2, {D::kTokens, D::kMixes}, true};
constexpr TensorCard kSavedSqrsum = {MHC_TENSOR_FIELD(sqrsum), Role::kInput, Storage::kFp32, 1, {D::kTokens}, true};
// The forward's optional reduced D [T, N] and Q [T] outputs (A3, A5): what A3' and A5' read
constexpr TensorCard kOutGemmReduced = {MHC_TENSOR_FIELD(out_gemm), Role::kOutput, Storage::kFp32, 2, {D::kTokens, D::kMixes}, false};
constexpr TensorCard kOutSqrsumReduced = {MHC_TENSOR_FIELD(out_sqrsum), Role::kOutput, Storage::kFp32, 1, {D::kTokens}, false};
// dL/d the forward's outputs (inputs of the backward ops)
constexpr TensorCard kGradResidual = {MHC_TENSOR_FIELD(grad_residual), Role::kInput, Storage::kBf16, 3, {D::kTokens, D::kStreams, D::kHidden}, true};
constexpr TensorCard kGradLayerInput = {MHC_TENSOR_FIELD(grad_layer_input), Role::kInput, Storage::kBf16, 2, {D::kTokens, D::kHidden}, true};
// dL/d the forward's inputs (outputs of the backward ops; each has an MHC_GRAD_ACCUMULATE_* bit)
constexpr TensorCard kOutGradResidual = {MHC_TENSOR_FIELD(out_grad_residual), Role::kOutput, Storage::kBf16, 3, {D::kTokens, D::kStreams, D::kHidden}, true};
constexpr TensorCard kOutGradFn = {MHC_TENSOR_FIELD(out_grad_fn), Role::kOutput, Storage::kFp32, 2, {D::kMixes, D::kK}, true};
constexpr TensorCard kOutGradBase = {MHC_TENSOR_FIELD(out_grad_base), Role::kOutput, Storage::kFp32, 1, {D::kMixes}, true};

// The family B backward ops (B1'-B3'): the activation gradients in act_dtype, the parameters'
// gradients fp32 (sums over the run's B)
constexpr TensorCard kGradResidualAct = {MHC_TENSOR_FIELD(grad_residual), Role::kInput, Storage::kAct, 3, {D::kTokens, D::kStreams, D::kHidden}, true};
constexpr TensorCard kOutGradResidualAct = {MHC_TENSOR_FIELD(out_grad_residual), Role::kOutput, Storage::kAct, 3, {D::kTokens, D::kStreams, D::kHidden}, true};
constexpr TensorCard kOutGradHPre = {MHC_TENSOR_FIELD(out_grad_h_pre), Role::kOutput, Storage::kFp32, 1, {D::kStreams}, true};
constexpr TensorCard kOutGradHPost = {MHC_TENSOR_FIELD(out_grad_h_post), Role::kOutput, Storage::kFp32, 1, {D::kStreams}, true};
constexpr TensorCard kOutGradHRes = {MHC_TENSOR_FIELD(out_grad_h_res), Role::kOutput, Storage::kFp32, 2, {D::kStreams, D::kStreams}, true};
constexpr TensorCard kOutGradNormWeight = {MHC_TENSOR_FIELD(out_grad_norm_weight), Role::kOutput, Storage::kFp32, 1, {D::kHidden}, true};

}  // namespace mhc::tensor_cards
