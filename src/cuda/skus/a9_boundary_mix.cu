// a9_boundary_mix CUDA SKUs.
#include "skus.hpp"

namespace mhc::cuda {

std::vector<Sku> skus_a9_boundary_mix() { return {}; }

}  // namespace mhc::cuda
