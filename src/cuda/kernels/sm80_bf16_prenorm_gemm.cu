#include "../launch.cuh"
#include "sm80_bf16_prenorm_gemm.cuh"
#include "sm80_bf16_prenorm_staging.cuh"

namespace mhc::cuda {
namespace {

constexpr int kWarps = 8, kThreads = kWarps * 32;
constexpr int kChunk = staging::kChunk;  // k per stage: each lane holds 8 contiguous k of a row
constexpr int kTokens = kWarps * 16;   // tokens per CTA: one 16-token MMA tile per warp
constexpr int kFnStride = kChunk + 4;  // fp32 words per fn row in a stage: conflict-free LDS.128
constexpr int kRowWords = kChunk / 2;  // bf16-pair words per row and chunk (residual, fn terms)

// Two fn values as kTerms bf16 pair words, largest first, whose sums are exactly w(x), w(y)
// (2 terms: tf32 weights) or x, y (3 terms). Each remainder is exact in fp32, and each term takes
// the top 8 significant bits of what is left, so the last term leaves nothing.
template <int kTerms>
__device__ __forceinline__ void split_bf16(float x, float y, uint32_t (&t)[kTerms]) {
  if (kTerms == 2) x = __uint_as_float(tf32_rne(x)), y = __uint_as_float(tf32_rne(y));
#pragma unroll
  for (int i = 0; i < kTerms; ++i) {
    t[i] = pack_bf16_rn(x, y);
    x -= bf16_lo(t[i]);
    y -= bf16_hi(t[i]);
  }
}

// Shared memory: a ring of kStages stages (a chunk of the CTA's residual rows and of fn in
// fp32), and two buffers of fn's bf16 terms ([term][row][16 words]; 16-word rows keep the
// fragment loads conflict-free): the chunk being multiplied and the next one, converted
// during the MMAs.
template <int NT, int kTerms>
struct Bf16Sizes {
  static constexpr int kRows = NT * 8;                           // fn rows, zero past N
  static constexpr int kAWords = kTokens * kRowWords;            // [token][16 words]
  static constexpr int kFnWords = kRows * kFnStride;             // [row][kFnStride] fp32
  static constexpr int kTermWords = kTerms * kRows * kRowWords;  // [term][row][16 words]
  static constexpr int kCtasPerSm = NT <= 3 ? 2 : 1;             // n = 5..8 keep their registers
};
template <int NT, int kTerms, class Z = Bf16Sizes<NT, kTerms>>
struct Bf16Layout : Z, staging::Ring<Z::kAWords, Z::kFnWords, 2 * Z::kTermWords, Z::kCtasPerSm> {
  __device__ __forceinline__ uint32_t* terms(int b) const { return this->extra() + b * Z::kTermWords; }
};

// The MMAs of one chunk for a warp's 16 tokens. The lane (g = lane / 4, q = lane % 4) holds k =
// 8q .. 8q+7 of token rows g and g + 8 (words w0, w1) and of fn rows; MMA step j takes k-slots
// {2q, 2q+1} <-> words 2j and {2q+8, 2q+9} <-> word 2j + 1 for both operands, so the permuted
// dot product is the plain one. Mix tiles in order, fn terms smallest first.
template <int NT, int kTerms>
__device__ __forceinline__ void mma_chunk(float (&acc)[NT][4], float (&sq)[2][4], const uint32_t* a_rows,
                                          const uint32_t* terms, int g, int q) {
  const uint4 v0 = *reinterpret_cast<const uint4*>(a_rows + g * kRowWords + 4 * q);
  const uint4 v1 = *reinterpret_cast<const uint4*>(a_rows + (g + 8) * kRowWords + 4 * q);
  const uint32_t w0[4] = {v0.x, v0.y, v0.z, v0.w}, w1[4] = {v1.x, v1.y, v1.z, v1.w};
  uint32_t af[2][4];
#pragma unroll
  for (int j = 0; j < 2; ++j) {
    af[j][0] = w0[2 * j], af[j][1] = w1[2 * j], af[j][2] = w0[2 * j + 1], af[j][3] = w1[2 * j + 1];
    // A A^T: columns tokens 0..7 (w0), then 8..15 (w1).
    mma_bf16_16x8x16(sq[0], af[j], w0[2 * j], w0[2 * j + 1]);
    mma_bf16_16x8x16(sq[1], af[j], w1[2 * j], w1[2 * j + 1]);
  }
  constexpr int kTermStride = NT * 8 * kRowWords;
#pragma unroll
  for (int nt = 0; nt < NT; ++nt) {
    uint4 b[kTerms];
#pragma unroll
    for (int i = 0; i < kTerms; ++i)
      b[i] = *reinterpret_cast<const uint4*>(terms + i * kTermStride + (nt * 8 + g) * kRowWords + 4 * q);
#pragma unroll
    for (int j = 0; j < 2; ++j)
#pragma unroll
      for (int i = kTerms - 1; i >= 0; --i)
        mma_bf16_16x8x16(acc[nt], af[j], j == 0 ? b[i].x : b[i].z, j == 0 ? b[i].y : b[i].w);
  }
}

// grid (ceil(T / kTokens), S * U). Chunks of the slot's K range in ascending order through the
// ring (kStages - 1 issued ahead); the fn terms of the chunk after the current one are made
// while the current one is multiplied.
template <int NT, int kTerms>
__global__ void __launch_bounds__(kThreads, Bf16Layout<NT, kTerms>::kCtasPerSm)
sm80_bf16_prenorm_gemm_staged_kernel(const PrenormGemmParams p) {
  using Layout = Bf16Layout<NT, kTerms>;
  constexpr int kStages = Layout::kStages, kRows = Layout::kRows;
  pdl_launch_dependents();
  if (!p.preload) pdl_wait();
  extern __shared__ __align__(16) uint32_t bf16_smem[];
  const Layout L{{}, {bf16_smem}};
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, q = lane % 4;
  const staging::Slot s = staging::cta_slot<kTokens>(p, kRows);
  const int64_t nc = s.nc;

  // Rows no copy fills stay zero: tokens past T and fn rows past N (their terms are then zero).
  for (int st = 0; st < kStages; ++st) {
    staging::zero_words<kThreads>(L.a(st), s.tokens * kRowWords, Layout::kAWords);
    staging::zero_words<kThreads>(L.fn(st), s.rows * kFnStride, Layout::kFnWords);
  }

  // Chunk c into stage st. One commit per call, also when c >= nc, so that the group count stays
  // the call count.
  auto issue = [&](int64_t c, int st) {
    if (c < nc) staging::copy_chunk<kThreads>(p, s, c, L.a(st), L.fn(st), kFnStride);
    cp_async_commit();
  };
  // The fn terms of stage st into term buffer b: four k of one row per item, two words per term.
  auto convert = [&](int st, int b) {
    uint32_t* out = L.terms(b);
    for (int i = threadIdx.x; i < kRows * 8; i += kThreads) {
      const int row = i / 8, k = (i % 8) * 4;
      const float4 v = *reinterpret_cast<const float4*>(L.fn(st) + row * kFnStride + k);
      uint32_t t0[kTerms], t1[kTerms];
      split_bf16<kTerms>(v.x, v.y, t0);
      split_bf16<kTerms>(v.z, v.w, t1);
#pragma unroll
      for (int e = 0; e < kTerms; ++e)
        *reinterpret_cast<uint2*>(out + (e * kRows + row) * kRowWords + k / 2) = make_uint2(t0[e], t1[e]);
    }
  };

  for (int st = 0; st < kStages - 1; ++st) issue(st, st);
  cp_async_wait<kStages - 2>();  // chunk 0 landed (this thread's copies)
  __syncthreads();
  convert(0, 0);

  float acc[NT][4] = {}, sq[2][4] = {};
  for (int64_t c = 0; c < nc; ++c) {
    const int st = static_cast<int>(c % kStages);
    cp_async_wait<kStages - 3>();  // chunk c + 1 landed (this thread's copies)
    __syncthreads();               // ... everyone's; chunk c's terms made; stage (c - 1) % kStages free
    issue(c + kStages - 1, static_cast<int>((c + kStages - 1) % kStages));
    if (c + 1 < nc) convert(static_cast<int>((c + 1) % kStages), static_cast<int>((c + 1) & 1));
    mma_chunk<NT, kTerms>(acc, sq, L.a(st) + warp * 16 * kRowWords, L.terms(static_cast<int>(c & 1)), g, q);
  }
  cp_async_wait<0>();  // no copy outlives the CTA (the trailing groups are empty)

  if (p.preload) pdl_wait();  // the previous kernel may still read D / Q
  // C fragments: acc rows are tokens g and g + 8, columns mixes nt * 8 + 2q, + 1; a token's
  // square-sum is the diagonal of sq, held by lane q == g / 2.
  const int64_t t0 = s.tb + warp * 16;
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int64_t t = t0 + g + 8 * h;
    if (t >= p.T) continue;
    float* d = p.D + s.slot * p.d_split_stride + t * p.N;
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int j = nt * 8 + 2 * q + e;
        if (j < p.N) d[j] = acc[nt][2 * h + e];
      }
    if (q == g / 2) p.Q[s.slot * p.q_split_stride + t] = (g & 1) ? sq[h][2 * h + 1] : sq[h][2 * h];
  }
}

template <int NT, int kTerms>
bool launch_as(const PrenormGemmParams& p, const DeviceInfo& dev, void* stream, bool pdl) {
  return staging::launch_ring<kTokens, kThreads>("sm80_bf16_prenorm_gemm_staged_kernel",
                                                 sm80_bf16_prenorm_gemm_staged_kernel<NT, kTerms>,
                                                 Bf16Layout<NT, kTerms>::kBytes, p, dev, stream, pdl);
}

template <int NT>
bool launch_nt(const PrenormGemmParams& p, bool fp32_weights, const DeviceInfo& dev, void* stream, bool pdl) {
  return fp32_weights ? launch_as<NT, 3>(p, dev, stream, pdl) : launch_as<NT, 2>(p, dev, stream, pdl);
}

}  // namespace

bool launch_prenorm_gemm_bf16(const PrenormGemmParams& p, bool fp32_weights, const DeviceInfo& dev, void* stream,
                              bool pdl) {
  // N = n (n + 2) for n = 1..8: 3, 8, 15, 24, 35, 48, 63, 80 -> 1, 1, 2, 3, 5, 6, 8, 10 mix tiles.
  const int nt = (p.N + 7) / 8;
  if (nt <= 1) return launch_nt<1>(p, fp32_weights, dev, stream, pdl);
  if (nt == 2) return launch_nt<2>(p, fp32_weights, dev, stream, pdl);
  if (nt == 3) return launch_nt<3>(p, fp32_weights, dev, stream, pdl);
  if (nt <= 5) return launch_nt<5>(p, fp32_weights, dev, stream, pdl);
  if (nt == 6) return launch_nt<6>(p, fp32_weights, dev, stream, pdl);
  if (nt <= 8) return launch_nt<8>(p, fp32_weights, dev, stream, pdl);
  if (nt <= 10) return launch_nt<10>(p, fp32_weights, dev, stream, pdl);
  fail(MHC_STATUS_INTERNAL, "prenorm GEMM (bf16): N = {} exceeds 80 mixes", p.N);
}

}  // namespace mhc::cuda
