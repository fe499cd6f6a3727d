// a6_expand CUDA SKU: one copy kernel, 16-byte vectors where C and the pointers allow.
#include "../../ops/op_card.hpp"
#include "dynamic_glue.hpp"
#include "skus.hpp"

namespace mhc::cuda {

std::vector<Sku> skus_a6_expand() {
  Sku s = dynamic_sku(card_a6_expand, MHC_SKU_SM80_EXPAND, "sm80_bf16_expand_vec8", 80, /*gemm=*/false);
  s.run = [](const RunContext& c) { run_expand(c, static_cast<uint16_t*>(c.args.out_residual)); };
  return {s};
}

}  // namespace mhc::cuda
