// a3_pre (and the a7 boundary) on thread-block clusters for decode-size runs (see
// sm90_f32_pre_cluster.cuh).
#include "../cluster.cuh"
#include "../cluster_occupancy.hpp"
#include "../cp_async.cuh"
#include "../launch.cuh"
#include "sm80_f32_pre_fuse_block.cuh"
#include "sm90_f32_pre_cluster.cuh"

namespace mhc::cuda {
namespace {

constexpr int kRanks = kPreClusterRanks, kTB = kPreClusterTokens, kMaxN = kPreClusterMaxN;
constexpr int kVec = 8;                           // columns per 16-byte residual vector
constexpr int kMaxWarps = kMaxN * (kMaxN + 2) + 1;  // a warp per mix, one for the square-sum
constexpr int kLaneVecs = 8;                      // fn vectors per lane: n C / (16 * 8) <= 256

// What the launch computes: A3's pre; the V4 boundary (post, then pre on the new residual); the
// V4.1 shifted boundary (post, u with the carried pre, the mix of the new residual).
enum Mode : int { kPre, kBoundary, kShifted };

template <int kN>
constexpr int threads_for() {
  return 32 * (kN * (kN + 2) + 1);
}

struct PreClusterSmem {
  float xchg[kMaxWarps * kTB];  // the rank's partials [mix][token], read by the other ranks
  float full[kMaxWarps * kTB];  // the cluster's sums [mix][token]
  float pre[kTB][kMaxN];        // the block's pre gates
};

// Dynamic shared memory: the rank's slice of fn, [mix][vector][8] floats; the block's residual
// slice, [token][vector] 16-byte vectors (a rank has n C / 128 vectors); for the shifted
// boundary, u's slice, [token][C / 128] 16-byte vectors.
int64_t rank_vectors(int n, int64_t C) { return n * (C / kRanks) / kVec; }
size_t fn_floats(int n, int64_t C) { return size_t(n * (n + 2)) * size_t(rank_vectors(n, C)) * kVec; }
size_t dynamic_bytes(int n, int64_t C, bool boundary) {
  const size_t u = boundary ? size_t(kTB) * size_t(C / kRanks / kVec) * 16 : 0;
  return fn_floats(n, C) * sizeof(float) + size_t(kTB) * size_t(rank_vectors(n, C)) * 16 + u;
}

// The boundary's first step for the rank's 8 columns c of token t: H[k] = bf16(post[k] Y + sum_j
// comb[j][k] H_prev[j]) in fp64 (A4's post kernel: the same bits), into the residual slice and
// H_out; shifted: u = bf16(sum_k pre[k] H[k]) in fp64 over the ROUNDED H (the collapse kernel's).
template <int kN, int kMode>
__device__ __forceinline__ void post8(const PreClusterParams& cp, int64_t tok, int64_t x, uint4* sr_k, int vps,
                                      uint4* su) {
  const int64_t C = cp.f.C;
  // The inputs stay packed (registers: 800 threads per CTA), unpacked as each product needs them.
  const uint4 yq = __ldg(reinterpret_cast<const uint4*>(cp.Y + tok * C + x));
  uint4 hq[kN];
#pragma unroll
  for (int j = 0; j < kN; ++j) hq[j] = __ldg(reinterpret_cast<const uint4*>(cp.H_prev + (tok * kN + j) * C + x));
  const float* post = cp.post_in + tok * kN;
  const float* comb = cp.comb_in + tok * kN * kN;
  auto half = [](const uint4& q, int e) {
    const uint32_t w = e < 2 ? q.x : e < 4 ? q.y : e < 6 ? q.z : q.w;
    return e % 2 ? bf16_hi(w) : bf16_lo(w);
  };
  double u[kVec] = {};
#pragma unroll
  for (int k = 0; k < kN; ++k) {
    float c[kN];
#pragma unroll
    for (int j = 0; j < kN; ++j) c[j] = __ldg(comb + j * kN + k);
    const float q = __ldg(post + k);
    uint16_t hb[kVec];
#pragma unroll
    for (int e = 0; e < kVec; ++e) {
      double a = double{q} * half(yq, e);
#pragma unroll
      for (int j = 0; j < kN; ++j) a = fma(double{c[j]}, double{half(hq[j], e)}, a);
      hb[e] = f64_to_bf16(a);
    }
    const uint4 o = pack_bf16x8(hb);
    sr_k[k * vps] = o;
    *reinterpret_cast<uint4*>(cp.H_out + (tok * kN + k) * C + x) = o;
    if constexpr (kMode == kShifted) {
      const double pk = __ldg(cp.pre_in + tok * kN + k);
#pragma unroll
      for (int e = 0; e < kVec; ++e) u[e] = fma(pk, double{bf16_to_f32(hb[e])}, u[e]);
    }
  }
  if constexpr (kMode == kShifted) {
    uint16_t ub[kVec];
#pragma unroll
    for (int e = 0; e < kVec; ++e) ub[e] = f64_to_bf16(u[e]);
    *su = pack_bf16x8(ub);
  }
}

// Cluster c takes tokens [c kTB, c kTB + kTB). Warp j < N forms mix j of each token over the
// rank's columns (lane l: vectors l, l + 32, ..., each in ascending column order, an fmaf chain
// per token), warp N the square-sum; the lanes' sums in the fixed reduce-scatter tree; the ranks'
// in rank order.
template <int kN, int kMode>
__global__ void __launch_bounds__(threads_for<kN>()) sm90_f32_pre_cluster_kernel(const PreClusterParams cp) {
  constexpr int N = kN * (kN + 2);
  const PreFuseParams& p = cp.f;
  extern __shared__ __align__(16) float dyn[];
  __shared__ PreClusterSmem sm;

  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const unsigned rank = cluster_reg<ClusterReg::kRank>();
  const int64_t C = p.C, K = p.K, x0 = rank * (C / kRanks);
  const int vps = static_cast<int>(C / kRanks / kVec), nv = kN * vps;  // vectors per stream, per rank
  const int64_t t0 = int64_t{cluster_reg<ClusterReg::kId>()} * kTB;
  const int tb = p.T - t0 < kTB ? static_cast<int>(p.T - t0) : kTB;
  float* sfn = dyn;
  uint4* sr = reinterpret_cast<uint4*>(dyn + size_t(N) * nv * kVec);
  uint4* su = sr + kTB * nv;  // the boundary's u slice: [token][vps]
  // Vector v of the rank: stream v / vps, columns x0 + (v % vps) 8 ...; its offset in a row of K.
  auto k_of = [&](int v) { return int64_t{v / vps} * C + x0 + int64_t{v % vps} * kVec; };

  pdl_launch_dependents();
  pdl_wait();  // the residual, fn and the outputs may belong to the previous kernel of the stream
  // Group 0: the block's residual slice, shared by every warp (a block barrier below); the
  // boundary forms it instead (after issuing fn's copies, so they stream meanwhile).
  if (kMode == kPre)
    for (int i = tid; i < tb * nv; i += blockDim.x) cp_async16(sr + i, p.R + (t0 + i / nv) * K + k_of(i % nv), 16);
  cp_async_commit();
  // Groups 1 .. kLaneVecs: warp j's row of fn, lane l's vectors l + 32 m, one group per m. The
  // lane alone reads them back: no barrier.
#pragma unroll
  for (int m = 0; m < kLaneVecs; ++m) {
    const int v = lane + 32 * m;
    if (warp < N && v < nv) {
      const float* src = cp.fn + int64_t{warp} * K + k_of(v);
      float* dst = sfn + (size_t(warp) * nv + v) * kVec;
      cp_async16(dst, src, 16);
      cp_async16(dst + 4, src + 4, 16);
    }
    cp_async_commit();
  }
  if (kMode != kPre)
    for (int i = tid; i < tb * vps; i += blockDim.x) {
      const int t = i / vps, c = i % vps;
      post8<kN, kMode>(cp, t0 + t, x0 + int64_t{c} * kVec, sr + t * nv + c, vps, su + i);
    }
  cp_async_wait<kLaneVecs>();  // this thread's residual copies
  __syncthreads();             // and everyone's

  float acc[kTB][1] = {};
#pragma unroll
  for (int m = 0; m < kLaneVecs; ++m) {
    const int v = lane + 32 * m;
    if (v >= nv) break;
    cp_async_wait_upto(kLaneVecs - 1 - m);  // this lane's vector m of fn
    float f[kVec] = {};
    if (warp < N) {
      const float4 a = *reinterpret_cast<const float4*>(sfn + (size_t(warp) * nv + v) * kVec);
      const float4 b = *reinterpret_cast<const float4*>(sfn + (size_t(warp) * nv + v) * kVec + 4);
      f[0] = a.x, f[1] = a.y, f[2] = a.z, f[3] = a.w, f[4] = b.x, f[5] = b.y, f[6] = b.z, f[7] = b.w;
      if (cp.round_fn_tf32)
#pragma unroll
        for (int e = 0; e < kVec; ++e) f[e] = tf32_round(f[e]);
    }
#pragma unroll
    for (int t = 0; t < kTB; ++t) {
      if (t >= tb) break;
      float r[kVec];
      unpack_bf16x8(sr[t * nv + v], r);
#pragma unroll
      for (int e = 0; e < kVec; ++e) acc[t][0] = fmaf(warp < N ? f[e] : r[e], r[e], acc[t][0]);
    }
  }
  warp_reduce_scatter<kTB>(acc, &sm.xchg[warp * kTB], lane);  // lane t: token t's sum of the warp

  cluster_sync();  // every rank's partials are in its xchg
  // Rank 0 sums every mix (post, comb and the saved D are its to write); the others only the pre
  // mixes and the square-sum that their apply needs.
  const int sums = (rank == 0 ? N + 1 : kN + 1) * kTB;
  for (int i = tid; i < sums; i += blockDim.x) {
    const int u = i < kN * kTB ? i : i + (rank == 0 ? 0 : (N - kN) * kTB);
    float v = load_remote(&sm.xchg[u], 0);
    for (unsigned r = 1; r < kRanks; ++r) v += load_remote(&sm.xchg[u], r);
    sm.full[u] = v;
  }
  cluster_arrive();  // this thread is done with the other ranks' xchg (the wait comes later)
  __syncthreads();

  // Lane t of warp 0: token t's RMS and pre gates (every rank needs them); rank 0 saves the
  // reduced D and Q.
  if (warp == 0 && lane < tb) {
    const int t = lane;
    const float rms = fuse::rms_factor(p, sm.full[N * kTB + t]);
#pragma unroll
    for (int i = 0; i < kN; ++i) sm.pre[t][i] = fuse::pre_gate(p, sm.full[i * kTB + t] * rms, i);
    if (rank == 0) {
      if (p.D_out)
        for (int j = 0; j < N; ++j) p.D_out[(t0 + t) * N + j] = sm.full[j * kTB + t];
      if (p.Q_out) p.Q_out[t0 + t] = sm.full[N * kTB + t];
    }
  }
  __syncthreads();
  if (rank == 0 && warp == 0) {
    // Rank 0's warp 0: post and comb (the Sinkhorn chain) while every other warp applies.
    if (lane < tb) {
      const int t = lane;
      const float rms = fuse::rms_factor(p, sm.full[N * kTB + t]);
      float mix[N];
#pragma unroll
      for (int j = 0; j < N; ++j) mix[j] = sm.full[j * kTB + t] * rms;
      fuse::post_comb<kN>(p, t0 + t, mix);
      if (p.pre_out)
#pragma unroll
        for (int i = 0; i < kN; ++i) p.pre_out[(t0 + t) * kN + i] = sm.pre[t][i];
    }
  } else if (p.layer_input != nullptr) {
    // The layer input u over the rank's columns: pre and the V4 boundary, bf16(sum_i pre_i H_i)
    // (A3's fp32 chain) from the residual slice; shifted, u from the first step.
    const int skip = rank == 0 ? 32 : 0, stride = static_cast<int>(blockDim.x) - skip;
    for (int i = tid - skip; i < tb * vps; i += stride) {
      const int t = i / vps, c = i % vps;
      uint4 uq;
      if (kMode == kShifted) {
        uq = su[i];
      } else {
        uint4 rv[kN];
#pragma unroll
        for (int k = 0; k < kN; ++k) rv[k] = sr[t * nv + k * vps + c];
        uq = fuse::apply8<kN>(rv, sm.pre[t]);
      }
      *reinterpret_cast<uint4*>(p.layer_input + (t0 + t) * C + x0 + int64_t{c} * kVec) = uq;
    }
  }
  cluster_wait();  // no CTA leaves while another may still read its xchg
}

template <int kN, int kMode>
const void* kernel_of() {
  return reinterpret_cast<const void*>(sm90_f32_pre_cluster_kernel<kN, kMode>);
}
template <int kMode>
const void* kernel_for(int n) {
  switch (n) {
    case 1: return kernel_of<1, kMode>();
    case 2: return kernel_of<2, kMode>();
    case 3: return kernel_of<3, kMode>();
    default: return kernel_of<4, kMode>();
  }
}
Mode mode_of(const PreClusterParams& p) {
  if (p.Y == nullptr) return kPre;
  return p.pre_in != nullptr ? kShifted : kBoundary;
}
const void* kernel_for(int n, Mode mode) {
  if (mode == kPre) return kernel_for<kPre>(n);
  return mode == kBoundary ? kernel_for<kBoundary>(n) : kernel_for<kShifted>(n);
}

int resident(int n, int64_t C, Mode mode, const DeviceInfo& dev) {
  return resident_clusters(kernel_for(n, mode), kRanks, 32 * (n * (n + 2) + 1), dynamic_bytes(n, C, mode != kPre), dev,
                           "sm90_f32_pre_cluster_kernel");
}

template <int kN, int kMode>
void launch_as(const PreClusterParams& p, const DeviceInfo& dev, void* stream) {
  if (resident(kN, p.f.C, Mode(kMode), dev) < 1)
    fail(MHC_STATUS_EXECUTION_FAILED_LAUNCH, "sm90_f32_pre_cluster_kernel: no cluster of {} CTAs fits on the device",
         kRanks);
  const unsigned clusters = ceil_div_u(p.f.T, kTB);
  launch("sm90_f32_pre_cluster_kernel", sm90_f32_pre_cluster_kernel<kN, kMode>,
         LaunchConfig(dim3(clusters * kRanks), dim3(threads_for<kN>()), dynamic_bytes(kN, p.f.C, kMode != kPre), stream,
                      /*pdl=*/true, kRanks),
         p);
}

template <int kN>
void launch_n(const PreClusterParams& p, const DeviceInfo& dev, void* stream) {
  switch (mode_of(p)) {
    case kPre: return launch_as<kN, kPre>(p, dev, stream);
    case kBoundary: return launch_as<kN, kBoundary>(p, dev, stream);
    case kShifted: return launch_as<kN, kShifted>(p, dev, stream);
  }
}

}  // namespace

std::string pre_cluster_limits(int n, int64_t C, int64_t T, const DeviceInfo& dev, bool boundary) {
  if (dev.cc < 90) return "thread-block clusters need sm_90";
  if (n > kMaxN) return fmt::format("n = {}: a warp per mix takes n (n + 2) + 1 <= 32 warps for n <= {}", n, kMaxN);
  if (C % (kRanks * kVec) != 0 || rank_vectors(n, C) > 32 * kLaneVecs)
    return fmt::format("C = {}, n = {}: 16 ranks of 16-byte vectors take C a multiple of {} and n C <= {}", C, n,
                       kRanks * kVec, kRanks * kVec * 32 * kLaneVecs);
  if (T > int64_t{kTB} * (0x7fffffff / kRanks))
    return fmt::format("T = {}: a cluster of {} CTAs per {} tokens exceeds the grid", T, kRanks, kTB);
  const size_t smem = dynamic_bytes(n, C, boundary) + sizeof(PreClusterSmem);
  if (smem > dev.smem_optin)
    return fmt::format("C = {}, n = {}: fn's slice and the block's residual ({} bytes) exceed the device's {} bytes of "
                       "shared memory",
                       C, n, smem, dev.smem_optin);
  // A boundary plan runs the V4 or the shifted kernel (by its flags, not passed here): both must fit.
  if (resident(n, C, boundary ? kBoundary : kPre, dev) < 1 || (boundary && resident(n, C, kShifted, dev) < 1))
    return fmt::format("no cluster of {} CTAs fits on the device", kRanks);
  return {};
}

void launch_pre_cluster(const PreClusterParams& p, const DeviceInfo& dev, void* stream) {
  switch (p.f.n) {
    case 1: return launch_n<1>(p, dev, stream);
    case 2: return launch_n<2>(p, dev, stream);
    case 3: return launch_n<3>(p, dev, stream);
    case 4: return launch_n<4>(p, dev, stream);
    default: fail(MHC_STATUS_INTERNAL, "pre cluster kernel: n = {} exceeds {}", p.f.n, kMaxN);
  }
}

}  // namespace mhc::cuda
