// The CUDA runtime as the plan layer sees it. Built without CUDA (MHC_WITH_CUDA undefined), every
// query answers "no device" and the library is host-only.
#pragma once

#include <cstddef>
#include <string>

namespace mhc {

struct DeviceInfo {
  int ordinal = -1;
  int cc = 0;             // compute capability * 10 (90 for sm_90)
  int sm_count = 0;
  size_t l2_bytes = 0;
  size_t smem_optin = 0;  // max dynamic shared memory per block after opt-in
};

// Usable devices; 0 when there is no driver or GPU. *why (optional) says why there are none.
int cuda_device_count(std::string* why = nullptr);
// The calling thread's current device. Throws mhc::Error (NO_DEVICE) when there is none.
DeviceInfo current_device();

enum class MemSpace { kHost, kDevice, kBoth, kUnknown };
// kDevice: device memory only a kernel can read; kHost: plain host memory; kBoth: managed or
// mapped pinned memory both can read; kUnknown: CUDA cannot tell (no driver).
MemSpace memory_space(const void* ptr);

void* device_alloc(size_t bytes, const char* what);  // throws INTERNAL_DEVICE_ALLOC_FAILED
void device_free(int ordinal, void* ptr) noexcept;    // waits for the device first

// Throws EXECUTION_FAILED_LAUNCH naming `kernel` if the last launch failed.
void check_launch(const char* kernel);

}  // namespace mhc
