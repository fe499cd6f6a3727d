// a5_head on thread-block clusters (see sm90_f32_head_cluster.cuh).
#include "../cluster.cuh"
#include "../cluster_occupancy.hpp"
#include "../cp_async.cuh"
#include "../launch.cuh"
#include "sm80_f32_pre_fuse_block.cuh"
#include "sm90_f32_head_cluster.cuh"

namespace mhc::cuda {
namespace {

constexpr int kRanks = kHeadClusterRanks, kTB = kHeadClusterTokens, kMaxN = kHeadClusterMaxN;
constexpr int kCols = 4;                          // columns per thread (8 bytes of a stream)
constexpr int kMaxThreads = 256;                  // C / 32 threads: C <= 8192 (fn in registers)
constexpr int kMaxValues = kTB * (kMaxN + 1);     // a block's mixes and square-sums

// The kernel's static shared memory (the ring is dynamic): its size is what the host plans with.
struct ClusterSmem {
  float red[2][kMaxThreads / 32][kMaxValues];  // the warps' partials (two blocks in flight)
  float xchg[2][kMaxValues];                // the rank's partials, read by the other ranks
  float full[kMaxValues];                   // the cluster's sums
  float pre[kTB][kMaxN];                    // the block's pre gates
};

// Block b of the cluster's blocks: its tokens [b kTB, b kTB + kTB) of the run. Per block: the
// rank's partials (ring -> registers -> the warps' red), the rank's sum of them into xchg, the
// cluster barrier, the ranks' sums in rank order (full), the gates, the apply. kPipelined: the
// barrier is split, and between its arrive (block b's partials shared) and its wait the CTA
// computes the next block's partials, so the barrier's latency hides behind that work; the same
// operations on the same values in the same order: the same bits.
template <int kN, int kStages, bool kPipelined>
__global__ void __launch_bounds__(kMaxThreads) sm90_f32_head_cluster_kernel(const HeadClusterParams hp) {
  constexpr int kV = kTB * (kN + 1);
  const PreFuseParams& p = hp.f;
  extern __shared__ __align__(16) uint2 ring[];  // [kStages][kTB][kN][threads]
  __shared__ ClusterSmem sm;

  const int tid = threadIdx.x, nthreads = blockDim.x, lane = tid % 32, warp = tid / 32, warps = nthreads / 32;
  const unsigned rank = cluster_reg<ClusterReg::kRank>();
  const int64_t C = p.C, K = p.K, T = p.T;
  const int64_t x0 = rank * (C / kRanks) + int64_t{tid} * kCols;  // this thread's first column
  const int64_t blocks = (T + kTB - 1) / kTB, step = cluster_reg<ClusterReg::kCount>();
  auto slot = [&](int s, int t, int i) { return ring + ((s * kTB + t) * kN + i) * nthreads + tid; };
  // This thread's bytes of block b into ring stage s (nothing past the run), one commit group.
  auto issue = [&](int64_t b, int s) {
    if (b < blocks)
#pragma unroll
      for (int t = 0; t < kTB; ++t) {
        const int64_t tok = b * kTB + t;
        if (tok < T)
#pragma unroll
          for (int i = 0; i < kN; ++i) cp_async_small<8>(slot(s, t, i), p.R + tok * K + i * C + x0);
      }
    cp_async_commit();
  };

  pdl_wait();  // fn, the residual and the output may belong to the previous kernel of the stream
  float w[kN][kN][kCols];  // w[j][i][e] = fn[j, i C + x0 + e]
#pragma unroll
  for (int j = 0; j < kN; ++j)
#pragma unroll
    for (int i = 0; i < kN; ++i) {
      const float4 v = __ldg(reinterpret_cast<const float4*>(hp.fn + j * K + i * C + x0));
      w[j][i][0] = v.x, w[j][i][1] = v.y, w[j][i][2] = v.z, w[j][i][3] = v.w;
      if (hp.round_fn_tf32)
#pragma unroll
        for (int e = 0; e < kCols; ++e) w[j][i][e] = tf32_round(w[j][i][e]);
    }

  // The rank's partials of block b (ring stage s) into red[q]: per thread i, e ascending; then
  // the lanes (the reduce-scatter).
  auto partials = [&](int64_t b, int s, int q) {
    const int64_t t0 = b * kTB;
    float acc[kTB][kN + 1];
#pragma unroll
    for (int t = 0; t < kTB; ++t) {
#pragma unroll
      for (int j = 0; j <= kN; ++j) acc[t][j] = 0.0f;
      if (t0 + t >= T) continue;
#pragma unroll
      for (int i = 0; i < kN; ++i) {
        const uint2 v = *slot(s, t, i);
        const float r[kCols] = {bf16_lo(v.x), bf16_hi(v.x), bf16_lo(v.y), bf16_hi(v.y)};
#pragma unroll
        for (int e = 0; e < kCols; ++e) {
#pragma unroll
          for (int j = 0; j < kN; ++j) acc[t][j] = fmaf(w[j][i][e], r[e], acc[t][j]);
          acc[t][kN] = fmaf(r[e], r[e], acc[t][kN]);
        }
      }
    }
    warp_reduce_scatter<kV>(acc, sm.red[q][warp], lane);
  };
  // The warps ascending (red[r], complete behind a block barrier) into xchg[q], for the others.
  auto share = [&](int r, int q) {
    for (int u = tid; u < kV; u += nthreads) {
      float v = sm.red[r][0][u];
      for (int k = 1; k < warps; ++k) v += sm.red[r][k][u];
      sm.xchg[q][u] = v;
    }
  };
  // After the cluster barrier: the ranks' xchg[q] in rank order, the gates, the saved D and Q,
  // then y = bf16(sum_i pre_i R_i) over this thread's 4 columns (fmaf chain in ascending i).
  auto finish = [&](int64_t b, int s, int q) {
    const int64_t t0 = b * kTB;
    for (int u = tid; u < kV; u += nthreads) {
      float v = load_remote(&sm.xchg[q][u], 0);
      for (unsigned r = 1; r < kRanks; ++r) v += load_remote(&sm.xchg[q][u], r);
      sm.full[u] = v;
    }
    __syncthreads();
    if (tid < kTB && t0 + tid < T) {
      const int t = tid;
      const float* m = &sm.full[t * (kN + 1)];
      const float rms = fuse::rms_factor(p, m[kN]);
#pragma unroll
      for (int i = 0; i < kN; ++i) sm.pre[t][i] = fuse::pre_gate(p, m[i] * rms, i);
      if (rank == 0) {
        if (p.D_out)
#pragma unroll
          for (int i = 0; i < kN; ++i) p.D_out[(t0 + t) * kN + i] = m[i];
        if (p.Q_out) p.Q_out[t0 + t] = m[kN];
      }
    }
    __syncthreads();
#pragma unroll
    for (int t = 0; t < kTB; ++t) {
      if (t0 + t >= T) continue;
      float y[kCols] = {};
#pragma unroll
      for (int i = 0; i < kN; ++i) {
        const uint2 v = *slot(s, t, i);
        const float r[kCols] = {bf16_lo(v.x), bf16_hi(v.x), bf16_lo(v.y), bf16_hi(v.y)};
#pragma unroll
        for (int e = 0; e < kCols; ++e) y[e] = fmaf(sm.pre[t][i], r[e], y[e]);
      }
      *reinterpret_cast<uint2*>(p.layer_input + (t0 + t) * C + x0) = make_uint2(pack_bf16(y[0], y[1]), pack_bf16(y[2], y[3]));
    }
  };

  const int64_t first = cluster_reg<ClusterReg::kId>();
#pragma unroll
  for (int s = 0; s < kStages; ++s) issue(first + s * step, s);
  auto next_stage = [](int s) { return s + 1 == kStages ? 0 : s + 1; };

  if constexpr (!kPipelined) {
    int q = 0, s = 0;
    for (int64_t b = first; b < blocks; b += step, q ^= 1, s = next_stage(s)) {
      cp_async_wait<kStages - 1>();  // this thread's copies of block b (its own bytes only)
      partials(b, s, 0);  // red[0]: read before the cluster barrier
      __syncthreads();
      share(0, q);
      cluster_sync();  // every rank's partials of block b are in its xchg[q]
      finish(b, s, q);
      issue(b + kStages * step, s);  // this thread is done with its bytes of stage s
    }
  } else {
    // Block k of this CTA (b = first + k step) is in ring stage k % kStages and uses red[k % 2]
    // and xchg[k % 2]. Before block k's wait, block k + 1's partials need its copies: committed
    // groups are then kStages + k, of which the first k + 2 must be complete.
    static_assert(kStages >= 2, "a stage for the block being finished and one for the next");
    if (first < blocks) {
      cp_async_wait<kStages - 1>();
      partials(first, 0, 0);
      __syncthreads();
      share(0, 0);
      cluster_arrive();
    }
    int q = 0, s = 0;
    for (int64_t b = first; b < blocks; b += step, q ^= 1, s = next_stage(s)) {
      const bool more = b + step < blocks;  // the same for every rank of the cluster
      if (more) {
        cp_async_wait<kStages - 2>();
        partials(b + step, next_stage(s), q ^ 1);
      }
      cluster_wait();  // every rank's partials of block b are in its xchg[q]
      finish(b, s, q);  // its block barriers also complete red[q ^ 1]
      issue(b + kStages * step, s);
      if (more) {
        share(q ^ 1, q ^ 1);  // xchg[q ^ 1] was last read for block b - step, before the ranks' arrive on b
        cluster_arrive();
      }
    }
  }
  pdl_launch_dependents();
  cluster_sync();  // no CTA leaves while another may still read its xchg
}

size_t stage_bytes(int n, int64_t C) { return sizeof(uint2) * kTB * n * (C / 32); }

// Ring stages that fit the device (3, else 2), or 0.
int stages_for(int n, int64_t C, const DeviceInfo& dev) {
  for (int s = 3; s >= 2; --s)
    if (s * stage_bytes(n, C) + sizeof(ClusterSmem) <= dev.smem_optin) return s;
  return 0;
}

template <int kN, int kStages, bool kPipelined>
void launch_as(const HeadClusterParams& p, const DeviceInfo& dev, void* stream) {
  auto* kernel = sm90_f32_head_cluster_kernel<kN, kStages, kPipelined>;
  const size_t smem = kStages * stage_bytes(kN, p.f.C);
  const char* name = "sm90_f32_head_cluster_kernel";
  const dim3 block(static_cast<unsigned>(p.f.C / 32));
  // Clusters that can be resident at once: a persistent grid.
  const int clusters = resident_clusters(reinterpret_cast<const void*>(kernel), kRanks, block.x, smem, dev, name);
  if (clusters < 1) fail(MHC_STATUS_EXECUTION_FAILED_LAUNCH, "{}: no cluster of {} CTAs fits on the device", name, kRanks);
  const int64_t blocks = (p.f.T + kTB - 1) / kTB;
  const dim3 grid(static_cast<unsigned>(kRanks * (blocks < clusters ? blocks : clusters)));
  launch(name, kernel, LaunchConfig(grid, block, smem, stream, /*pdl=*/true, kRanks), p);
}

template <int kN, bool kPipelined>
void launch_stages(const HeadClusterParams& p, const DeviceInfo& dev, void* stream) {
  if (stages_for(kN, p.f.C, dev) == 3) return launch_as<kN, 3, kPipelined>(p, dev, stream);
  launch_as<kN, 2, kPipelined>(p, dev, stream);
}

template <int kN>
void launch_n(const HeadClusterParams& p, const DeviceInfo& dev, void* stream) {
  if (p.pipelined) return launch_stages<kN, true>(p, dev, stream);
  launch_stages<kN, false>(p, dev, stream);
}

}  // namespace

std::string head_cluster_limits(int n, int64_t C, const DeviceInfo& dev) {
  if (dev.cc < 90) return "thread-block clusters need sm_90";
  if (n > kMaxN) return fmt::format("n = {}: fn of a thread's columns is held in registers for n <= {}", n, kMaxN);
  if (C % 1024 != 0 || C > 32 * kMaxThreads)
    return fmt::format("C = {}: the 8 ranks' slices take C / 32 threads of 4 columns (C a multiple of 1024, at most {})",
                       C, 32 * kMaxThreads);
  if (stages_for(n, C, dev) == 0)
    return fmt::format("C = {}, n = {}: two ring stages of {} bytes do not fit the device's {} bytes of shared memory", C,
                       n, stage_bytes(n, C), dev.smem_optin);
  return {};
}

void launch_head_cluster(const HeadClusterParams& p, const DeviceInfo& dev, void* stream) {
  switch (p.f.n) {
    case 1: return launch_n<1>(p, dev, stream);
    case 2: return launch_n<2>(p, dev, stream);
    case 3: return launch_n<3>(p, dev, stream);
    case 4: return launch_n<4>(p, dev, stream);
    default: fail(MHC_STATUS_INTERNAL, "head cluster kernel: n = {} exceeds {}", p.f.n, kMaxN);
  }
}

}  // namespace mhc::cuda
