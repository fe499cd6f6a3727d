// Thread-block cluster building blocks (sm_90 PTX; kernels using them launch only there): the
// cluster's special registers, the cluster barrier in two halves, loads from another CTA's shared
// memory, and a warp's fixed-tree reduce-scatter that the cluster kernels sum their partials with.
#pragma once

#include <cuda_runtime.h>

#include "launch.cuh"

namespace mhc::cuda {

enum class ClusterReg { kRank, kId, kCount };  // %cluster_ctarank, %clusterid.x, %nclusterid.x
template <ClusterReg kReg>
__device__ __forceinline__ unsigned cluster_reg() {
  unsigned r = kReg == ClusterReg::kCount ? 1u : 0u;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  if constexpr (kReg == ClusterReg::kRank)
    asm volatile("mov.u32 %0, %%cluster_ctarank;" : "=r"(r));
  else if constexpr (kReg == ClusterReg::kId)
    asm volatile("mov.u32 %0, %%clusterid.x;" : "=r"(r));
  else
    asm volatile("mov.u32 %0, %%nclusterid.x;" : "=r"(r));
#endif
  return r;
}

// The cluster barrier, in two halves: a thread's shared-memory writes before its arrive are
// visible to every CTA's threads after their wait; in between, a thread works on without waiting
// for the others. cluster_sync: both at once.
__device__ __forceinline__ void cluster_arrive() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("barrier.cluster.arrive.release.aligned;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void cluster_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("barrier.cluster.wait.acquire.aligned;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void cluster_sync() {
  cluster_arrive();
  cluster_wait();
}

// The float at `local` (this CTA's shared memory) in the shared memory of cluster rank `rank`.
__device__ __forceinline__ float load_remote(const float* local, unsigned rank) {
  float v = 0.0f;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  const unsigned a = static_cast<unsigned>(__cvta_generic_to_shared(local));
  unsigned remote;
  asm volatile("mapa.shared::cluster.u32 %0, %1, %2;" : "=r"(remote) : "r"(a), "r"(rank));
  asm volatile("ld.shared::cluster.f32 %0, [%1];" : "=f"(v) : "r"(remote) : "memory");
#endif
  return v;
}

__device__ __forceinline__ float tf32_round(float f) { return __uint_as_float(tf32_rne(f)); }

// One step of the reduce-scatter below (offset 16 >> kStep, kP >> (kStep + 1) values kept), then
// the next.
template <int kP, int kStep>
__device__ __forceinline__ void reduce_scatter_step(float (&v)[kP], int lane) {
  constexpr int o = 16 >> kStep, h = kP >> (kStep + 1);
  const bool upper = (lane & o) != 0;
#pragma unroll
  for (int i = 0; i < h; ++i) {
    const float send = upper ? v[i] : v[h + i];
    const float keep = upper ? v[h + i] : v[i];
    v[i] = keep + __shfl_xor_sync(0xffffffffu, send, o);
  }
  if constexpr (kStep < 4) reduce_scatter_step<kP, kStep + 1>(v, lane);
}

// The warp's sums of kV values per lane (v, flattened row-major), lane l writing the sums of
// values [l kP/32, (l + 1) kP/32) to out: a reduce-scatter over halves (offsets 16 .. 1), each
// lane keeping one half of its values and adding the other lane's copy of it, so a step moves
// half as many values as the one before (62 shuffles for 40 values instead of 200). A fixed
// tree per value: deterministic, and the same for every warp.
template <int kV, typename Acc>
__device__ __forceinline__ void warp_reduce_scatter(const Acc& acc, float* out, int lane) {
  constexpr int kP = kV <= 32 ? 32 : 64;  // padded to a power of two >= 32
  constexpr int kRow = sizeof(acc[0]) / sizeof(float);
  float v[kP];
#pragma unroll
  for (int k = 0; k < kP; ++k) v[k] = k < kV ? acc[k / kRow][k % kRow] : 0.0f;
  reduce_scatter_step<kP, 0>(v, lane);
#pragma unroll
  for (int i = 0; i < kP / 32; ++i)
    if (lane * (kP / 32) + i < kV) out[lane * (kP / 32) + i] = v[i];
}

}  // namespace mhc::cuda
