// The CUDA runtime as the plan layer sees it. The library never calls cudaGetLastError on an error
// the application left pending (CudaErrorStateScope), and never synchronizes the whole device.
#include <cuda_runtime.h>

#include "device.hpp"
#include "../common/error.hpp"

namespace mhc {
namespace {

std::string cuda_message(cudaError_t e) { return fmt::format("{} ({})", cudaGetErrorString(e), cudaGetErrorName(e)); }

}  // namespace

CudaErrorStateScope::CudaErrorStateScope(bool active) noexcept : active_(active) {
  if (active_) clean_at_start_ = cudaPeekAtLastError() == cudaSuccess;
}

CudaErrorStateScope::~CudaErrorStateScope() {
  // Our failed calls set the last error; clear it only where the application had none pending.
  if (active_ && clean_at_start_ && cudaPeekAtLastError() != cudaSuccess) cudaGetLastError();
}

int cuda_device_count(std::string* why) {
  const CudaErrorStateScope errors(true);  // also called outside select (mhc_cuda_device_count)
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    if (why) *why = "cudaGetDeviceCount: " + cuda_message(e);
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
  if (e != cudaSuccess) fail(MHC_STATUS_EXECUTION_FAILED_CUDA, "querying the current CUDA device: {}", cuda_message(e));
  info.cc = major * 10 + minor;
  info.sm_count = sms;
  info.l2_bytes = static_cast<size_t>(l2);
  info.smem_optin = static_cast<size_t>(smem);
  return info;
}

MemSpace memory_space(const void* ptr, int* device) {
  if (device) *device = -1;
  cudaPointerAttributes attr{};
  if (cudaPointerGetAttributes(&attr, ptr) != cudaSuccess) return MemSpace::kUnknown;
  switch (attr.type) {
    case cudaMemoryTypeDevice:
      if (device) *device = attr.device;
      return MemSpace::kDevice;
    case cudaMemoryTypeManaged:
      return MemSpace::kBoth;
    case cudaMemoryTypeHost:  // pinned: a kernel reads it where its device pointer is the same
      return attr.devicePointer == ptr ? MemSpace::kBoth : MemSpace::kHost;
    default:
      return MemSpace::kHost;
  }
}

int stream_device(void* stream) {
  const auto s = static_cast<cudaStream_t>(stream);
  // cudaStreamGetDevice is not permitted on a stream being captured: a capture is checked when its
  // graph is launched, by CUDA itself.
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(s, &capture) != cudaSuccess || capture != cudaStreamCaptureStatusNone) return -1;
  int dev = -1;
  const cudaError_t e = cudaStreamGetDevice(s, &dev);
  if (e != cudaSuccess) fail(MHC_STATUS_EXECUTION_FAILED_CUDA, "cudaStreamGetDevice(stream = {}): {}", stream, cuda_message(e));
  return dev;
}

RelaxedCaptureMode::RelaxedCaptureMode() noexcept {
  int mode = cudaStreamCaptureModeRelaxed;
  auto m = static_cast<cudaStreamCaptureMode>(mode);
  active_ = cudaThreadExchangeStreamCaptureMode(&m) == cudaSuccess;
  previous_ = static_cast<int>(m);
}

RelaxedCaptureMode::~RelaxedCaptureMode() {
  if (!active_) return;
  auto m = static_cast<cudaStreamCaptureMode>(previous_);
  cudaThreadExchangeStreamCaptureMode(&m);
}

void require_current_device(int ordinal, const char* what) {
  int cur = -1;
  const cudaError_t e = cudaGetDevice(&cur);
  if (e != cudaSuccess) fail(MHC_STATUS_EXECUTION_FAILED_CUDA, "cudaGetDevice: {}", cuda_message(e));
  if (cur != ordinal)
    fail(MHC_STATUS_BAD_PARAM_DEVICE,
         "{}: the calling thread's current device is {}, the plan was selected on device {} "
         "(cudaSetDevice({}) first, or select a plan per device)", what, cur, ordinal, ordinal);
}

void* device_alloc(size_t bytes, const char* what) {
  void* p = nullptr;
  const cudaError_t e = cudaMalloc(&p, bytes);
  if (e != cudaSuccess)
    fail(MHC_STATUS_INTERNAL_DEVICE_ALLOC_FAILED, "cudaMalloc of {} bytes for {}: {}", bytes, what, cuda_message(e));
  return p;
}

void* event_create() {
  cudaEvent_t ev = nullptr;
  const cudaError_t e = cudaEventCreateWithFlags(&ev, cudaEventDisableTiming);
  if (e != cudaSuccess) fail(MHC_STATUS_EXECUTION_FAILED_CUDA, "cudaEventCreateWithFlags: {}", cuda_message(e));
  return ev;
}

void event_record_unless_capturing(void* event, void* stream) {
  const auto s = static_cast<cudaStream_t>(stream);
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  cudaError_t e = cudaStreamIsCapturing(s, &capture);
  if (e == cudaSuccess && capture == cudaStreamCaptureStatusNone) e = cudaEventRecord(static_cast<cudaEvent_t>(event), s);
  if (e != cudaSuccess) fail(MHC_STATUS_EXECUTION_FAILED_CUDA, "recording the plan's scratch event: {}", cuda_message(e));
}

std::string device_free(int ordinal, void* ptr, void* event) noexcept {
  std::string error;
  auto note = [&error](const char* what, cudaError_t e) {
    if (e != cudaSuccess && error.empty()) {
      try {
        error = std::string(what) + ": " + cuda_message(e);
      } catch (...) {
        error = "CUDA error while freeing the plan's scratch";
      }
    }
  };
  int prev = -1;
  note("cudaGetDevice", cudaGetDevice(&prev));
  if (prev != ordinal) note("cudaSetDevice", cudaSetDevice(ordinal));
  // Only the plan's own last scratch run is waited for, not the device.
  if (event) note("cudaEventSynchronize (the plan's last run)", cudaEventSynchronize(static_cast<cudaEvent_t>(event)));
  if (ptr) note("cudaFree (the plan's scratch)", cudaFree(ptr));
  if (event) note("cudaEventDestroy", cudaEventDestroy(static_cast<cudaEvent_t>(event)));
  if (prev >= 0 && prev != ordinal) note("cudaSetDevice (restoring the caller's device)", cudaSetDevice(prev));
  return error;
}

}  // namespace mhc
