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
// One cudaPointerGetAttributes: *device (optional) is the device of kDevice memory, else -1.
MemSpace memory_space(const void* ptr, int* device = nullptr);

// The calling thread's CUDA "last error" as the application left it: a scope around every CUDA
// path of the library. An error this library's own calls leave behind is cleared at the end of the
// scope only when the application had none pending at its start; an application's pending
// error is never read or cleared (no cudaGetLastError on it).
class CudaErrorStateScope {
 public:
  explicit CudaErrorStateScope(bool active) noexcept;
  ~CudaErrorStateScope();
  CudaErrorStateScope(const CudaErrorStateScope&) = delete;
  CudaErrorStateScope& operator=(const CudaErrorStateScope&) = delete;

 private:
  bool active_;
  bool clean_at_start_ = true;
};

// This thread's stream-capture interaction mode set to relaxed for the scope (CUDA's way for a
// library): the scratch allocation at select and the waits of destroy are then permitted while
// another thread captures a graph in global mode, and do not invalidate its capture.
class RelaxedCaptureMode {
 public:
  RelaxedCaptureMode() noexcept;
  ~RelaxedCaptureMode();
  RelaxedCaptureMode(const RelaxedCaptureMode&) = delete;
  RelaxedCaptureMode& operator=(const RelaxedCaptureMode&) = delete;

 private:
  bool active_ = false;
  int previous_ = 0;
};

// The device of `stream` (a cudaStream_t; NULL is the current device's legacy stream), or -1
// while the stream is being captured. Throws EXECUTION_FAILED_CUDA when CUDA cannot tell.
int stream_device(void* stream);
// Throws BAD_PARAM_DEVICE unless the calling thread's current device is `ordinal`.
void require_current_device(int ordinal, const char* what);

// Stream-ordered scratch: allocated on the plan's device at select; freed after the last run that
// used it (an event recorded by each such run), without synchronizing the whole device.
void* device_alloc(size_t bytes, const char* what);  // throws INTERNAL_DEVICE_ALLOC_FAILED
void* event_create();                                // throws EXECUTION_FAILED_CUDA
// Records `event` on `stream` unless the stream is being captured (a graph's replays are the
// application's to order before destroy). Throws EXECUTION_FAILED_CUDA.
void event_record_unless_capturing(void* event, void* stream);
// Waits for `event`, frees `ptr` and destroys `event`; returns the first CUDA error's message
// (empty when all succeeded). Never throws.
std::string device_free(int ordinal, void* ptr, void* event) noexcept;

}  // namespace mhc
