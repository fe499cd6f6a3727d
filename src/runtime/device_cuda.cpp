#include <cuda_runtime.h>

#include "device.hpp"
#include "../common/error.hpp"

namespace mhc {

int cuda_device_count(std::string* why) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    if (why) *why = fmt::format("cudaGetDeviceCount: {} ({})", cudaGetErrorString(e), cudaGetErrorName(e));
    cudaGetLastError();  // not sticky: keep it from leaking into the caller's error state
    return 0;
  }
  if (count == 0 && why) *why = "cudaGetDeviceCount reported 0 devices";
  return count;
}

DeviceInfo current_device() {
  std::string why;
  if (cuda_device_count(&why) == 0) fail(MHC_STATUS_NOT_SUPPORTED_NO_DEVICE, "no CUDA device: {}", why);
  DeviceInfo info;
  cudaError_t e = cudaGetDevice(&info.ordinal);
  int major = 0, minor = 0, sms = 0, l2 = 0, smem = 0;
  if (e == cudaSuccess) e = cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, info.ordinal);
  if (e == cudaSuccess) e = cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, info.ordinal);
  if (e == cudaSuccess) e = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, info.ordinal);
  if (e == cudaSuccess) e = cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, info.ordinal);
  if (e == cudaSuccess) e = cudaDeviceGetAttribute(&smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, info.ordinal);
  if (e != cudaSuccess)
    fail(MHC_STATUS_EXECUTION_FAILED_CUDA, "querying the current CUDA device: {}", cudaGetErrorString(e));
  info.cc = major * 10 + minor;
  info.sm_count = sms;
  info.l2_bytes = static_cast<size_t>(l2);
  info.smem_optin = static_cast<size_t>(smem);
  return info;
}

MemSpace memory_space(const void* ptr) {
  cudaPointerAttributes attr{};
  const cudaError_t e = cudaPointerGetAttributes(&attr, ptr);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return MemSpace::kUnknown;
  }
  switch (attr.type) {
    case cudaMemoryTypeDevice:
      return MemSpace::kDevice;
    case cudaMemoryTypeManaged:
      return MemSpace::kBoth;
    case cudaMemoryTypeHost:  // pinned: a kernel reads it where its device pointer is the same
      return attr.devicePointer == ptr ? MemSpace::kBoth : MemSpace::kHost;
    default:
      return MemSpace::kHost;
  }
}

void* device_alloc(size_t bytes, const char* what) {
  void* p = nullptr;
  const cudaError_t e = cudaMalloc(&p, bytes);
  if (e != cudaSuccess) {
    cudaGetLastError();
    fail(MHC_STATUS_INTERNAL_DEVICE_ALLOC_FAILED, "cudaMalloc of {} bytes for {}: {}", bytes, what,
         cudaGetErrorString(e));
  }
  return p;
}

void device_free(int ordinal, void* ptr) noexcept {
  if (ptr == nullptr) return;
  int prev = -1;
  cudaGetDevice(&prev);
  cudaSetDevice(ordinal);
  cudaDeviceSynchronize();  // a run on any stream may still read the scratch
  cudaFree(ptr);
  if (prev >= 0) cudaSetDevice(prev);
  cudaGetLastError();
}

void check_launch(const char* kernel) {
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess)
    fail(MHC_STATUS_EXECUTION_FAILED_LAUNCH, "launching {}: {} ({})", kernel, cudaGetErrorString(e),
         cudaGetErrorName(e));
}

}  // namespace mhc
