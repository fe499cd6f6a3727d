// Shared by the C++ examples: a tensor in host or device memory, and a deterministic generator.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "check.h"

#ifdef MHC_EXAMPLE_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

namespace example {

#ifdef MHC_EXAMPLE_WITH_CUDA
inline void cuda_check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}
#endif

// A tensor in host memory or in device memory, filled from a host vector.
class Buffer {
 public:
  Buffer(size_t bytes, bool gpu) : bytes_(bytes), gpu_(gpu) {
    if (gpu_) {
#ifdef MHC_EXAMPLE_WITH_CUDA
      cuda_check(cudaMalloc(&dev_, bytes_), "cudaMalloc");
#else
      throw std::runtime_error("device buffers need the example built with CUDA");
#endif
    } else {
      host_.resize((bytes_ + 7) / 8);  // 8-byte aligned storage
    }
  }
  ~Buffer() {
#ifdef MHC_EXAMPLE_WITH_CUDA
    if (dev_) cudaFree(dev_);
#endif
  }
  Buffer(Buffer&& o) noexcept
      : bytes_(o.bytes_), gpu_(o.gpu_), dev_(std::exchange(o.dev_, nullptr)), host_(std::move(o.host_)) {}
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer& operator=(Buffer&&) = delete;

  void* data() { return gpu_ ? dev_ : static_cast<void*>(host_.data()); }

  template <typename T>
  void upload(const std::vector<T>& src) {
    if (src.size() * sizeof(T) != bytes_) throw std::logic_error("upload: size mismatch");
    if (!(gpu_ ? ex_copy_cuda : ex_copy_host)(data(), src.data(), bytes_))
      throw std::runtime_error("upload failed");
  }

 private:
  size_t bytes_;
  bool gpu_;
  void* dev_ = nullptr;
  std::vector<uint64_t> host_;
};

// xorshift64*: the same data on every machine.
class Random {
 public:
  float uniform(float lo, float hi) {
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return lo + (hi - lo) * static_cast<float>((s_ * 0x2545f4914f6cdd1dull) >> 40) / 16777216.0f;
  }

 private:
  uint64_t s_ = 0x243f6a8885a308d3ull;
};

inline std::vector<float> random_f32(Random& r, size_t count, float lo, float hi) {
  std::vector<float> v(count);
  for (auto& x : v) x = r.uniform(lo, hi);
  return v;
}

}  // namespace example
