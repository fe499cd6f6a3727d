// Helpers for the CUDA suites: device buffers, a stream, and running one problem on a CUDA plan
// and on the host reference with the same inputs.
#pragma once

#include <cuda_runtime.h>

#include <cstring>
#include <vector>

#include "../support.hpp"

namespace mhc_test {

#define CUDA_REQUIRE(call)                                                                  \
  do {                                                                                      \
    const cudaError_t e_ = (call);                                                          \
    INFO(#call << ": " << cudaGetErrorString(e_));                                          \
    REQUIRE(e_ == cudaSuccess);                                                             \
  } while (0)

// A device copy of a host vector; download() reads it back.
template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t count) : count_(count) { CUDA_REQUIRE(cudaMalloc(&ptr_, bytes() ? bytes() : 1)); }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { upload(host); }
  ~DeviceBuffer() { cudaFree(ptr_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), count_(o.count_) { o.ptr_ = nullptr; o.count_ = 0; }

  void upload(const std::vector<T>& host) {
    REQUIRE(host.size() == count_);
    CUDA_REQUIRE(cudaMemcpy(ptr_, host.data(), bytes(), cudaMemcpyHostToDevice));
  }
  std::vector<T> download() const {
    std::vector<T> host(count_);
    CUDA_REQUIRE(cudaMemcpy(host.data(), ptr_, bytes(), cudaMemcpyDeviceToHost));
    return host;
  }
  // Fill with the poison pattern of tests/support.hpp.
  void poison() {
    std::vector<T> p(count_);
    mhc_test::poison(p);
    upload(p);
  }
  T* get() const { return static_cast<T*>(ptr_); }
  size_t size() const { return count_; }
  size_t bytes() const { return count_ * sizeof(T); }

 private:
  void* ptr_ = nullptr;
  size_t count_ = 0;
};

inline mhc_preference_t cuda_only() {
  mhc_preference_t p;
  mhc_preference_init(&p);
  p.backends = MHC_BACKEND_CUDA;
  return p;
}

}  // namespace mhc_test
