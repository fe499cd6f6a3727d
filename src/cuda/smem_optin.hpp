// Dynamic shared memory above the 48 KB default must be opted into per kernel and per device.
#pragma once

#include <cstddef>

namespace mhc::cuda {

// The calling thread's current device's opt-in limit (bytes of dynamic shared memory per block),
// cached per device.
size_t device_smem_optin();

// Raises `kernel`'s dynamic shared-memory limit on the current device to at least `bytes` (once
// per kernel, device and size; in relaxed capture mode, so it is allowed while a graph is being
// captured). Returns false, changing nothing, when the device cannot give `bytes`: the caller
// falls back or fails with its own message. Throws EXECUTION_FAILED_CUDA when CUDA refuses.
bool opt_in_dynamic_smem(const void* kernel, size_t bytes, const char* what);

}  // namespace mhc::cuda
