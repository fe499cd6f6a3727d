// The exception boundary: every extern "C" entry point runs its body through guard(), which turns
// every exception into a status and a thread-local message. Nothing escapes the C ABI.
#pragma once

#include <new>

#include "../src/common/error.hpp"
#include "mhc/mhc.h"

namespace mhc {

// Records "<function>: <detail><what>" as the calling thread's message. Never throws: when the text
// cannot be built (out of memory), a static message naming `function` stands in for it. `function`
// must have static storage (__func__), as the stand-in keeps the pointer.
void set_last_error(const char* function, const char* detail, const char* what = "") noexcept;

template <typename F>
mhc_status_t guard(const char* function, F&& body) noexcept {
  // The handlers only pass pointers: building the message may itself run out of memory, and
  // set_last_error absorbs that.
  try {
    body();
    return MHC_STATUS_SUCCESS;
  } catch (const Error& e) {
    set_last_error(function, "", e.what());
    return e.status();
  } catch (const std::bad_alloc&) {
    set_last_error(function, "host memory allocation failed");
    return MHC_STATUS_INTERNAL_HOST_ALLOC_FAILED;
  } catch (const std::exception& e) {
    set_last_error(function, "internal error: ", e.what());
    return MHC_STATUS_INTERNAL;
  } catch (...) {
    set_last_error(function, "internal error: unknown exception");
    return MHC_STATUS_INTERNAL;
  }
}

}  // namespace mhc
