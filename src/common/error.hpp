// The library's internal error: thrown below the C ABI, turned into a status + message in capi/.
#pragma once

#include <exception>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "mhc/mhc.h"

namespace mhc {

class Error : public std::exception {
 public:
  Error(mhc_status_t status, std::string message) : status_(status), message_(std::move(message)) {}
  mhc_status_t status() const noexcept { return status_; }
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  mhc_status_t status_;
  std::string message_;
};

template <typename... Args>
[[noreturn]] void fail(mhc_status_t status, fmt::format_string<Args...> format, Args&&... args) {
  throw Error(status, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace mhc
