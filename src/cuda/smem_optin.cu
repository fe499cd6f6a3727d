#include <cuda_runtime.h>

#include <map>
#include <mutex>
#include <utility>

#include "launch.cuh"
#include "smem_optin.hpp"

namespace mhc::cuda {

bool opt_in_dynamic_smem(const void* kernel, size_t bytes, const DeviceInfo& dev, const char* what) {
  if (bytes > dev.smem_optin) return false;
  static std::mutex mu;
  static std::map<std::pair<const void*, int>, size_t> raised;
  std::lock_guard<std::mutex> lock(mu);
  size_t& have = raised[{kernel, dev.ordinal}];
  if (bytes <= have) return true;
  const RelaxedCaptureMode relaxed;
  check_cuda(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)), what);
  have = bytes;
  return true;
}

}  // namespace mhc::cuda
