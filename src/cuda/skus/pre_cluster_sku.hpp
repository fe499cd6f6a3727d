// a3_pre and a7_boundary: the decode cluster kernel (src/cuda/kernels/sm90_f32_pre_cluster.cuh) as
// SKUs: pre, and the whole layer boundary in one launch (then the RMSNorm's kernel).
#pragma once

#include <string>

#include "../../plan/sku.hpp"

namespace mhc::cuda {

// Empty when the decode cluster kernel serves `plan` on `dev` (any T: forced plans; `boundary`: the
// whole layer boundary in the launch); else why not (batch invariance is refused by the SKUs).
std::string pre_cluster_limits(const Problem& plan, const DeviceInfo& dev, bool boundary = false);
// Runs the kernel on c.args (its residual, fn, scale, base and the outputs fuse_params names).
void run_pre_cluster(const RunContext& c);

// The A7 boundary (V4 or shifted) in one launch of the kernel, then the RMSNorm's kernel when
// asked (every [*, C] tensor 16-byte aligned).
void run_boundary_cluster(const RunContext& c);

// A3's SKU: the kernel for runs whose residual, fn and layer input are 16-byte aligned, `fallback`
// for the others.
Sku pre_cluster_sku(const OpCard& card, mhc_sku_t id, const char* name, Sku fallback);
// A7's SKU: run_boundary_cluster where the run's tensors are 16-byte aligned, `fallback` (the
// two-pass boundary) for the others.
Sku boundary_cluster_sku(const OpCard& card, mhc_sku_t id, const char* name, Sku fallback);

}  // namespace mhc::cuda
