// a4_post CUDA SKU: one bandwidth kernel, 16-byte vectors where C and the pointers allow.
#include "../../ops/op_card.hpp"
#include "dynamic_glue.hpp"
#include "skus.hpp"

namespace mhc::cuda {

std::vector<Sku> skus_a4_post() {
  Sku s = dynamic_sku(card_a4_post, MHC_SKU_SM80_POST, "sm80_bf16_post_vec8", 80, /*gemm=*/false);
  s.run = [](const RunContext& c) { run_post(c, static_cast<uint16_t*>(c.args.out_residual)); };
  return {s};
}

}  // namespace mhc::cuda
