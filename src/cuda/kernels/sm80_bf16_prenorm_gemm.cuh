// A1 on bf16 tensor cores (mma.sync m16n8k16, sm_80+): the same partials D and Q as the tf32
// kernels (sm80_tf32_prenorm_gemm.cuh), computed with no conversion of the residual. Tokens are
// the MMA's M (16 per warp), mixes its N (8-column tiles), and fn is split into bf16 terms once
// per CTA: w(fn) = hi + lo exactly for tf32 weights (tf32 keeps 11 significant bits, two bf16
// terms hold 16), fn = hi + mid + lo exactly for fp32 and tf32x3 weights (24 bits). bf16 times
// bf16 is exact in fp32, so every product is the tf32 kernels' exact product; only the fp32
// accumulation order differs (other bits, the same tolerance). The square-sum is two more MMAs
// per 16 tokens: A times A^T, whose diagonal is each token's sum of squares.
#pragma once

#include "../../runtime/device.hpp"
#include "sm80_tf32_prenorm_gemm.cuh"

namespace mhc::cuda {

// Enqueues the bf16 kernel (vector path only: K % 8 == 0, A and fn 16-byte aligned). False,
// launching nothing, when the device cannot give it its shared memory.
bool launch_prenorm_gemm_bf16(const PrenormGemmParams& p, bool fp32_weights, const DeviceInfo& dev, void* stream,
                              bool pdl);

}  // namespace mhc::cuda
