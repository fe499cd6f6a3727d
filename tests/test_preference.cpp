// mhc_preference_t in mhc_plan_select: backends, required guarantees, forced SKUs, and the
// batch-invariant split policy (S resolved from K alone).
#include "op_buffers.hpp"

using namespace mhc_test;

namespace {

int32_t device_count() {
  int32_t count = -1;
  REQUIRE(mhc_cuda_device_count(&count) == MHC_STATUS_SUCCESS);
  REQUIRE(count >= 0);
  return count;
}

void require_rejected(const mhc_desc_t& d, const mhc_preference_t& pref, mhc_status_t status, const char* needle) {
  int dummy = 0;
  mhc_plan_t plan = reinterpret_cast<mhc_plan_t>(&dummy);
  REQUIRE_STATUS(mhc_plan_select(&d, &pref, &plan), status, needle);
  CHECK(plan == nullptr);
}

mhc_sku_t selected_sku(const mhc_desc_t& d, const mhc_preference_t* pref) {
  mhc_plan_t plan = nullptr;
  REQUIRE_OK(mhc_plan_select(&d, pref, &plan));
  mhc_sku_t sku = 0;
  REQUIRE_OK(mhc_plan_get_sku(plan, &sku));
  REQUIRE_OK(mhc_plan_destroy(plan));
  return sku;
}

}  // namespace

TEST_CASE("preference: bad fields", "[preference]") {
  const mhc_desc_t d = make_desc(MHC_OP_PRE, 4, 4, 72);
  mhc_preference_t pref;
  REQUIRE_OK(mhc_preference_init(&pref));
  for (mhc_backend_mask_t b : {0x0u, 0x4u, 0x7u, 0x80000000u}) {
    INFO("backends " << b);
    mhc_preference_t p = pref;
    p.backends = b;
    require_rejected(d, p, MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM, "pref->backends");
  }
  for (mhc_guarantee_flags_t r : {0x10u, 0x1fu, 0x80000000u}) {
    INFO("required " << r);
    mhc_preference_t p = pref;
    p.required = r;
    require_rejected(d, p, MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM, "pref->required");
  }
  for (mhc_sku_t s : {0x1u, 0x00010b00u, 0x00010301u, 0x00010701u, 0xffffffffu}) {
    INFO("forced_sku " << s);
    mhc_preference_t p = pref;
    p.forced_sku = s;
    require_rejected(d, p, MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM, "pref->forced_sku");
  }
}

TEST_CASE("preference: forced SKUs", "[preference]") {
  mhc_preference_t pref;
  REQUIRE_OK(mhc_preference_init(&pref));
  for (const OpVariant& v : all_variants()) {
    INFO(v.name);
    const mhc_desc_t d = v.desc(3);
    mhc_preference_t p = pref;
    p.forced_sku = v.sku;
    CHECK(selected_sku(d, &p) == v.sku);
    p.backends = MHC_BACKEND_HOST;
    CHECK(selected_sku(d, &p) == v.sku);
    // A host SKU forced while only CUDA is allowed.
    p.backends = MHC_BACKEND_CUDA;
    require_rejected(d, p, MHC_STATUS_NOT_SUPPORTED_SKU, "pref->forced_sku");
    CHECK(last_error().find("pref->backends") != std::string::npos);
  }
  // The SKU of another op.
  const mhc_desc_t pre = make_desc(MHC_OP_PRE, 3, 4, 72);
  for (mhc_sku_t other : {MHC_SKU_HOST_PRENORM_GEMM, MHC_SKU_HOST_PRE_FUSE, MHC_SKU_HOST_POST, MHC_SKU_HOST_HEAD,
                          MHC_SKU_HOST_EXPAND, MHC_SKU_HOST_BOUNDARY, MHC_SKU_HOST_BOUNDARY_COLLAPSE,
                          MHC_SKU_HOST_BOUNDARY_MIX, MHC_SKU_HOST_BOUNDARY_FIRST, MHC_SKU_HOST_STATIC_PRE,
                          MHC_SKU_HOST_STATIC_POST, MHC_SKU_HOST_STATIC_LAYER}) {
    INFO("forced " << mhc_sku_name(other));
    mhc_preference_t p = pref;
    p.forced_sku = other;
    require_rejected(pre, p, MHC_STATUS_NOT_SUPPORTED_SKU, "pref->forced_sku");
    CHECK(last_error().find("MHC_OP_PRE") != std::string::npos);
  }
}

TEST_CASE("preference: backends on a machine without a CUDA device", "[preference]") {
  if (device_count() != 0) {
    WARN("a CUDA device is present: the no-device paths are not exercised here");
    return;
  }
  for (const OpVariant& v : all_variants()) {
    INFO(v.name);
    const mhc_desc_t d = v.desc(3);
    mhc_preference_t p;
    REQUIRE_OK(mhc_preference_init(&p));
    CHECK(p.backends == MHC_BACKEND_ANY);
    CHECK(selected_sku(d, &p) == v.sku);        // ANY falls back to the host SKU
    CHECK(selected_sku(d, nullptr) == v.sku);   // so does the default preference
    p.backends = MHC_BACKEND_CUDA | MHC_BACKEND_HOST;
    CHECK(selected_sku(d, &p) == v.sku);
    p.backends = MHC_BACKEND_CUDA;
    require_rejected(d, p, MHC_STATUS_NOT_SUPPORTED_NO_DEVICE, "no CUDA device");
  }
}

TEST_CASE("preference: host plans meet every guarantee and need no workspace", "[preference]") {
  for (const OpVariant& v : all_variants()) {
    INFO(v.name);
    const mhc_desc_t d = v.desc(3);
    mhc_preference_t p = host_only();
    p.required = MHC_GUARANTEE_DETERMINISTIC | MHC_GUARANTEE_BIT_STABLE | MHC_GUARANTEE_BATCH_INVARIANT |
                 MHC_GUARANTEE_NO_ATOMICS;
    p.max_workspace_bytes = 0;
    mhc_plan_t plan = nullptr;
    REQUIRE_OK(mhc_plan_select(&d, &p, &plan));
    mhc_precision_guarantee_t g;
    g.struct_size = sizeof g;
    REQUIRE_OK(mhc_plan_get_precision_guarantee(plan, &g));
    CHECK((g.flags & p.required) == p.required);
    REQUIRE_OK(mhc_plan_destroy(plan));
  }
}

TEST_CASE("preference: requiring batch invariance resolves S from K alone", "[preference]") {
  const mhc_op_t op = GENERATE(MHC_OP_PRENORM_GEMM, MHC_OP_PRE);
  // K = 4 * 512 = 2048: G = 32 granules. Token default: 32 (T <= 64) or 16; from K: G / 8 = 4.
  struct Row {
    int64_t T;
    bool invariant;
    int32_t S;
    bool flag;
  };
  const Row rows[] = {{2, false, 32, false}, {64, false, 32, false}, {65, false, 16, false},
                      {100, false, 16, false}, {2, true, 4, true}, {100, true, 4, true}};
  for (const Row& r : rows) {
    INFO("T " << r.T << (r.invariant ? " batch-invariant" : ""));
    const mhc_desc_t d = make_desc(op, r.T, 4, 512);
    mhc_preference_t p = host_only();
    if (r.invariant) p.required = MHC_GUARANTEE_BATCH_INVARIANT;
    mhc_plan_t plan = nullptr;
    REQUIRE_OK(mhc_plan_select(&d, &p, &plan));
    CHECK(plan_desc(plan).num_splits == r.S);
    mhc_precision_guarantee_t g;
    g.struct_size = sizeof g;
    REQUIRE_OK(mhc_plan_get_precision_guarantee(plan, &g));
    CHECK(((g.flags & MHC_GUARANTEE_BATCH_INVARIANT) != 0) == r.flag);
    REQUIRE_OK(mhc_plan_destroy(plan));
  }
  // A caller's explicit S is kept, and is batch-invariant with or without the requirement.
  for (bool invariant : {false, true}) {
    mhc_desc_t d = make_desc(op, 2, 4, 512);
    d.num_splits = 7;
    mhc_preference_t p = host_only();
    if (invariant) p.required = MHC_GUARANTEE_BATCH_INVARIANT;
    mhc_plan_t plan = nullptr;
    REQUIRE_OK(mhc_plan_select(&d, &p, &plan));
    CHECK(plan_desc(plan).num_splits == 7);
    mhc_precision_guarantee_t g;
    g.struct_size = sizeof g;
    REQUIRE_OK(mhc_plan_get_precision_guarantee(plan, &g));
    CHECK((g.flags & MHC_GUARANTEE_BATCH_INVARIANT) != 0);
    REQUIRE_OK(mhc_plan_destroy(plan));
  }
  // A small K: G / 8 rounds to 0, S is at least 1; and S never exceeds G.
  mhc_preference_t p = host_only();
  p.required = MHC_GUARANTEE_BATCH_INVARIANT;
  mhc_plan_t plan = nullptr;
  const mhc_desc_t small = make_desc(op, 2, 2, 40);  // K = 80: 2 granules
  REQUIRE_OK(mhc_plan_select(&small, &p, &plan));
  CHECK(plan_desc(plan).num_splits == 1);
  REQUIRE_OK(mhc_plan_destroy(plan));
  const mhc_desc_t tiny = make_desc(op, 2, 1, 10);  // K = 10: 1 granule; token default 32 -> 1
  p.required = 0;
  REQUIRE_OK(mhc_plan_select(&tiny, &p, &plan));
  CHECK(plan_desc(plan).num_splits == 1);
  REQUIRE_OK(mhc_plan_destroy(plan));
}

#ifdef MHC_SKU_SM80_POST
TEST_CASE("preference: a forced CUDA SKU", "[preference]") {
  const mhc_desc_t d = make_desc(MHC_OP_POST, 4, 4, 72);
  mhc_preference_t p;
  REQUIRE_OK(mhc_preference_init(&p));
  p.forced_sku = MHC_SKU_SM80_POST;
  if (mhc_sku_name(MHC_SKU_SM80_POST) == nullptr) {  // a host-only build does not know it
    require_rejected(d, p, MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM, "pref->forced_sku");
    return;
  }
  p.backends = MHC_BACKEND_HOST;
  require_rejected(d, p, MHC_STATUS_NOT_SUPPORTED_SKU, "pref->forced_sku");
  CHECK(last_error().find("pref->backends") != std::string::npos);
  if (device_count() == 0) {
    p.backends = MHC_BACKEND_ANY;  // forcing a CUDA SKU means CUDA, even under ANY
    require_rejected(d, p, MHC_STATUS_NOT_SUPPORTED_NO_DEVICE, "no CUDA device");
  }
}
#endif
