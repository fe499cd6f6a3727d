// The host SKUs: one per op, fp64 math, every guarantee (rows are computed independently).
#include "../plan/sku.hpp"
#include "host_ops.hpp"

namespace mhc {
namespace {

mhc_precision_guarantee_t host_guarantee(const Problem& p) {
  mhc_guarantee_flags_t flags = MHC_GUARANTEE_DETERMINISTIC | MHC_GUARANTEE_BIT_STABLE | MHC_GUARANTEE_NO_ATOMICS;
  // Rows never depend on other rows, but a T-dependent default S changes A1's split boundaries.
  if (!p.s_from_tokens) flags |= MHC_GUARANTEE_BATCH_INVARIANT;
  return {sizeof(mhc_precision_guarantee_t), MHC_DTYPE_FP64, MHC_DTYPE_FP64, flags};
}

std::string host_supports(const Problem&, const DeviceInfo&) { return {}; }
size_t no_workspace(const Problem&) { return 0; }

Sku host_sku(mhc_sku_t id, const char* name, mhc_op_t op, void (*run)(const RunContext&)) {
  return Sku{id, name, MHC_BACKEND_HOST, op, 0, 0, host_guarantee, host_supports, no_workspace, run};
}

}  // namespace

const std::vector<Sku>& host_skus() {
  static const std::vector<Sku> skus = {
      host_sku(MHC_SKU_HOST_PRENORM_GEMM, "host_fp64_prenorm_gemm", MHC_OP_PRENORM_GEMM, host::prenorm_gemm),
      host_sku(MHC_SKU_HOST_PRE_FUSE, "host_fp64_pre_fuse", MHC_OP_PRE_FUSE, host::pre_fuse),
      host_sku(MHC_SKU_HOST_PRE, "host_fp64_pre", MHC_OP_PRE, host::pre),
      host_sku(MHC_SKU_HOST_POST, "host_fp64_post", MHC_OP_POST, host::post),
      host_sku(MHC_SKU_HOST_HEAD, "host_fp64_head", MHC_OP_HEAD, host::head),
      host_sku(MHC_SKU_HOST_EXPAND, "host_fp64_expand", MHC_OP_EXPAND, host::expand),
      host_sku(MHC_SKU_HOST_STATIC_PRE, "host_fp64_static_pre", MHC_OP_STATIC_PRE, host::static_pre),
      host_sku(MHC_SKU_HOST_STATIC_POST, "host_fp64_static_post", MHC_OP_STATIC_POST, host::static_post),
      host_sku(MHC_SKU_HOST_STATIC_LAYER, "host_fp64_static_layer", MHC_OP_STATIC_LAYER, host::static_layer),
  };
  return skus;
}

}  // namespace mhc
