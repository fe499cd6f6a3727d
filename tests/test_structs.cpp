// The versioned ABI structs: pinned layouts, init macros == init functions, and the struct_size
// rule (smaller: rejected; larger with a zero tail: accepted; larger with a non-zero tail:
// rejected) for every struct the library reads, and for the ones it writes.
#include <cstddef>
#include <type_traits>

#include "op_buffers.hpp"

using namespace mhc_test;

// The layout is the ABI: any change here is an incompatible change (MHC_ABI_VERSION).
static_assert(sizeof(mhc_desc_t) == 80, "mhc_desc_t layout");
static_assert(offsetof(mhc_desc_t, norm_eps) == 72 && offsetof(mhc_desc_t, norm_scale) == 76,
              "mhc_desc_t layout (0.3 growth)");
static_assert(offsetof(mhc_desc_t, tokens) == 8 && offsetof(mhc_desc_t, hidden) == 16, "mhc_desc_t layout");
static_assert(offsetof(mhc_desc_t, n) == 24 && offsetof(mhc_desc_t, flags) == 44, "mhc_desc_t layout");
static_assert(offsetof(mhc_desc_t, rms_eps) == 48 && offsetof(mhc_desc_t, reserved0) == 68, "mhc_desc_t layout");
static_assert(sizeof(mhc_preference_t) == 24, "mhc_preference_t layout");
static_assert(offsetof(mhc_preference_t, max_workspace_bytes) == 8, "mhc_preference_t layout");
static_assert(offsetof(mhc_preference_t, forced_sku) == 20, "mhc_preference_t layout");
static_assert(sizeof(mhc_precision_guarantee_t) == 16, "mhc_precision_guarantee_t layout");
static_assert(sizeof(mhc_args_t) ==
                  8 + 21 * sizeof(void*) + 8 + 2 * sizeof(void*) + 12 * sizeof(void*) + 8 + 4 * sizeof(void*),
              "mhc_args_t layout");
static_assert(offsetof(mhc_args_t, pre_mix) == 8 + 21 * sizeof(void*) + 8 &&
                  offsetof(mhc_args_t, out_pre_mix) == 8 + 22 * sizeof(void*) + 8,
              "mhc_args_t layout (0.3 growth)");
static_assert(offsetof(mhc_args_t, grad_residual) == 8 + 23 * sizeof(void*) + 8 &&
                  offsetof(mhc_args_t, grad_comb_mix) == 8 + 26 * sizeof(void*) + 8 &&
                  offsetof(mhc_args_t, out_grad_residual) == 8 + 27 * sizeof(void*) + 8 &&
                  offsetof(mhc_args_t, out_grad_base) == 8 + 34 * sizeof(void*) + 8 &&
                  offsetof(mhc_args_t, grad_accumulate) == 8 + 35 * sizeof(void*) + 8 &&
                  offsetof(mhc_args_t, reserved1) == 8 + 35 * sizeof(void*) + 12,
              "mhc_args_t layout (0.4 growth)");
static_assert(offsetof(mhc_args_t, out_grad_h_pre) == 8 + 35 * sizeof(void*) + 16 &&
                  offsetof(mhc_args_t, out_grad_h_post) == 8 + 36 * sizeof(void*) + 16 &&
                  offsetof(mhc_args_t, out_grad_h_res) == 8 + 37 * sizeof(void*) + 16 &&
                  offsetof(mhc_args_t, out_grad_norm_weight) == 8 + 38 * sizeof(void*) + 16,
              "mhc_args_t layout (0.5 growth)");
static_assert(offsetof(mhc_args_t, residual) == 8, "mhc_args_t layout");
static_assert(offsetof(mhc_args_t, out_gemm) == 8 + 14 * sizeof(void*), "mhc_args_t layout");
static_assert(offsetof(mhc_args_t, out_rms) == 8 + 20 * sizeof(void*), "mhc_args_t layout");
static_assert(offsetof(mhc_args_t, tokens) == 8 + 21 * sizeof(void*), "mhc_args_t layout (0.2 growth)");
static_assert(sizeof(mhc_tensor_info_t) == 72 && offsetof(mhc_tensor_info_t, field) == 8, "mhc_tensor_info_t layout");
static_assert(offsetof(mhc_tensor_info_t, shape) == 32 && offsetof(mhc_tensor_info_t, token_dim) == 64,
              "mhc_tensor_info_t layout");
static_assert(std::is_same<mhc_status_t, int32_t>::value && std::is_same<mhc_op_t, int32_t>::value &&
                  std::is_same<mhc_dtype_t, int32_t>::value && std::is_same<mhc_sku_t, uint32_t>::value &&
                  std::is_same<mhc_backend_mask_t, uint32_t>::value &&
                  std::is_same<mhc_guarantee_flags_t, uint32_t>::value,
              "no C enum crosses the ABI");

namespace {

// A struct followed by `extra` bytes, as a newer caller would pass it.
template <typename T>
struct Grown {
  T s;
  unsigned char tail[32];
};

// c's args as an older caller passes them: its first `size` bytes and struct_size = size; the
// bytes after them (fields of a newer header) hold 0x77, which the library must never read.
Grown<mhc_args_t> older_args(OpCase& c, size_t size) {
  Grown<mhc_args_t> g;
  std::memset(&g, 0x77, sizeof g);
  const mhc_args_t a = c.args();
  std::memcpy(&g.s, &a, size);
  g.s.struct_size = static_cast<uint32_t>(size);
  return g;
}

mhc_plan_t select_ok(const mhc_desc_t* d, const mhc_preference_t* p) {
  mhc_plan_t plan = nullptr;
  REQUIRE_OK(mhc_plan_select(d, p, &plan));
  return plan;
}

}  // namespace

TEST_CASE("structs: init macros equal the init functions", "[structs]") {
  const mhc_desc_t macro_desc = MHC_DESC_INIT;
  mhc_desc_t fn_desc;
  std::memset(&fn_desc, 0x5a, sizeof fn_desc);
  REQUIRE_OK(mhc_desc_init(&fn_desc, MHC_OP_PRE));
  CHECK(fn_desc.op == MHC_OP_PRE);
  fn_desc.op = macro_desc.op;
  CHECK(std::memcmp(&macro_desc, &fn_desc, sizeof fn_desc) == 0);
  // Family B defaults to the Tier-1 fp32 activations; the macro cannot know the op.
  for (mhc_op_t op : {MHC_OP_STATIC_PRE, MHC_OP_STATIC_POST, MHC_OP_STATIC_LAYER}) {
    REQUIRE_OK(mhc_desc_init(&fn_desc, op));
    CHECK(fn_desc.act_dtype == MHC_DTYPE_FP32);
  }
  // docs/numerics.md defaults.
  CHECK(macro_desc.struct_size == sizeof(mhc_desc_t));
  CHECK(macro_desc.n == 4);
  CHECK(macro_desc.num_splits == 0);
  CHECK(macro_desc.act_dtype == MHC_DTYPE_BF16);
  CHECK(macro_desc.weight_precision == MHC_DTYPE_TF32);
  CHECK(macro_desc.sinkhorn_repeat == 20);
  CHECK(macro_desc.flags == 0u);
  CHECK(macro_desc.rms_eps == 1e-6f);
  CHECK(macro_desc.pre_eps == 1e-6f);
  CHECK(macro_desc.sinkhorn_eps == 1e-6f);
  CHECK(macro_desc.post_mult == 2.0f);
  CHECK(macro_desc.static_eps == 1e-5f);
  CHECK(macro_desc.reserved0 == 0u);

  const mhc_preference_t macro_pref = MHC_PREFERENCE_INIT;
  mhc_preference_t fn_pref;
  std::memset(&fn_pref, 0x5a, sizeof fn_pref);
  REQUIRE_OK(mhc_preference_init(&fn_pref));
  CHECK(std::memcmp(&macro_pref, &fn_pref, sizeof fn_pref) == 0);
  CHECK(fn_pref.struct_size == sizeof(mhc_preference_t));
  CHECK(fn_pref.backends == MHC_BACKEND_ANY);
  CHECK(fn_pref.max_workspace_bytes == UINT64_MAX);
  CHECK(fn_pref.required == 0u);
  CHECK(fn_pref.forced_sku == MHC_SKU_NONE);

  const mhc_args_t macro_args = MHC_ARGS_INIT;
  mhc_args_t fn_args;
  std::memset(&fn_args, 0x5a, sizeof fn_args);
  REQUIRE_OK(mhc_args_init(&fn_args));
  CHECK(std::memcmp(&macro_args, &fn_args, sizeof fn_args) == 0);
  mhc_args_t zero;
  std::memset(&zero, 0, sizeof zero);
  zero.struct_size = sizeof zero;
  CHECK(std::memcmp(&zero, &fn_args, sizeof fn_args) == 0);
}

TEST_CASE("structs: the sized init functions write only the caller's struct", "[structs]") {
  // A buffer larger than any struct, filled with a sentinel: nothing past `size` may change.
  constexpr unsigned char kSentinel = 0xa5;
  unsigned char buf[512];
  mhc_desc_t full;
  REQUIRE_OK(mhc_desc_init(&full, MHC_OP_BOUNDARY));
  for (size_t size : {size_t{72}, sizeof(mhc_desc_t), sizeof(mhc_desc_t) + 24}) {
    INFO("desc size " << size);
    std::memset(buf, kSentinel, sizeof buf);
    REQUIRE_OK(mhc_desc_init_sized(reinterpret_cast<mhc_desc_t*>(buf), size, MHC_OP_BOUNDARY));
    uint32_t got_size;
    std::memcpy(&got_size, buf, 4);
    CHECK(got_size == size);
    const size_t known = std::min(size, sizeof(mhc_desc_t));
    CHECK(std::memcmp(buf + 4, reinterpret_cast<const unsigned char*>(&full) + 4, known - 4) == 0);
    for (size_t i = known; i < size; ++i) CHECK(buf[i] == 0);  // a newer header's fields read as 0
    for (size_t i = size; i < sizeof buf; ++i) REQUIRE(buf[i] == kSentinel);
  }
  mhc_args_t zero_args;
  std::memset(&zero_args, 0, sizeof zero_args);
  for (size_t size : {size_t{176}, size_t{184}, offsetof(mhc_args_t, grad_residual),
                      offsetof(mhc_args_t, out_grad_h_pre), sizeof(mhc_args_t), sizeof(mhc_args_t) + 16}) {
    INFO("args size " << size);
    std::memset(buf, kSentinel, sizeof buf);
    REQUIRE_OK(mhc_args_init_sized(reinterpret_cast<mhc_args_t*>(buf), size));
    uint32_t got_size;
    std::memcpy(&got_size, buf, 4);
    CHECK(got_size == size);
    for (size_t i = 4; i < size; ++i) CHECK(buf[i] == 0);
    for (size_t i = size; i < sizeof buf; ++i) REQUIRE(buf[i] == kSentinel);
  }
  // Too small, too large, an unknown op or NULL: a status, and nothing written.
  std::memset(buf, kSentinel, sizeof buf);
  REQUIRE_STATUS(mhc_desc_init_sized(reinterpret_cast<mhc_desc_t*>(buf), 71, MHC_OP_PRE), MHC_STATUS_BAD_PARAM_STRUCT_SIZE,
                 "struct_size = 71");
  REQUIRE_STATUS(mhc_desc_init_sized(reinterpret_cast<mhc_desc_t*>(buf), 1 << 20, MHC_OP_PRE),
                 MHC_STATUS_BAD_PARAM_STRUCT_SIZE, "struct_size");
  REQUIRE_STATUS(mhc_desc_init_sized(reinterpret_cast<mhc_desc_t*>(buf), sizeof(mhc_desc_t), 99),
                 MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM, "op = 99");
  REQUIRE_STATUS(mhc_args_init_sized(reinterpret_cast<mhc_args_t*>(buf), 175), MHC_STATUS_BAD_PARAM_STRUCT_SIZE,
                 "struct_size = 175");
  for (unsigned char b : buf) REQUIRE(b == kSentinel);
  REQUIRE_STATUS(mhc_desc_init_sized(nullptr, sizeof(mhc_desc_t), MHC_OP_PRE), MHC_STATUS_BAD_PARAM_NULL_POINTER, "desc");
  REQUIRE_STATUS(mhc_args_init_sized(nullptr, sizeof(mhc_args_t)), MHC_STATUS_BAD_PARAM_NULL_POINTER, "args");
  // A 72-byte desc from the sized init selects a plan (the norm fields read as 0: unused).
  mhc_desc_t small;
  std::memset(&small, 0, sizeof small);
  REQUIRE_OK(mhc_desc_init_sized(&small, 72, MHC_OP_PRE));
  small.tokens = 2, small.hidden = 16;
  const mhc_preference_t hp = host_only();
  mhc_plan_t plan = nullptr;
  REQUIRE_OK(mhc_plan_select(&small, &hp, &plan));
  mhc_plan_destroy(plan);
}

TEST_CASE("structs: desc struct_size", "[structs]") {
  const mhc_preference_t pref = host_only();
  // 72 bytes (up to reserved0) is the 0.1/0.2 struct, the smallest published.
  for (uint32_t size : {0u, 4u, 8u, static_cast<uint32_t>(offsetof(mhc_desc_t, reserved0)),
                        static_cast<uint32_t>(offsetof(mhc_desc_t, norm_eps) - 1)}) {
    INFO("struct_size " << size);
    mhc_desc_t d = make_desc(MHC_OP_PRE, 2, 4, 72);
    d.struct_size = size;
    mhc_plan_t plan = reinterpret_cast<mhc_plan_t>(&d);
    REQUIRE_STATUS(mhc_plan_select(&d, &pref, &plan), MHC_STATUS_BAD_PARAM_STRUCT_SIZE, "desc->struct_size");
    CHECK(plan == nullptr);
  }
  Grown<mhc_desc_t> g;
  std::memset(&g, 0, sizeof g);
  g.s = make_desc(MHC_OP_PRE, 2, 4, 72);
  g.s.struct_size = sizeof g;
  mhc_plan_t plan = select_ok(&g.s, &pref);  // a zero tail is accepted
  const mhc_desc_t got = plan_desc(plan);
  CHECK(got.struct_size == sizeof(mhc_desc_t));
  CHECK(got.tokens == 2);
  REQUIRE_OK(mhc_plan_destroy(plan));
  for (size_t i : {size_t{0}, size_t{17}, sizeof g.tail - 1}) {
    INFO("non-zero tail byte " << i);
    g.tail[i] = 1;
    plan = reinterpret_cast<mhc_plan_t>(&g);
    REQUIRE_STATUS(mhc_plan_select(&g.s, &pref, &plan), MHC_STATUS_BAD_PARAM_STRUCT_SIZE, "desc->struct_size");
    CHECK(plan == nullptr);
    g.tail[i] = 0;
  }
  g.tail[20] = 1;  // a non-zero byte past struct_size is not the library's business
  g.s.struct_size = sizeof(mhc_desc_t) + 8;
  plan = select_ok(&g.s, &pref);
  REQUIRE_OK(mhc_plan_destroy(plan));
}

TEST_CASE("structs: a 0.2 desc (72 bytes, before norm_eps) is accepted and zero-extended", "[structs]") {
  const mhc_preference_t pref = host_only();
  for (mhc_op_t op : {MHC_OP_PRE, MHC_OP_BOUNDARY, MHC_OP_BOUNDARY_COLLAPSE}) {
    INFO("op " << op);
    mhc_desc_t d;
    std::memset(&d, 0x5a, sizeof d);  // bytes past the old struct_size are never read
    const mhc_desc_t full = make_desc(op, 2, 4, 72);
    std::memcpy(&d, &full, offsetof(mhc_desc_t, norm_eps));
    d.struct_size = offsetof(mhc_desc_t, norm_eps);
    mhc_plan_t plan = select_ok(&d, &pref);
    const mhc_desc_t got = plan_desc(plan);
    CHECK(got.struct_size == sizeof(mhc_desc_t));
    CHECK(got.tokens == 2);
    CHECK(got.norm_eps == 0.0f);  // zero-extended: read only with MHC_DESC_FLAG_NORM
    CHECK(got.norm_scale == 0.0f);
    // A 0.2 caller reads the descriptor back into its 72-byte struct: nothing past it is written.
    struct {
      mhc_desc_t s;
      unsigned char tail[8];
    } out;
    std::memset(&out, 0x66, sizeof out);
    out.s.struct_size = offsetof(mhc_desc_t, norm_eps);
    REQUIRE_OK(mhc_plan_get_desc(plan, &out.s));
    CHECK(out.s.struct_size == offsetof(mhc_desc_t, norm_eps));
    CHECK(out.s.tokens == 2);
    CHECK(out.s.op == op);
    const auto* bytes = reinterpret_cast<const unsigned char*>(&out);
    for (size_t i = offsetof(mhc_desc_t, norm_eps); i < sizeof out; ++i) CHECK(bytes[i] == 0x66);
    REQUIRE_OK(mhc_plan_destroy(plan));
  }
  // Such a caller cannot ask for the norm: with MHC_DESC_FLAG_NORM its zero norm_eps is refused.
  mhc_desc_t d = make_desc(MHC_OP_BOUNDARY, 2, 4, 72);
  d.flags = MHC_DESC_FLAG_NORM;
  d.struct_size = offsetof(mhc_desc_t, norm_eps);
  mhc_plan_t plan = nullptr;
  REQUIRE_STATUS(mhc_plan_select(&d, &pref, &plan), MHC_STATUS_BAD_PARAM_VALUE, "desc->norm_eps");
  CHECK(plan == nullptr);
}

TEST_CASE("structs: preference struct_size", "[structs]") {
  const mhc_desc_t d = make_desc(MHC_OP_POST, 2, 4, 72);
  for (uint32_t size : {0u, 4u, 16u, static_cast<uint32_t>(sizeof(mhc_preference_t) - 4)}) {
    INFO("struct_size " << size);
    mhc_preference_t p = host_only();
    p.struct_size = size;
    mhc_plan_t plan = reinterpret_cast<mhc_plan_t>(&p);
    REQUIRE_STATUS(mhc_plan_select(&d, &p, &plan), MHC_STATUS_BAD_PARAM_STRUCT_SIZE, "pref->struct_size");
    CHECK(plan == nullptr);
  }
  Grown<mhc_preference_t> g;
  std::memset(&g, 0, sizeof g);
  g.s = host_only();
  g.s.struct_size = sizeof g;
  REQUIRE_OK(mhc_plan_destroy(select_ok(&d, &g.s)));
  g.tail[5] = 0x80;
  mhc_plan_t plan = nullptr;
  REQUIRE_STATUS(mhc_plan_select(&d, &g.s, &plan), MHC_STATUS_BAD_PARAM_STRUCT_SIZE, "pref->struct_size");
}

TEST_CASE("structs: args struct_size with a zero tail is accepted", "[structs]") {
  const mhc_desc_t d = make_desc(MHC_OP_EXPAND, 2, 3, 40);
  const mhc_preference_t pref = host_only();
  mhc_plan_t plan = select_ok(&d, &pref);
  OpCase c = make_case(d);
  Grown<mhc_args_t> g;
  std::memset(&g, 0, sizeof g);
  g.s = c.args();
  g.s.struct_size = sizeof g;
  REQUIRE_OK(mhc_plan_can_implement(plan, &g.s));
  REQUIRE_OK(mhc_plan_run(plan, nullptr, nullptr, 0, &g.s));
  CHECK(OpCase::poisoned_elements(c.at("out_residual")) == 0);
  REQUIRE_OK(mhc_plan_destroy(plan));
}

TEST_CASE("structs: a 0.1 args struct (no tokens field) runs every token", "[structs]") {
  const mhc_desc_t d = make_desc(MHC_OP_EXPAND, 3, 2, 24);
  const mhc_preference_t pref = host_only();
  mhc_plan_t plan = select_ok(&d, &pref);
  OpCase c = make_case(d);
  Grown<mhc_args_t> g = older_args(c, offsetof(mhc_args_t, tokens));
  REQUIRE_OK(mhc_plan_can_implement(plan, &g.s));
  REQUIRE_OK(mhc_plan_run(plan, nullptr, nullptr, 0, &g.s));
  CHECK(OpCase::poisoned_elements(c.at("out_residual")) == 0);
  g.s.struct_size = offsetof(mhc_args_t, tokens) - 8;
  REQUIRE_STATUS(mhc_plan_run(plan, nullptr, nullptr, 0, &g.s), MHC_STATUS_BAD_PARAM_STRUCT_SIZE, "args->struct_size");
  REQUIRE_OK(mhc_plan_destroy(plan));
}

TEST_CASE("structs: a 0.3 or 0.4 args struct runs the ops of its version, its bytes past it unread", "[structs]") {
  // An older caller's args (the bytes past its struct_size hold 0x77) run every op that needs no
  // field past them; an op whose gradient fields lie past them is refused (they read as NULL) and
  // writes nothing.
  struct Older {
    const char* version;
    size_t size;
    std::vector<mhc_op_t> runs;
    mhc_op_t refused;
    const char* missing;
  };
  const Older olders[] = {
      {"0.3: no gradient fields", offsetof(mhc_args_t, grad_residual), {MHC_OP_POST, MHC_OP_BOUNDARY},
       MHC_OP_EXPAND_BACKWARD, "args->grad_residual"},
      {"0.4: no family B gradients", offsetof(mhc_args_t, out_grad_h_pre), {MHC_OP_STATIC_LAYER, MHC_OP_POST_BACKWARD},
       MHC_OP_STATIC_POST_BACKWARD, "args->out_grad_h_post"},
  };
  const mhc_preference_t pref = host_only();
  for (const Older& v : olders) {
    INFO(v.version);
    for (mhc_op_t op : v.runs) {
      INFO("op " << op);
      const mhc_desc_t d = make_desc(op, 3, 2, 24);
      mhc_plan_t plan = select_ok(&d, &pref);
      OpCase c = make_case(d);
      Grown<mhc_args_t> g = older_args(c, v.size);
      REQUIRE_OK(mhc_plan_can_implement(plan, &g.s));
      REQUIRE_OK(mhc_plan_run(plan, nullptr, nullptr, 0, &g.s));
      for (Tensor& t : c.tensors)
        if (t.output) CHECK(OpCase::poisoned_elements(t) == 0);
      REQUIRE_OK(mhc_plan_destroy(plan));
    }
    const mhc_desc_t d = make_desc(v.refused, 3, 2, 24);
    mhc_plan_t plan = select_ok(&d, &pref);
    OpCase c = make_case(d);
    mhc_args_t a = c.args();
    a.struct_size = static_cast<uint32_t>(v.size);
    REQUIRE_STATUS(mhc_plan_run(plan, nullptr, nullptr, 0, &a), MHC_STATUS_BAD_PARAM_NULL_POINTER, v.missing);
    for (Tensor& t : c.tensors)
      if (t.output) CHECK(OpCase::poisoned_elements(t) == t.elements);
    REQUIRE_OK(mhc_plan_destroy(plan));
  }
}

TEST_CASE("structs: the structs the library writes", "[structs]") {
  const mhc_desc_t d = make_desc(MHC_OP_PRE, 2, 4, 72);
  const mhc_preference_t pref = host_only();
  mhc_plan_t plan = select_ok(&d, &pref);

  // Too small: rejected, untouched.
  for (uint32_t size : {0u, 4u, static_cast<uint32_t>(sizeof(mhc_precision_guarantee_t) - 4)}) {
    mhc_precision_guarantee_t g;
    std::memset(&g, 0x33, sizeof g);
    g.struct_size = size;
    const mhc_precision_guarantee_t g0 = g;
    REQUIRE_STATUS(mhc_plan_get_precision_guarantee(plan, &g), MHC_STATUS_BAD_PARAM_STRUCT_SIZE,
                   "guarantee->struct_size");
    CHECK(std::memcmp(&g, &g0, sizeof g) == 0);
  }
  for (uint32_t size : {0u, 8u, static_cast<uint32_t>(offsetof(mhc_desc_t, norm_eps) - 4)}) {
    mhc_desc_t out;
    std::memset(&out, 0x33, sizeof out);
    out.struct_size = size;
    const mhc_desc_t out0 = out;
    REQUIRE_STATUS(mhc_plan_get_desc(plan, &out), MHC_STATUS_BAD_PARAM_STRUCT_SIZE, "desc->struct_size");
    CHECK(std::memcmp(&out, &out0, sizeof out) == 0);
  }

  // Larger (a newer caller): the known part is written, the caller's struct_size kept, and the
  // fields this library does not know read as zero; nothing past struct_size is written.
  Grown<mhc_precision_guarantee_t> gg;
  std::memset(&gg, 0x44, sizeof gg);
  gg.s.struct_size = sizeof(mhc_precision_guarantee_t) + 16;
  REQUIRE_OK(mhc_plan_get_precision_guarantee(plan, &gg.s));
  CHECK(gg.s.struct_size == sizeof(mhc_precision_guarantee_t) + 16);
  CHECK(gg.s.math_precision == MHC_DTYPE_FP64);
  for (size_t i = 0; i < 16; ++i) CHECK(gg.tail[i] == 0);
  for (size_t i = 16; i < sizeof gg.tail; ++i) CHECK(gg.tail[i] == 0x44);

  Grown<mhc_desc_t> gd;
  std::memset(&gd, 0x44, sizeof gd);
  gd.s.struct_size = sizeof(mhc_desc_t) + 8;
  REQUIRE_OK(mhc_plan_get_desc(plan, &gd.s));
  CHECK(gd.s.struct_size == sizeof(mhc_desc_t) + 8);
  CHECK(gd.s.tokens == 2);
  CHECK(gd.s.num_splits == 5);
  for (size_t i = 0; i < 8; ++i) CHECK(gd.tail[i] == 0);
  for (size_t i = 8; i < sizeof gd.tail; ++i) CHECK(gd.tail[i] == 0x44);
  REQUIRE_OK(mhc_plan_destroy(plan));
}
