// The header-only C++ layer (mhc.hpp): Plan RAII and moves, mhc::Error, Desc/Preference/Args.
#include <type_traits>

#include "mhc/mhc.hpp"
#include "op_buffers.hpp"

using namespace mhc_test;

static_assert(!std::is_copy_constructible<mhc::Plan>::value, "a plan owns its handle");
static_assert(!std::is_copy_assignable<mhc::Plan>::value, "a plan owns its handle");
static_assert(std::is_nothrow_move_constructible<mhc::Plan>::value, "moves never throw");
static_assert(std::is_nothrow_move_assignable<mhc::Plan>::value, "moves never throw");
static_assert(std::is_base_of<std::runtime_error, mhc::Error>::value, "mhc::Error is a runtime_error");

TEST_CASE("cpp: Desc, Preference and Args start from the C defaults", "[cpp]") {
  mhc_desc_t c_desc;
  REQUIRE_OK(mhc_desc_init(&c_desc, MHC_OP_HEAD));
  const mhc::Desc desc(MHC_OP_HEAD);
  CHECK(std::memcmp(&desc.get(), &c_desc, sizeof c_desc) == 0);
  const mhc::Desc dims(MHC_OP_POST, 7, 3, 96);
  CHECK(dims->op == MHC_OP_POST);
  CHECK(dims->tokens == 7);
  CHECK(dims->n == 3);
  CHECK(dims->hidden == 96);
  CHECK(dims->sinkhorn_repeat == 20);

  const mhc::Preference defaults;
  mhc_preference_t c_pref;
  REQUIRE_OK(mhc_preference_init(&c_pref));
  CHECK(std::memcmp(&defaults.get(), &c_pref, sizeof c_pref) == 0);
  const mhc::Preference built = mhc::Preference()
                                    .backends(MHC_BACKEND_HOST)
                                    .max_workspace(4096)
                                    .require(MHC_GUARANTEE_DETERMINISTIC)
                                    .require(MHC_GUARANTEE_NO_ATOMICS)
                                    .force(MHC_SKU_HOST_POST);
  CHECK(built.get().struct_size == sizeof(mhc_preference_t));
  CHECK(built.get().backends == MHC_BACKEND_HOST);
  CHECK(built.get().max_workspace_bytes == 4096u);
  CHECK(built.get().required == (MHC_GUARANTEE_DETERMINISTIC | MHC_GUARANTEE_NO_ATOMICS));
  CHECK(built.get().forced_sku == MHC_SKU_HOST_POST);

  const mhc::Args args;
  mhc_args_t c_args;
  REQUIRE_OK(mhc_args_init(&c_args));
  CHECK(std::memcmp(static_cast<const mhc_args_t*>(&args), &c_args, sizeof c_args) == 0);
}

TEST_CASE("cpp: a Plan runs, reports and cleans up", "[cpp]") {
  mhc::Desc desc(MHC_OP_PRE, 3, 4, 72);
  desc->num_splits = 2;
  const mhc::Plan plan(desc, mhc::Preference().backends(MHC_BACKEND_HOST));
  REQUIRE(static_cast<bool>(plan));
  CHECK(plan.sku() == MHC_SKU_HOST_PRE);
  CHECK(plan.sku_name() == "host_fp64_pre");
  CHECK(plan.workspace_size() == 0);
  const mhc_precision_guarantee_t g = plan.precision_guarantee();
  CHECK(g.struct_size == sizeof g);
  CHECK(g.math_precision == MHC_DTYPE_FP64);
  CHECK((g.flags & MHC_GUARANTEE_BATCH_INVARIANT) != 0);
  const mhc_desc_t got = plan.desc();
  CHECK(std::memcmp(&got, &desc.get(), sizeof got) == 0);

  OpCase c = make_case(got);
  const mhc_args_t a = c.args();
  CHECK(plan.can_implement(a) == MHC_STATUS_SUCCESS);
  plan.run(nullptr, a);
  for (Tensor& t : c.tensors)
    if (t.output) CHECK(OpCase::poisoned_elements(t) == 0);
  alignas(256) static unsigned char ws[256];
  plan.run(nullptr, a, ws, sizeof ws);  // a caller workspace is accepted

  // A plan built from a plain mhc_desc_t.
  const mhc::Plan from_c(make_desc(MHC_OP_EXPAND, 2, 2, 8), mhc::Preference().force(MHC_SKU_HOST_EXPAND));
  CHECK(from_c.sku_name() == "host_fp64_expand");
}

TEST_CASE("cpp: mhc::Error carries the status and the library's message", "[cpp]") {
  mhc::Desc bad(MHC_OP_PRE, 3, 9, 72);  // n out of range
  try {
    mhc::Plan plan(bad, mhc::Preference().backends(MHC_BACKEND_HOST));
    FAIL("select accepted n = 9");
  } catch (const mhc::Error& e) {
    CHECK(e.status() == MHC_STATUS_BAD_PARAM_SHAPE);
    CHECK(e.category() == MHC_STATUS_BAD_PARAM);
    const std::string what = e.what();
    CHECK(what.rfind("MHC_STATUS_BAD_PARAM_SHAPE: ", 0) == 0);
    CHECK(what.find("desc->n = 9") != std::string::npos);
    CHECK(what.find(mhc::last_error()) != std::string::npos);
  }
  CHECK_THROWS_AS(mhc::Desc(99), mhc::Error);
  CHECK_THROWS_AS(mhc::Plan(mhc::Desc(MHC_OP_POST, 1, 4, 8), mhc::Preference().backends(0)), mhc::Error);
  CHECK_THROWS_AS(mhc::check(MHC_STATUS_INTERNAL), mhc::Error);
  CHECK_NOTHROW(mhc::check(MHC_STATUS_SUCCESS));

  // Run-time failures: can_implement returns the status, run throws, outputs stay poisoned.
  const mhc::Plan plan(mhc::Desc(MHC_OP_POST, 2, 4, 40), mhc::Preference().backends(MHC_BACKEND_HOST));
  OpCase c = make_case(plan.desc());
  mhc_args_t a = c.args();
  a.comb_mix = reinterpret_cast<const char*>(a.comb_mix) + 2;
  CHECK(plan.can_implement(a) == MHC_STATUS_BAD_PARAM_MISALIGNED);
  try {
    plan.run(nullptr, a);
    FAIL("run accepted a misaligned pointer");
  } catch (const mhc::Error& e) {
    CHECK(e.status() == MHC_STATUS_BAD_PARAM_MISALIGNED);
    CHECK(std::string(e.what()).find("args->comb_mix") != std::string::npos);
  }
  CHECK(OpCase::poisoned_elements(c.at("out_residual")) == c.at("out_residual").elements);

  if (mhc::cuda_device_count() == 0) {
    try {
      mhc::Plan cuda(mhc::Desc(MHC_OP_POST, 2, 4, 40), mhc::Preference().backends(MHC_BACKEND_CUDA));
      FAIL("a CUDA plan without a device");
    } catch (const mhc::Error& e) {
      CHECK(e.status() == MHC_STATUS_NOT_SUPPORTED_NO_DEVICE);
      CHECK(std::string(e.what()).find("no CUDA device") != std::string::npos);
    }
  }
}

TEST_CASE("cpp: Plan moves transfer ownership", "[cpp]") {
  mhc::Plan empty;
  CHECK_FALSE(static_cast<bool>(empty));
  CHECK(empty.get() == nullptr);
  try {
    (void)empty.sku();
    FAIL("an empty plan answered sku()");
  } catch (const mhc::Error& e) {
    CHECK(e.status() == MHC_STATUS_BAD_PARAM_NULL_POINTER);
    CHECK(std::string(e.what()).find("plan") != std::string::npos);
  }

  const mhc::Preference host = mhc::Preference().backends(MHC_BACKEND_HOST);
  mhc::Plan a(mhc::Desc(MHC_OP_EXPAND, 2, 2, 8), host);
  const mhc_plan_t handle = a.get();
  REQUIRE(handle != nullptr);
  mhc::Plan b(std::move(a));
  CHECK(a.get() == nullptr);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  CHECK(b.get() == handle);
  CHECK(b.sku() == MHC_SKU_HOST_EXPAND);

  mhc::Plan c(mhc::Desc(MHC_OP_POST, 2, 2, 8), host);
  c = std::move(b);  // c's old plan is destroyed, c takes b's
  CHECK(c.get() == handle);
  CHECK(b.get() == nullptr);  // NOLINT(bugprone-use-after-move)
  CHECK(c.sku() == MHC_SKU_HOST_EXPAND);

  mhc::Plan& alias = c;
  c = std::move(alias);  // self-move keeps the plan
  CHECK(c.get() == handle);

  OpCase cs = make_case(c.desc());
  c.run(nullptr, cs.args());
  CHECK(OpCase::poisoned_elements(cs.at("out_residual")) == 0);

  std::vector<mhc::Plan> plans;  // moves through a container
  for (int i = 0; i < 8; ++i) plans.emplace_back(mhc::Desc(MHC_OP_EXPAND, 1 + i, 2, 8), host);
  for (size_t i = 0; i < plans.size(); ++i) CHECK(plans[i].desc().tokens == static_cast<int64_t>(1 + i));
}

TEST_CASE("cpp: a backward plan from the forward's Desc, gradients accumulated with Args", "[cpp][backward]") {
  const mhc::Desc fwd(MHC_OP_EXPAND, 2, 3, 5);
  const mhc::Desc bwd = fwd.backward();
  CHECK(bwd->op == MHC_OP_EXPAND_BACKWARD);
  CHECK(bwd->tokens == 2);
  CHECK(bwd->n == 3);
  CHECK(bwd->hidden == 5);
  mhc::Desc pre(MHC_OP_PRE, 2, 4, 8);
  pre->num_splits = 1;
  CHECK(pre.backward()->op == MHC_OP_PRE_BACKWARD);
  CHECK(pre.backward()->num_splits == 0);  // the backward takes no split count
  const mhc::Plan plan(bwd, mhc::Preference().backends(MHC_BACKEND_HOST));
  CHECK(plan.sku() == MHC_SKU_HOST_EXPAND_BACKWARD);

  std::vector<uint16_t> G(2 * 3 * 5, double_to_bf16(0.5)), dE(2 * 5, double_to_bf16(1.0));
  mhc::Args args;
  args.grad_residual = G.data();
  args.out_grad_embedding = dE.data();
  plan.run(nullptr, args.accumulate(MHC_GRAD_ACCUMULATE_EMBEDDING));
  for (uint16_t v : dE) CHECK(bf16_to_double(v) == 2.5);  // 1 + 3 * 0.5
  // A bit of an output the op does not write: mhc::Error naming it.
  try {
    plan.run(nullptr, args.accumulate(MHC_GRAD_ACCUMULATE_FN));
    FAIL("no error");
  } catch (const mhc::Error& e) {
    CHECK(e.status() == MHC_STATUS_BAD_PARAM_VALUE);
    CHECK(std::string(e.what()).find("MHC_GRAD_ACCUMULATE_FN") != std::string::npos);
  }
  for (uint16_t v : dE) CHECK(bf16_to_double(v) == 2.5);  // untouched
  // The head and the static ops have a backward, the boundary none.
  CHECK(mhc::Desc(MHC_OP_HEAD).backward()->op == MHC_OP_HEAD_BACKWARD);
  const mhc::Desc layer(MHC_OP_STATIC_LAYER, 2, 17, 8);
  CHECK(layer.backward()->op == MHC_OP_STATIC_LAYER_BACKWARD);
  CHECK(layer.backward()->act_dtype == MHC_DTYPE_FP32);
  CHECK(mhc::Plan(layer.backward(), mhc::Preference().backends(MHC_BACKEND_HOST)).sku() ==
        MHC_SKU_HOST_STATIC_LAYER_BACKWARD);
  CHECK_THROWS_AS(mhc::Plan(mhc::Desc(MHC_OP_BOUNDARY, 2, 4, 8).backward()), mhc::Error);
}
