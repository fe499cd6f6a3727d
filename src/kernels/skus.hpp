// The CUDA SKU families; registry.cu lists them in priority order.
#pragma once

#include <vector>

#include "../plan/sku.hpp"

namespace mhc::cuda {

const std::vector<Sku>& dynamic_skus();  // family A (DeepSeek-V4 path): dynamic_skus.cu
const std::vector<Sku>& static_skus();   // family B (static-H layer): static_skus.cu

}  // namespace mhc::cuda
