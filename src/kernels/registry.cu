// The CUDA SKUs, best first. select tries them in this order, before the host SKUs.
#include "../plan/sku.hpp"

namespace mhc {

const std::vector<Sku>& cuda_skus() {
  static const std::vector<Sku> skus = {};
  return skus;
}

}  // namespace mhc
