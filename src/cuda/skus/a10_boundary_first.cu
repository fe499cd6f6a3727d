// a10_boundary_first CUDA SKUs.
#include "skus.hpp"

namespace mhc::cuda {

std::vector<Sku> skus_a10_boundary_first() { return {}; }

}  // namespace mhc::cuda
