// a8_boundary_collapse CUDA SKUs.
#include "skus.hpp"

namespace mhc::cuda {

std::vector<Sku> skus_a8_boundary_collapse() { return {}; }

}  // namespace mhc::cuda
