// A kernel SKU: one implementation of one op on one backend, with what it can do, what it needs
// and what it promises. Each op's SKUs are registered with their op-specific settings bound in
// (src/host/registry.cpp, src/cuda/skus/<tag>.cu); select picks among them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "../ops/problem.hpp"
#include "../runtime/device.hpp"
#include "mhc/mhc.h"

namespace mhc {

struct RunContext {
  const Problem& problem;       // this run: T = args.tokens (every other field the plan's)
  const Problem& plan_problem;  // as selected: T = desc.tokens, what the workspace was sized for
  const mhc_args_t& args;
  void* stream;                 // cudaStream_t (CUDA SKUs)
  void* workspace;              // the caller's workspace or the plan's scratch
  const DeviceInfo& device;
};

struct Sku {
  mhc_sku_t id;
  std::string name;
  mhc_backend_mask_t backend;   // MHC_BACKEND_CUDA or MHC_BACKEND_HOST
  mhc_op_t op;
  int min_cc;                   // CUDA: lowest compute capability * 10; 0 for host
  size_t alignment;             // every tensor pointer's alignment in bytes (0: natural)
  // What the SKU promises for this problem (flags may depend on how S was chosen).
  std::function<mhc_precision_guarantee_t(const Problem&)> guarantee;
  // Empty string when the SKU can run the problem, else the reason it cannot.
  std::function<std::string(const Problem&, const DeviceInfo&)> supports;
  // Workspace for a plan of this problem (T = desc.tokens): enough for every run-time T.
  std::function<size_t(const Problem&)> workspace_bytes;
  std::function<void(const RunContext&)> run;  // throws mhc::Error
  bool varies_tokens = true;    // runs any 1 <= args.tokens <= desc.tokens
  int64_t default_min_tokens = 0;  // unforced selection skips it for plans of fewer tokens
  int64_t default_max_tokens = INT64_MAX;  // ... and for plans of more tokens
};

// Registered SKUs, best first within each backend; built from op_list.def.
const std::vector<Sku>& host_skus();
mhc_sku_t host_sku_id(mhc_op_t op);  // the host SKU of an op: (1 << 16) | (op << 8)
const std::vector<Sku>& cuda_skus();  // empty in a host-only build
const Sku* find_sku(mhc_sku_t id);

}  // namespace mhc
