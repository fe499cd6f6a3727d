#include <cuda_runtime.h>

#include <map>
#include <mutex>
#include <utility>

#include "../runtime/device.hpp"
#include "launch.cuh"
#include "smem_optin.hpp"

namespace mhc::cuda {
namespace {

std::mutex& optin_mutex() {
  static std::mutex mu;
  return mu;
}

int current_ordinal() {
  int dev = -1;
  check_cuda(cudaGetDevice(&dev), "cudaGetDevice");
  return dev;
}

// Callers hold optin_mutex().
size_t optin_locked(int dev) {
  static std::map<int, size_t> limits;
  const auto it = limits.find(dev);
  if (it != limits.end()) return it->second;
  int v = 0;
  check_cuda(cudaDeviceGetAttribute(&v, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev),
             "cudaDeviceGetAttribute(MaxSharedMemoryPerBlockOptin)");
  limits.emplace(dev, static_cast<size_t>(v));
  return static_cast<size_t>(v);
}

}  // namespace

size_t device_smem_optin() {
  const int dev = current_ordinal();
  std::lock_guard<std::mutex> lock(optin_mutex());
  return optin_locked(dev);
}

bool opt_in_dynamic_smem(const void* kernel, size_t bytes, const char* what) {
  const int dev = current_ordinal();
  std::lock_guard<std::mutex> lock(optin_mutex());
  if (bytes > optin_locked(dev)) return false;
  static std::map<std::pair<const void*, int>, size_t> raised;
  size_t& have = raised[{kernel, dev}];
  if (bytes <= have) return true;
  const RelaxedCaptureMode relaxed;
  check_cuda(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)), what);
  have = bytes;
  return true;
}

}  // namespace mhc::cuda
