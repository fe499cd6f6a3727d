// The host backend computes in the default floating-point environment whatever the caller set
// (rounding mode, flush-to-zero): results are bit-stable. Worker threads inherit the environment
// of the thread that creates them, so the scope covers them too.
#pragma once

#include <cfenv>

namespace mhc::host {

class DefaultFpEnv {
 public:
  DefaultFpEnv() noexcept {
    saved_ = std::fegetenv(&env_) == 0;
    std::fesetenv(FE_DFL_ENV);
  }
  ~DefaultFpEnv() {
    if (saved_) std::fesetenv(&env_);
  }
  DefaultFpEnv(const DefaultFpEnv&) = delete;
  DefaultFpEnv& operator=(const DefaultFpEnv&) = delete;

 private:
  std::fenv_t env_{};
  bool saved_ = false;
};

}  // namespace mhc::host
