// The CUDA SKUs, best first. select tries them in this order, before the host SKUs.
#include "../plan/sku.hpp"
#include "skus.hpp"

namespace mhc {

const std::vector<Sku>& cuda_skus() {
  static const std::vector<Sku> skus = [] {
    std::vector<Sku> all;
    for (const auto* family : {&cuda::dynamic_skus(), &cuda::static_skus()})
      all.insert(all.end(), family->begin(), family->end());
    return all;
  }();
  return skus;
}

}  // namespace mhc
