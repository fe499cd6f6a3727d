// b1_static_pre_backward CUDA SKUs: none yet (the host reference serves the op; select with MHC_BACKEND_CUDA alone
// answers MHC_STATUS_NOT_SUPPORTED).
#include "skus.hpp"

namespace mhc::cuda {

std::vector<Sku> skus_b1_static_pre_backward() { return {}; }

}  // namespace mhc::cuda
