// Asynchronous global -> shared copies (cp.async, sm_80+): a CTA keeps several stages of a
// streamed operand in flight while it computes on an earlier one.
#pragma once

#include <cuda_runtime.h>

namespace mhc::cuda {

// Copies `bytes` (0 or 16) from global `src` to shared `dst` and zero-fills the rest of the 16;
// with 0, nothing is read (src must still be a valid address). Bypasses L1.
__device__ __forceinline__ void cp_async16(void* dst, const void* src, int bytes) {
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(src), "r"(bytes) : "memory");
}
// Copies kBytes (4 or 8) from global `src` to shared `dst` through L1 (both aligned to kBytes).
template <int kBytes>
__device__ __forceinline__ void cp_async_small(void* dst, const void* src) {
  static_assert(kBytes == 4 || kBytes == 8, "cp.async.ca copies 4, 8 or 16 bytes");
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.ca.shared.global [%0], [%1], %2;\n" ::"r"(s), "l"(src), "n"(kBytes) : "memory");
}
// Closes this thread's group of copies issued since the last commit (an empty group is fine).
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
// Waits until at most `kPending` of this thread's committed groups are still in flight; a block
// barrier after it makes every thread's completed copies visible to all.
template <int kPending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending) : "memory");
}
// cp_async_wait with a run-time count: at most `pending` groups in flight (clamped to 0..7:
// waiting for more is always safe).
__device__ __forceinline__ void cp_async_wait_upto(int pending) {
  switch (pending < 7 ? pending : 7) {
    case 7: cp_async_wait<7>(); break;
    case 6: cp_async_wait<6>(); break;
    case 5: cp_async_wait<5>(); break;
    case 4: cp_async_wait<4>(); break;
    case 3: cp_async_wait<3>(); break;
    case 2: cp_async_wait<2>(); break;
    case 1: cp_async_wait<1>(); break;
    default: cp_async_wait<0>(); break;
  }
}

}  // namespace mhc::cuda
