// The host SKUs: one per op card, fp64 math, every guarantee (rows are computed independently).
// Id and name follow from the card: (1 << 16) | (op << 8), "host_fp64_<tag without prefix>".
#include <string>

#include "../plan/sku.hpp"
#include "fp_env.hpp"
#include "host_ops.hpp"

namespace mhc {
namespace {

mhc_precision_guarantee_t host_guarantee(const Problem& p) {
  mhc_guarantee_flags_t flags = MHC_GUARANTEE_DETERMINISTIC | MHC_GUARANTEE_BIT_STABLE | MHC_GUARANTEE_NO_ATOMICS;
  // Rows never depend on other rows, but a T-dependent default S changes A1's split boundaries.
  if (!p.s_from_tokens) flags |= MHC_GUARANTEE_BATCH_INVARIANT;
  return {sizeof(mhc_precision_guarantee_t), MHC_DTYPE_FP64, MHC_DTYPE_FP64, flags};
}

Sku host_sku(const OpCard& card, void (*run)(const RunContext&)) {
  Sku s{};
  s.id = host_sku_id(card.id);
  s.name = std::string("host_fp64_") + card.short_tag();
  s.backend = MHC_BACKEND_HOST;
  s.op = card.id;
  s.min_cc = 0;
  s.alignment = 0;
  s.guarantee = host_guarantee;
  s.supports = [](const Problem&, const DeviceInfo&) { return std::string(); };
  s.workspace_bytes = [](const Problem&) { return size_t{0}; };
  // The caller's rounding mode and flush-to-zero never reach the fp64 reference.
  s.run = [run](const RunContext& ctx) {
    host::DefaultFpEnv env;
    run(ctx);
  };
  return s;
}

}  // namespace

mhc_sku_t host_sku_id(mhc_op_t op) { return 0x00010000u | (static_cast<uint32_t>(op) << 8); }

const std::vector<Sku>& host_skus() {
  static const std::vector<Sku> skus = {
#define MHC_OP_CARD(tag) host_sku(card_##tag, host::run_##tag),
#include "../ops/op_list.def"
#undef MHC_OP_CARD
  };
  return skus;
}

}  // namespace mhc
