// Run-time validation (mhc_plan_can_implement and mhc_plan_run) of every op's tensors: NULL and
// misaligned pointers, unused fields, overlapping outputs, args struct, workspace. Each gets its
// exact status and a message naming the argument, and no buffer of the caller changes.
#include <cstddef>
#include <iterator>

#include "op_buffers.hpp"

using namespace mhc_test;

namespace {

struct Field {
  const char* name;
  size_t offset;
};

#define MHC_TEST_FIELD(f) {"args->" #f, offsetof(mhc_args_t, f)}
const Field kAllFields[] = {
    MHC_TEST_FIELD(residual),     MHC_TEST_FIELD(fn),           MHC_TEST_FIELD(scale),
    MHC_TEST_FIELD(base),         MHC_TEST_FIELD(gemm_out),     MHC_TEST_FIELD(sqrsum),
    MHC_TEST_FIELD(layer_output), MHC_TEST_FIELD(post_mix),     MHC_TEST_FIELD(comb_mix),
    MHC_TEST_FIELD(embedding),    MHC_TEST_FIELD(norm_weight),  MHC_TEST_FIELD(h_pre),
    MHC_TEST_FIELD(h_post),       MHC_TEST_FIELD(h_res),        MHC_TEST_FIELD(out_gemm),
    MHC_TEST_FIELD(out_sqrsum),   MHC_TEST_FIELD(out_post_mix), MHC_TEST_FIELD(out_comb_mix),
    MHC_TEST_FIELD(out_layer_input), MHC_TEST_FIELD(out_residual), MHC_TEST_FIELD(out_rms),
    MHC_TEST_FIELD(pre_mix),      MHC_TEST_FIELD(out_pre_mix),
    MHC_TEST_FIELD(grad_residual),     MHC_TEST_FIELD(grad_layer_input),  MHC_TEST_FIELD(grad_post_mix),
    MHC_TEST_FIELD(grad_comb_mix),     MHC_TEST_FIELD(out_grad_residual), MHC_TEST_FIELD(out_grad_layer_output),
    MHC_TEST_FIELD(out_grad_post_mix), MHC_TEST_FIELD(out_grad_comb_mix), MHC_TEST_FIELD(out_grad_embedding),
    MHC_TEST_FIELD(out_grad_fn),       MHC_TEST_FIELD(out_grad_scale),    MHC_TEST_FIELD(out_grad_base),
    MHC_TEST_FIELD(out_grad_h_pre),    MHC_TEST_FIELD(out_grad_h_post),   MHC_TEST_FIELD(out_grad_h_res),
    MHC_TEST_FIELD(out_grad_norm_weight),
};
#undef MHC_TEST_FIELD

// Every byte the caller owns: all tensors (outputs poisoned) and an extra buffer.
struct Snapshot {
  std::vector<std::vector<uint32_t>> tensors;
  std::vector<uint32_t> extra;
};
Snapshot snapshot(const OpCase& c, const std::vector<uint32_t>& extra) {
  Snapshot s;
  for (const Tensor& t : c.tensors) s.tensors.push_back(t.storage);
  s.extra = extra;
  return s;
}

// can_implement and run both fail with `status` naming `needle`, and nothing changed.
void require_rejected(mhc_plan_t plan, OpCase& c, const mhc_args_t* a, mhc_status_t status, const char* needle,
                      const std::vector<uint32_t>& extra = {}) {
  c.poison_outputs();
  const Snapshot before = snapshot(c, extra);
  REQUIRE_STATUS(mhc_plan_can_implement(plan, a), status, needle);
  REQUIRE_STATUS(mhc_plan_run(plan, nullptr, nullptr, 0, a), status, needle);
  const Snapshot after = snapshot(c, extra);
  CHECK(after.tensors == before.tensors);
  CHECK(after.extra == before.extra);
}

struct PlanFixture {
  mhc_plan_t plan = nullptr;
  OpCase c;
  explicit PlanFixture(const OpVariant& v) : PlanFixture(v.desc(3)) {}
  explicit PlanFixture(const mhc_desc_t& d) {
    const mhc_preference_t pref = host_only();
    REQUIRE(mhc_plan_select(&d, &pref, &plan) == MHC_STATUS_SUCCESS);
    c = make_case(plan_desc(plan));
    mhc_args_t a = c.args();  // the control: the untouched args are fine
    REQUIRE_OK(mhc_plan_can_implement(plan, &a));
  }
  ~PlanFixture() { mhc_plan_destroy(plan); }
};

}  // namespace

TEST_CASE("args: NULL required pointers", "[validation]") {
  for (const OpVariant& v : all_variants()) {
    DYNAMIC_SECTION(v.name) {
      PlanFixture f(v);
      for (const Tensor& t : f.c.tensors) {
        INFO(t.arg());
        mhc_args_t a = f.c.args();
        set_field(a, t.offset, nullptr);
        if (t.required) {
          require_rejected(f.plan, f.c, &a, MHC_STATUS_BAD_PARAM_NULL_POINTER, t.arg().c_str());
        } else {
          REQUIRE_OK(mhc_plan_can_implement(f.plan, &a));  // optional outputs may be NULL
        }
      }
    }
  }
}

TEST_CASE("args: misaligned pointers", "[validation]") {
  for (const OpVariant& v : all_variants()) {
    DYNAMIC_SECTION(v.name) {
      PlanFixture f(v);
      for (Tensor& t : f.c.tensors) {
        // Host SKUs need natural alignment: 2 bytes for bf16, 4 for fp32.
        for (size_t shift : t.bf16 ? std::vector<size_t>{1} : std::vector<size_t>{1, 2, 3}) {
          INFO(t.arg() << " + " << shift);
          mhc_args_t a = f.c.args();
          set_field(a, t.offset, t.data() + shift);
          require_rejected(f.plan, f.c, &a, MHC_STATUS_BAD_PARAM_MISALIGNED, t.arg().c_str());
        }
      }
    }
  }
}

TEST_CASE("args: fields the op does not use must be NULL", "[validation]") {
  std::vector<uint32_t> other(64, 0x3f800000u);
  for (const OpVariant& v : all_variants()) {
    DYNAMIC_SECTION(v.name) {
      PlanFixture f(v);
      int unused = 0;
      for (const Field& field : kAllFields) {
        bool used = false;
        for (const Tensor& t : f.c.tensors) used |= t.offset == field.offset;
        if (used) continue;
        ++unused;
        INFO(field.name);
        mhc_args_t a = f.c.args();
        set_field(a, field.offset, other.data());
        require_rejected(f.plan, f.c, &a, MHC_STATUS_BAD_PARAM_VALUE, field.name, other);
      }
      CHECK(unused + f.c.tensors.size() == std::size(kAllFields));
    }
  }
}

TEST_CASE("args: outputs may not overlap inputs or other outputs", "[validation]") {
  for (const OpVariant& v : all_variants()) {
    DYNAMIC_SECTION(v.name) {
      PlanFixture f(v);
      for (Tensor& out : f.c.tensors) {
        if (!out.output) continue;
        for (Tensor& other : f.c.tensors) {
          if (&other == &out) continue;
          INFO(out.arg() << " overlapping " << other.arg());
          // Both live in one buffer: `other` first, `out` starting on its last 4 bytes.
          std::vector<uint32_t> shared(other.element_words() + out.element_words() + Tensor::kSlackWords, 0x7fa5a5a5u);
          char* base = reinterpret_cast<char*>(shared.data());
          std::memcpy(base, other.data(), other.bytes());
          mhc_args_t a = f.c.args();
          set_field(a, other.offset, base);
          set_field(a, out.offset, base + (other.element_words() - 1) * 4);
          require_rejected(f.plan, f.c, &a, MHC_STATUS_BAD_PARAM_VALUE, "overlaps", shared);
          CHECK(last_error().find(out.arg()) != std::string::npos);
          CHECK(last_error().find(other.arg()) != std::string::npos);
        }
      }
      // Adjacent but not overlapping is fine.
      for (Tensor& out : f.c.tensors) {
        if (!out.output) continue;
        Tensor& in = f.c.tensors.front();
        std::vector<uint32_t> shared(in.element_words() + out.element_words(), 0u);
        char* base = reinterpret_cast<char*>(shared.data());
        mhc_args_t a = f.c.args();
        set_field(a, in.offset, base);
        set_field(a, out.offset, base + in.element_words() * 4);
        INFO(out.arg() << " right after " << in.arg());
        REQUIRE_OK(mhc_plan_can_implement(f.plan, &a));
      }
    }
  }
}

TEST_CASE("args: the struct itself", "[validation]") {
  for (const OpVariant& v : all_variants()) {
    DYNAMIC_SECTION(v.name) {
      PlanFixture f(v);
      require_rejected(f.plan, f.c, nullptr, MHC_STATUS_BAD_PARAM_NULL_POINTER, "args");
      mhc_args_t a = f.c.args();
      a.reserved0 = 1;
      require_rejected(f.plan, f.c, &a, MHC_STATUS_BAD_PARAM_VALUE, "args->reserved0");
      a = f.c.args();
      a.reserved1 = 1;
      require_rejected(f.plan, f.c, &a, MHC_STATUS_BAD_PARAM_VALUE, "args->reserved1");
      for (uint32_t size : {0u, 4u, 8u, static_cast<uint32_t>(offsetof(mhc_args_t, tokens) - 8)}) {
        INFO("struct_size " << size);
        a = f.c.args();
        a.struct_size = size;
        require_rejected(f.plan, f.c, &a, MHC_STATUS_BAD_PARAM_STRUCT_SIZE, "args->struct_size");
      }
      // A larger struct from a newer caller: an unknown non-zero field is rejected.
      struct Newer {
        mhc_args_t a;
        void* future_field;
      } newer;
      std::memset(&newer, 0, sizeof newer);
      newer.a = f.c.args();
      newer.a.struct_size = sizeof newer;
      newer.future_field = &newer;
      require_rejected(f.plan, f.c, &newer.a, MHC_STATUS_BAD_PARAM_STRUCT_SIZE, "args->struct_size");
    }
  }
}

TEST_CASE("args: the run-time token count", "[validation]") {
  for (const OpVariant& v : all_variants()) {
    DYNAMIC_SECTION(v.name) {
      PlanFixture f(v);  // desc.tokens = 3
      for (int64_t bad : {int64_t{-1}, int64_t{4}, int64_t{1} << 40, INT64_MIN}) {
        INFO("args.tokens " << bad);
        mhc_args_t a = f.c.args();
        a.tokens = bad;
        require_rejected(f.plan, f.c, &a, MHC_STATUS_BAD_PARAM_SHAPE, "args->tokens");
      }
    }
  }
}

TEST_CASE("args: workspace and plan arguments of run", "[validation]") {
  PlanFixture f(all_variants().front());
  mhc_args_t a = f.c.args();
  f.c.poison_outputs();
  const Snapshot before = snapshot(f.c, {});
  REQUIRE_STATUS(mhc_plan_run(f.plan, nullptr, nullptr, 64, &a), MHC_STATUS_BAD_PARAM_WORKSPACE, "workspace_bytes");
  alignas(256) static unsigned char ws[512];
  REQUIRE_STATUS(mhc_plan_run(f.plan, nullptr, ws + 8, 256, &a), MHC_STATUS_BAD_PARAM_WORKSPACE, "workspace");
  REQUIRE_STATUS(mhc_plan_run(nullptr, nullptr, nullptr, 0, &a), MHC_STATUS_BAD_PARAM_NULL_POINTER, "plan");
  REQUIRE_STATUS(mhc_plan_can_implement(nullptr, &a), MHC_STATUS_BAD_PARAM_NULL_POINTER, "plan");
  const Snapshot after = snapshot(f.c, {});
  CHECK(after.tensors == before.tensors);
  // An aligned caller workspace of at least workspace_size bytes (0 for host SKUs) is accepted.
  REQUIRE_OK(mhc_plan_run(f.plan, nullptr, ws, 0, &a));
  REQUIRE_OK(mhc_plan_run(f.plan, nullptr, ws, sizeof ws, &a));
  for (Tensor& t : f.c.tensors)
    if (t.output) CHECK(OpCase::poisoned_elements(t) == 0);
}

TEST_CASE("plan queries: NULL plan and NULL out-pointers leave the outputs alone", "[validation]") {
  PlanFixture f(all_variants().front());
  size_t bytes = 777;
  REQUIRE_STATUS(mhc_plan_workspace_size(nullptr, &bytes), MHC_STATUS_BAD_PARAM_NULL_POINTER, "plan");
  CHECK(bytes == 777);
  REQUIRE_STATUS(mhc_plan_workspace_size(f.plan, nullptr), MHC_STATUS_BAD_PARAM_NULL_POINTER, "bytes");
  mhc_sku_t sku = 0xabcdu;
  REQUIRE_STATUS(mhc_plan_get_sku(nullptr, &sku), MHC_STATUS_BAD_PARAM_NULL_POINTER, "plan");
  CHECK(sku == 0xabcdu);
  REQUIRE_STATUS(mhc_plan_get_sku(f.plan, nullptr), MHC_STATUS_BAD_PARAM_NULL_POINTER, "sku");
  mhc_precision_guarantee_t g;
  std::memset(&g, 0x11, sizeof g);
  g.struct_size = sizeof g;
  const mhc_precision_guarantee_t g0 = g;
  REQUIRE_STATUS(mhc_plan_get_precision_guarantee(nullptr, &g), MHC_STATUS_BAD_PARAM_NULL_POINTER, "plan");
  CHECK(std::memcmp(&g, &g0, sizeof g) == 0);
  REQUIRE_STATUS(mhc_plan_get_precision_guarantee(f.plan, nullptr), MHC_STATUS_BAD_PARAM_NULL_POINTER, "guarantee");
  mhc_desc_t d;
  std::memset(&d, 0x22, sizeof d);
  d.struct_size = sizeof d;
  const mhc_desc_t d0 = d;
  REQUIRE_STATUS(mhc_plan_get_desc(nullptr, &d), MHC_STATUS_BAD_PARAM_NULL_POINTER, "plan");
  CHECK(std::memcmp(&d, &d0, sizeof d) == 0);
  REQUIRE_STATUS(mhc_plan_get_desc(f.plan, nullptr), MHC_STATUS_BAD_PARAM_NULL_POINTER, "desc");
  REQUIRE_STATUS(mhc_cuda_device_count(nullptr), MHC_STATUS_BAD_PARAM_NULL_POINTER, "count");
}

// ---- The boundary's modes (A7): tensors that exist or are required only with a flag ----------

namespace {

mhc_desc_t boundary_desc(mhc_op_t op, uint32_t flags) {
  mhc_desc_t d = make_desc(op, 3, 4, 72);
  d.flags = flags;
  return d;
}

}  // namespace

TEST_CASE("args: a tensor the op reads only with a flag, given without it, names the flag", "[validation]") {
  std::vector<uint32_t> other(64, 0x3f800000u);
  struct Row {
    mhc_op_t op;
    uint32_t flags;
    const char* field;
    size_t offset;
    const char* flag;  // the flag the message must name, or nullptr: the op never reads the field
  };
  const Row rows[] = {
      {MHC_OP_BOUNDARY, 0, "args->norm_weight", offsetof(mhc_args_t, norm_weight), "MHC_DESC_FLAG_NORM"},
      {MHC_OP_BOUNDARY, MHC_DESC_FLAG_SHIFTED, "args->norm_weight", offsetof(mhc_args_t, norm_weight),
       "MHC_DESC_FLAG_NORM"},
      {MHC_OP_BOUNDARY_COLLAPSE, 0, "args->norm_weight", offsetof(mhc_args_t, norm_weight), "MHC_DESC_FLAG_NORM"},
      {MHC_OP_BOUNDARY_FIRST, MHC_DESC_FLAG_SHIFTED, "args->norm_weight", offsetof(mhc_args_t, norm_weight),
       "MHC_DESC_FLAG_NORM"},
      {MHC_OP_BOUNDARY, 0, "args->pre_mix", offsetof(mhc_args_t, pre_mix), "MHC_DESC_FLAG_SHIFTED"},
      {MHC_OP_BOUNDARY, MHC_DESC_FLAG_NORM, "args->pre_mix", offsetof(mhc_args_t, pre_mix), "MHC_DESC_FLAG_SHIFTED"},
      // Never read by these ops, whatever the flags: the plain message.
      {MHC_OP_BOUNDARY_MIX, 0, "args->norm_weight", offsetof(mhc_args_t, norm_weight), nullptr},
      {MHC_OP_BOUNDARY_MIX, 0, "args->pre_mix", offsetof(mhc_args_t, pre_mix), nullptr},
      {MHC_OP_BOUNDARY_FIRST, MHC_DESC_FLAG_SHIFTED, "args->pre_mix", offsetof(mhc_args_t, pre_mix), nullptr},
      {MHC_OP_BOUNDARY_COLLAPSE, 0, "args->out_pre_mix", offsetof(mhc_args_t, out_pre_mix), nullptr},
      {MHC_OP_POST, 0, "args->pre_mix", offsetof(mhc_args_t, pre_mix), nullptr},
      {MHC_OP_PRE, 0, "args->out_pre_mix", offsetof(mhc_args_t, out_pre_mix), nullptr},
  };
  for (const Row& r : rows) {
    INFO("op " << r.op << " flags " << r.flags << " " << r.field);
    PlanFixture f(boundary_desc(r.op, r.flags));
    mhc_args_t a = f.c.args();
    set_field(a, r.offset, other.data());
    require_rejected(f.plan, f.c, &a, MHC_STATUS_BAD_PARAM_VALUE, r.field, other);
    if (r.flag != nullptr) {
      CHECK(last_error().find(r.flag) != std::string::npos);
      CHECK(last_error().find("only with") != std::string::npos);
    } else {
      CHECK(last_error().find("does not use it") != std::string::npos);
      CHECK(last_error().find("MHC_DESC_FLAG") == std::string::npos);
    }
  }
}

TEST_CASE("args: a tensor required by a mode, left NULL, is a NULL pointer naming the flag", "[validation]") {
  struct Row {
    mhc_op_t op;
    uint32_t flags;
    const char* field;
    size_t offset;
    const char* flag;  // the mode that requires it, or nullptr: required in every mode
  };
  const Row rows[] = {
      // MHC_DESC_FLAG_NORM without a norm weight
      {MHC_OP_BOUNDARY, MHC_DESC_FLAG_NORM, "args->norm_weight", offsetof(mhc_args_t, norm_weight),
       "MHC_DESC_FLAG_NORM"},
      {MHC_OP_BOUNDARY, MHC_DESC_FLAG_SHIFTED | MHC_DESC_FLAG_NORM, "args->norm_weight",
       offsetof(mhc_args_t, norm_weight), "MHC_DESC_FLAG_NORM"},
      {MHC_OP_BOUNDARY_COLLAPSE, MHC_DESC_FLAG_NORM, "args->norm_weight", offsetof(mhc_args_t, norm_weight),
       "MHC_DESC_FLAG_NORM"},
      {MHC_OP_BOUNDARY_FIRST, MHC_DESC_FLAG_NORM, "args->norm_weight", offsetof(mhc_args_t, norm_weight),
       "MHC_DESC_FLAG_NORM"},
      // the shifted mode without the carried pre, or without the place for this site's pre
      {MHC_OP_BOUNDARY, MHC_DESC_FLAG_SHIFTED, "args->pre_mix", offsetof(mhc_args_t, pre_mix),
       "MHC_DESC_FLAG_SHIFTED"},
      {MHC_OP_BOUNDARY, MHC_DESC_FLAG_SHIFTED, "args->out_pre_mix", offsetof(mhc_args_t, out_pre_mix),
       "MHC_DESC_FLAG_SHIFTED"},
      {MHC_OP_BOUNDARY, MHC_DESC_FLAG_SHIFTED | MHC_DESC_FLAG_NORM, "args->out_pre_mix",
       offsetof(mhc_args_t, out_pre_mix), "MHC_DESC_FLAG_SHIFTED"},
      {MHC_OP_BOUNDARY_FIRST, MHC_DESC_FLAG_SHIFTED, "args->out_pre_mix", offsetof(mhc_args_t, out_pre_mix),
       "MHC_DESC_FLAG_SHIFTED"},
      // required in every mode of these ops
      {MHC_OP_BOUNDARY_COLLAPSE, 0, "args->pre_mix", offsetof(mhc_args_t, pre_mix), nullptr},
      {MHC_OP_BOUNDARY_MIX, 0, "args->out_pre_mix", offsetof(mhc_args_t, out_pre_mix), nullptr},
      {MHC_OP_BOUNDARY_COLLAPSE, 0, "args->out_layer_input", offsetof(mhc_args_t, out_layer_input), nullptr},
  };
  for (const Row& r : rows) {
    INFO("op " << r.op << " flags " << r.flags << " " << r.field);
    PlanFixture f(boundary_desc(r.op, r.flags));
    mhc_args_t a = f.c.args();
    set_field(a, r.offset, nullptr);
    require_rejected(f.plan, f.c, &a, MHC_STATUS_BAD_PARAM_NULL_POINTER, r.field);
    if (r.flag != nullptr) CHECK(last_error().find(r.flag) != std::string::npos);
    else CHECK(last_error().find("MHC_DESC_FLAG") == std::string::npos);
  }
}

TEST_CASE("args: the boundary's optional outputs", "[validation]") {
  // out_pre_mix is optional without MHC_DESC_FLAG_SHIFTED (V4 mode: this site's pre, if wanted);
  // out_residual is optional for BOUNDARY_COLLAPSE (the V4.1 head writes no new residual).
  struct Row {
    mhc_op_t op;
    uint32_t flags;
    const char* field;
  };
  const Row rows[] = {{MHC_OP_BOUNDARY, 0, "out_pre_mix"},
                      {MHC_OP_BOUNDARY, MHC_DESC_FLAG_NORM, "out_pre_mix"},
                      {MHC_OP_BOUNDARY_FIRST, 0, "out_pre_mix"},
                      {MHC_OP_BOUNDARY_COLLAPSE, 0, "out_residual"},
                      {MHC_OP_BOUNDARY_COLLAPSE, MHC_DESC_FLAG_NORM, "out_residual"}};
  for (const Row& r : rows) {
    INFO("op " << r.op << " flags " << r.flags << " " << r.field);
    PlanFixture f(boundary_desc(r.op, r.flags));
    Tensor& t = f.c.at(r.field);
    CHECK_FALSE(t.required);
    mhc_args_t a = f.c.args();
    set_field(a, t.offset, nullptr);
    f.c.poison_outputs();
    REQUIRE_OK(mhc_plan_can_implement(f.plan, &a));
    REQUIRE_OK(mhc_plan_run(f.plan, nullptr, nullptr, 0, &a));
    for (Tensor& o : f.c.tensors) {
      if (!o.output) continue;
      INFO(o.arg());
      CHECK(OpCase::poisoned_elements(o) == (&o == &t ? o.elements : 0));  // the NULL one untouched
      CHECK(OpCase::slack_intact(o));
    }
  }
}

// ---- The gradient outputs' accumulate bits (backward ops, since 0.4) -------------------------

namespace {

struct AccumulateBit {
  uint32_t bit;
  const char* name;
  const char* field;  // the output it belongs to
};
const AccumulateBit kAccumulateBits[] = {
    {MHC_GRAD_ACCUMULATE_RESIDUAL, "MHC_GRAD_ACCUMULATE_RESIDUAL", "out_grad_residual"},
    {MHC_GRAD_ACCUMULATE_LAYER_OUTPUT, "MHC_GRAD_ACCUMULATE_LAYER_OUTPUT", "out_grad_layer_output"},
    {MHC_GRAD_ACCUMULATE_POST_MIX, "MHC_GRAD_ACCUMULATE_POST_MIX", "out_grad_post_mix"},
    {MHC_GRAD_ACCUMULATE_COMB_MIX, "MHC_GRAD_ACCUMULATE_COMB_MIX", "out_grad_comb_mix"},
    {MHC_GRAD_ACCUMULATE_EMBEDDING, "MHC_GRAD_ACCUMULATE_EMBEDDING", "out_grad_embedding"},
    {MHC_GRAD_ACCUMULATE_FN, "MHC_GRAD_ACCUMULATE_FN", "out_grad_fn"},
    {MHC_GRAD_ACCUMULATE_SCALE, "MHC_GRAD_ACCUMULATE_SCALE", "out_grad_scale"},
    {MHC_GRAD_ACCUMULATE_BASE, "MHC_GRAD_ACCUMULATE_BASE", "out_grad_base"},
    {MHC_GRAD_ACCUMULATE_H_PRE, "MHC_GRAD_ACCUMULATE_H_PRE", "out_grad_h_pre"},
    {MHC_GRAD_ACCUMULATE_H_POST, "MHC_GRAD_ACCUMULATE_H_POST", "out_grad_h_post"},
    {MHC_GRAD_ACCUMULATE_H_RES, "MHC_GRAD_ACCUMULATE_H_RES", "out_grad_h_res"},
    {MHC_GRAD_ACCUMULATE_NORM_WEIGHT, "MHC_GRAD_ACCUMULATE_NORM_WEIGHT", "out_grad_norm_weight"},
};

}  // namespace

TEST_CASE("args: grad_accumulate takes exactly the bits of the op's gradient outputs", "[validation][backward]") {
  for (const OpVariant& v : all_variants()) {
    DYNAMIC_SECTION(v.name) {
      PlanFixture f(v);
      uint32_t own = 0;
      for (const AccumulateBit& b : kAccumulateBits) {
        bool has = false;
        for (const Tensor& t : f.c.tensors) has |= t.output && t.field == b.field;
        INFO(b.name);
        mhc_args_t a = f.c.args();
        a.grad_accumulate = b.bit;
        if (has) {
          own |= b.bit;
          REQUIRE_OK(mhc_plan_can_implement(f.plan, &a));
          continue;
        }
        // A bit of an output the op does not write: refused, naming the bit, the op and the output.
        require_rejected(f.plan, f.c, &a, MHC_STATUS_BAD_PARAM_VALUE, "args->grad_accumulate");
        CHECK(last_error().find(b.name) != std::string::npos);
        CHECK(last_error().find(std::string("args->") + b.field) != std::string::npos);
        CHECK(last_error().find(mhc_op_name(v.op)) != std::string::npos);
      }
      // All of its own bits at once are fine; unknown bits never are (alone or with its own).
      mhc_args_t a = f.c.args();
      a.grad_accumulate = own;
      REQUIRE_OK(mhc_plan_can_implement(f.plan, &a));
      for (uint32_t unknown : {0x1000u, 0x80000000u}) {
        INFO("unknown bit " << unknown);
        a.grad_accumulate = own | unknown;
        require_rejected(f.plan, f.c, &a, MHC_STATUS_BAD_PARAM_VALUE, "args->grad_accumulate");
        CHECK(last_error().find("unknown bits") != std::string::npos);
      }
    }
  }
}
