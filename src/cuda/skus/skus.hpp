// Each op's CUDA SKUs, best first: skus_<tag>() in src/cuda/skus/<tag>.cu, one per op_list.def
// line (an empty list where an op has no CUDA SKU yet).
#pragma once

#include <vector>

#include "../../plan/sku.hpp"

namespace mhc::cuda {

#define MHC_OP_CARD(tag) std::vector<Sku> skus_##tag();
#include "../../ops/op_list.def"
#undef MHC_OP_CARD

// A CUDA SKU of `card`'s op; the caller fills in the functions.
Sku cuda_sku(const OpCard& card, mhc_sku_t id, const char* name, int min_cc);

}  // namespace mhc::cuda
