// The exception boundary: every extern "C" entry point runs its body through guard(), which turns
// every exception into a status and a thread-local message. Nothing escapes the C ABI.
#pragma once

#include <new>
#include <string>

#include "../src/common/error.hpp"
#include "mhc/mhc.h"

namespace mhc {

void set_last_error(std::string message) noexcept;
const std::string& t_last_error_ref() noexcept;

template <typename F>
mhc_status_t guard(const char* function, F&& body) noexcept {
  try {
    body();
    return MHC_STATUS_SUCCESS;
  } catch (const Error& e) {
    set_last_error(std::string(function) + ": " + e.what());
    return e.status();
  } catch (const std::bad_alloc&) {
    set_last_error(std::string(function) + ": host memory allocation failed");
    return MHC_STATUS_INTERNAL_HOST_ALLOC_FAILED;
  } catch (const std::exception& e) {
    set_last_error(std::string(function) + ": internal error: " + e.what());
    return MHC_STATUS_INTERNAL;
  } catch (...) {
    set_last_error(std::string(function) + ": internal error: unknown exception");
    return MHC_STATUS_INTERNAL;
  }
}

}  // namespace mhc
