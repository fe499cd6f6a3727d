// DeviceSet: device copies of an OpData's tensors, each placed `shift` elements past a 256-byte
// boundary (shift 1 makes every tensor misaligned for vector access but naturally aligned), for
// the static-H tests' alignment checks.
#pragma once

#include <utility>
#include <vector>

#include "../common/op_data.hpp"
#include "cuda_support.hpp"

namespace mhc_test {

struct DeviceSet {
  std::vector<void*> base, ptrs;
  std::vector<size_t> bytes;
  DeviceSet(const OpData& d, int shift) {
    for (size_t i = 0; i < d.specs.size(); ++i) {
      const size_t off = static_cast<size_t>(shift) * (d.specs[i].dtype == MHC_DTYPE_BF16 ? 2 : 4);
      void* p = nullptr;
      CUDA_REQUIRE(cudaMalloc(&p, d.host[i].size() + off + 16));
      base.push_back(p);
      ptrs.push_back(static_cast<char*>(p) + off);
      bytes.push_back(d.host[i].size());
      CUDA_REQUIRE(cudaMemcpy(ptrs[i], d.host[i].data(), bytes[i], cudaMemcpyHostToDevice));
    }
  }
  ~DeviceSet() {
    for (void* p : base) cudaFree(p);
  }
  DeviceSet(const DeviceSet&) = delete;
  DeviceSet& operator=(const DeviceSet&) = delete;
  // Outputs from d's host buffers (poisoned, or the old values of an accumulating run).
  void upload_outputs(const OpData& d) {
    for (size_t i = 0; i < d.specs.size(); ++i)
      if (d.specs[i].role == mhc::Role::kOutput)
        CUDA_REQUIRE(cudaMemcpy(ptrs[i], d.host[i].data(), bytes[i], cudaMemcpyHostToDevice));
  }
  void poison_outputs(const OpData& d) {
    OpData copy = d;
    copy.poison_outputs();
    upload_outputs(copy);
  }
  // Tensor i, from the device.
  std::vector<unsigned char> download(size_t i) const {
    std::vector<unsigned char> h(bytes[i]);
    CUDA_REQUIRE(cudaMemcpy(h.data(), ptrs[i], bytes[i], cudaMemcpyDeviceToHost));
    return h;
  }
  // Every output, in spec order, from the device.
  std::vector<std::vector<unsigned char>> outputs(const OpData& d) const {
    std::vector<std::vector<unsigned char>> o;
    for (size_t i = 0; i < d.specs.size(); ++i)
      if (d.specs[i].role == mhc::Role::kOutput) o.push_back(download(i));
    return o;
  }
};

}  // namespace mhc_test
