// Static status strings and the thread-local last-error message.
#include <cstring>
#include <string>

#include "capi_guard.hpp"

namespace mhc {
namespace {
thread_local std::string t_last_error;
}  // namespace

const std::string& t_last_error_ref() noexcept { return t_last_error; }

void set_last_error(std::string message) noexcept {
  try {
    t_last_error = std::move(message);
  } catch (...) {
    // Out of memory while recording the message: keep the status, drop the text.
  }
}

}  // namespace mhc

extern "C" {

MHC_API const char* mhc_status_string(mhc_status_t s) {
  switch (s) {
    case MHC_STATUS_SUCCESS: return "MHC_STATUS_SUCCESS";
    case MHC_STATUS_BAD_PARAM: return "MHC_STATUS_BAD_PARAM";
    case MHC_STATUS_BAD_PARAM_NULL_POINTER: return "MHC_STATUS_BAD_PARAM_NULL_POINTER";
    case MHC_STATUS_BAD_PARAM_STRUCT_SIZE: return "MHC_STATUS_BAD_PARAM_STRUCT_SIZE";
    case MHC_STATUS_BAD_PARAM_SHAPE: return "MHC_STATUS_BAD_PARAM_SHAPE";
    case MHC_STATUS_BAD_PARAM_VALUE: return "MHC_STATUS_BAD_PARAM_VALUE";
    case MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM: return "MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM";
    case MHC_STATUS_BAD_PARAM_MISALIGNED: return "MHC_STATUS_BAD_PARAM_MISALIGNED";
    case MHC_STATUS_BAD_PARAM_WORKSPACE: return "MHC_STATUS_BAD_PARAM_WORKSPACE";
    case MHC_STATUS_BAD_PARAM_MEMORY_SPACE: return "MHC_STATUS_BAD_PARAM_MEMORY_SPACE";
    case MHC_STATUS_BAD_PARAM_ABI_MISMATCH: return "MHC_STATUS_BAD_PARAM_ABI_MISMATCH";
    case MHC_STATUS_NOT_SUPPORTED: return "MHC_STATUS_NOT_SUPPORTED";
    case MHC_STATUS_NOT_SUPPORTED_NO_DEVICE: return "MHC_STATUS_NOT_SUPPORTED_NO_DEVICE";
    case MHC_STATUS_NOT_SUPPORTED_SKU: return "MHC_STATUS_NOT_SUPPORTED_SKU";
    case MHC_STATUS_NOT_SUPPORTED_GUARANTEE: return "MHC_STATUS_NOT_SUPPORTED_GUARANTEE";
    case MHC_STATUS_NOT_SUPPORTED_WORKSPACE_CAP: return "MHC_STATUS_NOT_SUPPORTED_WORKSPACE_CAP";
    case MHC_STATUS_INTERNAL: return "MHC_STATUS_INTERNAL";
    case MHC_STATUS_INTERNAL_HOST_ALLOC_FAILED: return "MHC_STATUS_INTERNAL_HOST_ALLOC_FAILED";
    case MHC_STATUS_INTERNAL_DEVICE_ALLOC_FAILED: return "MHC_STATUS_INTERNAL_DEVICE_ALLOC_FAILED";
    case MHC_STATUS_EXECUTION_FAILED: return "MHC_STATUS_EXECUTION_FAILED";
    case MHC_STATUS_EXECUTION_FAILED_CUDA: return "MHC_STATUS_EXECUTION_FAILED_CUDA";
    case MHC_STATUS_EXECUTION_FAILED_LAUNCH: return "MHC_STATUS_EXECUTION_FAILED_LAUNCH";
    default: break;
  }
  switch (MHC_STATUS_CATEGORY(s)) {  // a code from a newer library: name its category
    case MHC_STATUS_BAD_PARAM: return "MHC_STATUS_BAD_PARAM (unknown detail)";
    case MHC_STATUS_NOT_SUPPORTED: return "MHC_STATUS_NOT_SUPPORTED (unknown detail)";
    case MHC_STATUS_INTERNAL: return "MHC_STATUS_INTERNAL (unknown detail)";
    case MHC_STATUS_EXECUTION_FAILED: return "MHC_STATUS_EXECUTION_FAILED (unknown detail)";
    default: return "unknown mhc_status_t";
  }
}

MHC_API size_t mhc_get_last_error(char* buf, size_t cap) {
  const std::string& m = mhc::t_last_error_ref();
  if (buf != nullptr && cap > 0) {
    const size_t n = m.size() < cap - 1 ? m.size() : cap - 1;
    std::memcpy(buf, m.data(), n);
    buf[n] = '\0';
  }
  return m.size();
}

}  // extern "C"
