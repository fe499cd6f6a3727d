// Shared by the C++ examples: a tensor in host or device memory, a deterministic generator, a
// checked run, and main()'s argument handling.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <mhc/mhc.hpp>

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

// One checked run: poison the outputs (so that one the run never writes fails), run, wait
// (`wait`: every stream the run may be on), then compare each output with the fp64 host backend
// on the same inputs. True when every output passes.
inline bool run_checked(const mhc::Plan& plan, const mhc::Args& args, void* stream, void* ws, size_t ws_bytes,
                        ex_copy_fn copy, const std::function<void()>& wait, const std::string& label) {
  if (!ex_poison_outputs(plan.get(), &args, copy)) throw std::runtime_error("poisoning the outputs failed");
  plan.run(stream, args, ws, ws_bytes);
  wait();
  return ex_check_run(plan.get(), &args, copy, label.c_str()) != 0;
}

// main() of an example: `name [T] [C] [count]` (defaults 16, 1024, default_count), then run(T, C,
// count); a libmhc or other error is printed and gives exit status 1.
inline int example_main(int argc, char** argv, const char* name, const char* count_name, int default_count,
                        const std::function<int(int64_t, int64_t, int)>& run) {
  const int64_t T = argc > 1 ? std::atoll(argv[1]) : 16;
  const int64_t C = argc > 2 ? std::atoll(argv[2]) : 1024;
  const int count = argc > 3 ? std::atoi(argv[3]) : default_count;
  if (T < 1 || C < 1 || count < 1) {
    std::fprintf(stderr, "usage: %s [T >= 1] [C >= 1] [%s >= 1]\n", name, count_name);
    return 1;
  }
  try {
    return run(T, C, count);
  } catch (const mhc::Error& e) {  // what() is "<mhc_status_string>: <mhc_get_last_error>"
    std::fprintf(stderr, "%s: libmhc error %d: %s\n", name, static_cast<int>(e.status()), e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", name, e.what());
  }
  return 1;
}

}  // namespace example
