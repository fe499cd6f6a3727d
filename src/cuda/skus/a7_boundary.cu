// a7_boundary CUDA SKUs.
#include "skus.hpp"

namespace mhc::cuda {

std::vector<Sku> skus_a7_boundary() { return {}; }

}  // namespace mhc::cuda
