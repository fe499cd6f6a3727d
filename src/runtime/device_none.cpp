// The host-only build (MHC_ENABLE_CUDA=OFF): no device, every query says so.
#include "device.hpp"
#include "../common/error.hpp"

namespace mhc {

int cuda_device_count(std::string* why) {
  if (why) *why = "libmhc was built without CUDA (MHC_ENABLE_CUDA=OFF)";
  return 0;
}

DeviceInfo current_device() {
  fail(MHC_STATUS_NOT_SUPPORTED_NO_DEVICE, "no CUDA device: libmhc was built without CUDA (MHC_ENABLE_CUDA=OFF)");
}

MemSpace memory_space(const void*) { return MemSpace::kUnknown; }

void* device_alloc(size_t, const char* what) {
  fail(MHC_STATUS_NOT_SUPPORTED_NO_DEVICE, "cannot allocate {}: libmhc was built without CUDA", what);
}

void device_free(int, void*) noexcept {}

void check_launch(const char*) {}

}  // namespace mhc
