// Dynamic shared memory above the 48 KB default must be opted into per kernel and per device.
#pragma once

#include <cstddef>

#include "../runtime/device.hpp"

namespace mhc::cuda {

// Raises `kernel`'s dynamic shared-memory limit on `dev` (the current device: a plan runs on the
// device it was selected on) to at least `bytes`, once per kernel, device and size, in relaxed
// capture mode (allowed while a graph is being captured). Returns false, changing nothing, when
// the device cannot give `bytes` (dev.smem_optin): the caller falls back or fails with its own
// message. Throws EXECUTION_FAILED_CUDA when CUDA refuses.
bool opt_in_dynamic_smem(const void* kernel, size_t bytes, const DeviceInfo& dev, const char* what);

}  // namespace mhc::cuda
