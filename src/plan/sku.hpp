// A kernel SKU: one implementation of one op on one backend, with what it can do, what it needs
// and what it promises. Backends register SKUs (src/host, src/kernels); select picks among them.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "device.hpp"
#include "mhc/mhc.h"
#include "problem.hpp"

namespace mhc {

struct RunContext {
  const Problem& problem;
  const mhc_args_t& args;
  void* stream;        // cudaStream_t (CUDA SKUs)
  void* workspace;     // the caller's workspace or the plan's scratch; workspace_bytes(problem) long
  const DeviceInfo& device;
};

struct Sku {
  mhc_sku_t id;
  const char* name;
  mhc_backend_mask_t backend;   // MHC_BACKEND_CUDA or MHC_BACKEND_HOST
  mhc_op_t op;
  int min_cc;                   // CUDA: lowest compute capability * 10; 0 for host
  size_t alignment;             // every tensor pointer's alignment in bytes (0: natural)
  // What the SKU promises for this problem (flags may depend on how S was chosen).
  mhc_precision_guarantee_t (*guarantee)(const Problem&);
  // Empty string when the SKU can run the problem, else the reason it cannot.
  std::string (*supports)(const Problem&, const DeviceInfo&);
  size_t (*workspace_bytes)(const Problem&);
  void (*run)(const RunContext&);  // throws mhc::Error
};

// Registered SKUs, best first within each backend.
const std::vector<Sku>& host_skus();
const std::vector<Sku>& cuda_skus();  // empty in a host-only build
const Sku* find_sku(mhc_sku_t id);

}  // namespace mhc
