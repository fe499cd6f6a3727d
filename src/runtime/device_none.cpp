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

MemSpace memory_space(const void*, int* device) {
  if (device) *device = -1;
  return MemSpace::kUnknown;
}

CudaErrorStateScope::CudaErrorStateScope(bool) noexcept : active_(false) {}
CudaErrorStateScope::~CudaErrorStateScope() = default;

int stream_device(void*) { return -1; }
RelaxedCaptureMode::RelaxedCaptureMode() noexcept {}
RelaxedCaptureMode::~RelaxedCaptureMode() = default;
void require_current_device(int, const char*) {}

void* device_alloc(size_t, const char* what) {
  fail(MHC_STATUS_NOT_SUPPORTED_NO_DEVICE, "cannot allocate {}: libmhc was built without CUDA", what);
}
void* event_create() { fail(MHC_STATUS_NOT_SUPPORTED_NO_DEVICE, "libmhc was built without CUDA"); }
void event_record_unless_capturing(void*, void*) {}
std::string device_free(int, void*, void*) noexcept { return {}; }

}  // namespace mhc
