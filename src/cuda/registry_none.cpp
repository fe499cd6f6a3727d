// The host-only build (MHC_ENABLE_CUDA=OFF) registers no CUDA SKUs.
#include "../plan/sku.hpp"

namespace mhc {

const std::vector<Sku>& cuda_skus() {
  static const std::vector<Sku> none;
  return none;
}

}  // namespace mhc
