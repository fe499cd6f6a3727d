// A2 (and the second half of A3, A5): per token, sum the split partials in ascending s, RMS,
// pre/post gates, Sinkhorn (n x n in registers, one thread), and layer_input = bf16(sum pre_i R_i).
#pragma once

#include <cstdint>

namespace mhc::cuda {

struct PreFuseParams {
  const float* D;          // partial s of token t at D[s * d_split_stride + t * N + j]
  const float* Q;          // Q[s * q_split_stride + t]
  int64_t d_split_stride, q_split_stride;
  int S;                   // partials to sum (1 = reduced)
  const float* scale;      // [3] ([1] for head)
  const float* base;       // [N]
  const uint16_t* R;       // [T, n, C] bf16 (this launch's tokens)
  float* post_mix;         // [T, n]      (NULL for head)
  float* comb_mix;         // [T, n, n]   (NULL for head)
  uint16_t* layer_input;   // [T, C]; NULL: the coefficients alone (the boundary's mix part)
  float* pre_out;          // optional pre gates [T, n] (the boundary ops carry them)
  float* D_out;            // optional reduced D [T, N]
  float* Q_out;            // optional reduced Q [T]
  int64_t T, C, K;
  int n, N, repeat;
  float rms_eps, pre_eps, sinkhorn_eps, post_mult;
  bool head;               // A5: pre gate only, scale[0] is scale_head
};

// Runs shorter than this launch too few token blocks to fill an H100 (measured: at T = 64 the
// per-token kernel takes 9 us, the token-block one 24 us; at T = 4096, 150 us against 111 us).
constexpr int64_t kTokenBlockMinTokens = 1024;

// `token_blocks`: the token-block kernel (a CTA per 8 tokens over all of C, partials summed once
// per token); else the per-token kernel (a CTA per token and 1024 columns). Same bits.
void launch_pre_fuse(const PreFuseParams& p, bool vector_path, void* stream, bool pdl, bool token_blocks);

}  // namespace mhc::cuda
