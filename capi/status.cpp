// Static status strings and the thread-local last-error message.
#include <cstring>
#include <string>

#include "capi_guard.hpp"

namespace mhc {
namespace {

thread_local std::string t_last_error;
// Set when the last message could not be built: it is then "<t_fixed_function>: <kFixedText>",
// composed on read, without allocating. Plain pointers: nothing to construct or destroy.
thread_local const char* t_fixed_function = nullptr;
thread_local bool t_has_message = false;
constexpr const char kFixedText[] = "out of host memory (the full error message could not be recorded)";

// Copies s[0..n) to buf[*pos..cap-1) and counts n into *total.
void append(char* buf, size_t cap, size_t* pos, size_t* total, const char* s, size_t n) noexcept {
  *total += n;
  if (buf == nullptr || cap == 0 || *pos >= cap - 1) return;
  const size_t k = n < cap - 1 - *pos ? n : cap - 1 - *pos;
  std::memcpy(buf + *pos, s, k);
  *pos += k;
}

void append(char* buf, size_t cap, size_t* pos, size_t* total, const char* s) noexcept {
  append(buf, cap, pos, total, s, std::strlen(s));
}

// The message, composed into buf as mhc_get_last_error documents; its full length.
size_t copy_last_error(char* buf, size_t cap) noexcept {
  size_t pos = 0, total = 0;
  if (t_fixed_function != nullptr) {
    append(buf, cap, &pos, &total, t_fixed_function);
    append(buf, cap, &pos, &total, ": ");
    append(buf, cap, &pos, &total, kFixedText);
  } else if (t_has_message) {
    // Only read once written: a thread's first use of t_last_error registers its destructor, which
    // allocates (glibc), and this function must work when nothing can be allocated.
    append(buf, cap, &pos, &total, t_last_error.data(), t_last_error.size());
  }
  if (buf != nullptr && cap > 0) buf[pos] = '\0';
  return total;
}

}  // namespace

void set_last_error(const char* function, const char* detail, const char* what) noexcept {
  try {
    std::string m;
    m.reserve(std::strlen(function) + 2 + std::strlen(detail) + std::strlen(what));
    m.append(function).append(": ").append(detail).append(what);
    t_last_error.swap(m);  // the old text goes with m: no allocation past this point
    t_fixed_function = nullptr;
  } catch (...) {
    // Keep the status, say who failed: the stand-in needs no memory.
    t_fixed_function = function;
  }
  t_has_message = true;
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
    case MHC_STATUS_BAD_PARAM_DEVICE: return "MHC_STATUS_BAD_PARAM_DEVICE";
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

MHC_API size_t mhc_get_last_error(char* buf, size_t cap) { return mhc::copy_last_error(buf, cap); }

}  // extern "C"
