// How many thread-block clusters of a kernel fit on a device at once (the persistent grids' size,
// and whether a cluster kernel can run at all).
#pragma once

#include <cstddef>

#include "../runtime/device.hpp"

namespace mhc::cuda {

// Clusters of `ranks` CTAs of `threads` threads and `smem` dynamic shared-memory bytes of `kernel`
// resident at once on `dev` (the current device); 0 when none fits or the shared memory exceeds
// the device's. Once per kernel, device and shape: raises the kernel's dynamic shared memory, and
// for more than 8 ranks allows the non-portable cluster size, first (relaxed capture mode: legal
// while a graph is being captured). Throws EXECUTION_FAILED_CUDA when CUDA refuses.
int resident_clusters(const void* kernel, unsigned ranks, unsigned threads, size_t smem, const DeviceInfo& dev,
                      const char* name);

}  // namespace mhc::cuda
