// The static-H row-fused SKUs (B1 pre, B2 post, B3 layer): one persistent kernel per run.
#pragma once

#include "../../plan/sku.hpp"

namespace mhc::cuda {

// Kernel modes (the kernels' static_hc::Mode).
constexpr int kStaticPreMode = 0, kStaticPostMode = 1, kStaticLayerMode = 2;

// A row-fused SKU of `card` running kernel `mode`; `single_stage`: one row buffer per row slot
// (no copy/compute overlap inside a CTA; more CTAs per SM instead), the same bits.
Sku static_sku(const OpCard& card, mhc_sku_t id, const char* name, int mode, bool single_stage);

}  // namespace mhc::cuda
