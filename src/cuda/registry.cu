// The CUDA SKUs, in op_list.def order, best first within each op. select tries them before the
// host SKUs.
#include "../plan/sku.hpp"
#include "skus/skus.hpp"

namespace mhc {

namespace cuda {

Sku cuda_sku(const OpCard& card, mhc_sku_t id, const char* name, int min_cc) {
  Sku s{};
  s.id = id;
  s.name = name;
  s.backend = MHC_BACKEND_CUDA;
  s.op = card.id;
  s.min_cc = min_cc;
  s.alignment = 0;
  s.supports = [](const Problem&, const DeviceInfo&) { return std::string(); };
  s.workspace_bytes = [](const Problem&) { return size_t{0}; };
  return s;
}

}  // namespace cuda

const std::vector<Sku>& cuda_skus() {
  static const std::vector<Sku> skus = [] {
    std::vector<Sku> all;
#define MHC_OP_CARD(tag)                    \
  for (Sku& s : cuda::skus_##tag()) all.push_back(std::move(s));
#include "../ops/op_list.def"
#undef MHC_OP_CARD
    return all;
  }();
  return skus;
}

}  // namespace mhc
