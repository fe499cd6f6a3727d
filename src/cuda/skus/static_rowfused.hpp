// The static-H row-fused SKUs (B1 pre, B2 post, B3 layer): one persistent kernel per run.
#pragma once

#include <cstdint>
#include <string>

#include "../../plan/sku.hpp"
#include "../launch.cuh"

namespace mhc::cuda {

// Kernel modes (the kernels' static_hc::Mode).
constexpr int kStaticPreMode = 0, kStaticPostMode = 1, kStaticLayerMode = 2;

// A row-fused SKU of `card` running kernel `mode`; `single_stage`: one row buffer per row slot
// (no copy/compute overlap inside a CTA; more CTAs per SM instead), the same bits.
Sku static_sku(const OpCard& card, mhc_sku_t id, const char* name, int mode, bool single_stage);

// Shared by every static-H SKU, forward and backward (static_backward.cu): the guarantee
// (deterministic, bit-stable, batch-invariant, no atomics; fp32 math) and the support check
// (a static-H op, n = 1..32, C <= 2^30, fp32 or bf16 activations).
mhc_precision_guarantee_t static_guarantee(const Problem&);
std::string static_supports(const Problem& p, const DeviceInfo&);

// Resident CTAs of kernel f per SM at `threads` and `smem` bytes of dynamic shared memory, after
// raising its opt-in limit to the device's (once per kernel and device, so that no run lowers it
// under another's feet); cached per (kernel, device, block, smem): no device work, nothing a
// stream capture forbids. Fails (status) when not even one CTA fits.
int blocks_per_sm(const void* f, const DeviceInfo& dev, int threads, size_t smem);

}  // namespace mhc::cuda
