// Family B (static-H layer, docs/numerics.md B1-B3) CUDA SKUs against the fp64 host reference.
//
// Tolerances (docs/numerics.md): fp32 outputs |gpu - ref| <= 1e-4 * max(1, |ref|). bf16 outputs: 1 bf16
// ulp of the reference (which is bf16(fp64 value)), plus the textbook forward-error bound of the
// fp32 accumulation, (n + 4) * 2^-24 * A, where A is the sum of the magnitudes of the terms that
// make the element (docs/performance_static.md, "Precision"). The second term matters only where
// terms of size ~1 cancel to a value far below 1: there the low bits of an fp32 sum are not those
// of the fp64 sum, however the sum is ordered. Elsewhere it is far below an ulp.
// Beyond numerics: B3 == B2(B1), the same bits for every pointer alignment and batch size and for
// both SKU variants, run-to-run identity, graph capture and replay, two threads on two streams.
#include <cmath>
#include <cstring>
#include <functional>
#include <tuple>

#include "device_set.hpp"
#include "dynamic_harness.hpp"

using namespace mhc_test;

namespace {

mhc_desc_t sdesc(mhc_op_t op, int64_t B, int n, int64_t C, mhc_dtype_t act, int iters = 20) {
  mhc_desc_t d = make_desc(op, B, n, C);
  d.act_dtype = act;
  d.sinkhorn_repeat = iters;
  return d;
}

const char* dtype_name(mhc_dtype_t t) { return t == MHC_DTYPE_BF16 ? "bf16" : "fp32"; }

mhc_sku_t expected_sku(mhc_op_t op) {
  return op == MHC_OP_STATIC_PRE ? MHC_SKU_SM80_STATIC_PRE
         : op == MHC_OP_STATIC_POST ? MHC_SKU_SM80_STATIC_POST
                                    : MHC_SKU_SM80_STATIC_LAYER;
}

double element(const mhc::TensorSpec& s, const void* base, int64_t i) {
  if (s.dtype == MHC_DTYPE_BF16) {
    uint16_t b;
    std::memcpy(&b, static_cast<const char*>(base) + i * 2, 2);
    return bf16_to_double(b);
  }
  float f;
  std::memcpy(&f, static_cast<const char*>(base) + i * 4, 4);
  return f;
}

// Spacing of bf16 values at |v| (normal range; 2^-133 below it).
double bf16_ulp(double v) {
  int e = 0;
  std::frexp(std::fabs(v) > 0 ? std::fabs(v) : 1e-40, &e);
  return std::ldexp(1.0, (e - 1 < -126 ? -126 : e - 1) - 7);
}

int spec_index(const OpData& d, const char* name) {
  for (size_t i = 0; i < d.specs.size(); ++i)
    if (!std::strcmp(d.specs[i].name, name)) return static_cast<int>(i);
  return -1;
}

// A for every element of output `oi` (see the header): the magnitudes an fp32 evaluation sums.
std::vector<double> term_magnitudes(const OpData& d, size_t oi) {
  const mhc::Problem& p = d.problem;
  const int n = p.n;
  const int64_t B = p.T, C = p.C;
  const int op = p.desc.op;
  auto tensor = [&](const char* name) {
    const int k = spec_index(d, name);
    return [&d, k](int64_t i) { return k < 0 ? 0.0 : element(d.specs[k], d.host[k].data(), i); };
  };
  const auto x = tensor("args->residual"), w = tensor("args->norm_weight"), hp = tensor("args->h_pre"),
             f = tensor("args->layer_output");
  std::vector<double> s_pre(n);
  for (int j = 0; j < n; ++j) s_pre[j] = 1.0 / (1.0 + std::exp(-hp(j)));
  std::vector<double> sum_abs_x(B * C, 0.0), rms(B, 0.0);
  for (int64_t b = 0; b < B; ++b) {
    double sq = 0.0;
    for (int64_t c = 0; c < C; ++c) {
      double y = 0.0;
      for (int j = 0; j < n; ++j) {
        const double xv = x((b * n + j) * C + c);
        sum_abs_x[b * C + c] += std::fabs(xv);
        y += s_pre[j] * xv;
      }
      sq += y * y;
    }
    rms[b] = 1.0 / std::sqrt(sq / C + p.desc.static_eps);
  }
  const int64_t count = d.specs[oi].elements;
  const bool per_stream = count == B * n * C;
  std::vector<double> a(count, 0.0);
  if (count < B * C) return a;  // out_rms: fp32, no A needed
  for (int64_t b = 0; b < B; ++b)
    for (int i = 0; i < (per_stream ? n : 1); ++i)
      for (int64_t c = 0; c < C; ++c) {
        const double sx = sum_abs_x[b * C + c];
        double v;
        if (op == MHC_OP_STATIC_PRE) v = rms[b] * std::fabs(w(c)) * sx;
        else if (op == MHC_OP_STATIC_POST) v = sx + 2.0 * std::fabs(f(b * C + c));
        else v = sx * (1.0 + 2.0 * rms[b] * std::fabs(w(c)));
        a[per_stream ? (b * n + i) * C + c : b * C + c] = v;
      }
  return a;
}

struct Verdict {
  int64_t bad = 0, first = -1;
  double got = 0, want = 0, worst = 0;  // worst: max error / allowed
};

// The static rule for one output tensor (header); poison (NaN) always fails. `terms` is A per
// element (bf16 only; empty for fp32 outputs).
Verdict compare_static(const mhc::TensorSpec& s, const void* got, const void* want, int n,
                       const std::vector<double>& terms) {
  Verdict v;
  const double gamma = (n + 4) * std::ldexp(1.0, -24);
  for (int64_t i = 0; i < s.elements; ++i) {
    const double g = element(s, got, i), w = element(s, want, i);
    const double allowed =
        s.dtype == MHC_DTYPE_BF16 ? bf16_ulp(w) + gamma * terms[i] : 1e-4 * std::max(1.0, std::fabs(w));
    const double ratio = std::fabs(g - w) / allowed;
    if (!(ratio <= 1.0)) {
      if (v.bad++ == 0) v.first = i, v.got = g, v.want = w;
    }
    v.worst = std::isfinite(ratio) ? std::max(v.worst, ratio) : INFINITY;
  }
  return v;
}

Verdict compare_output(const OpData& d, size_t oi, const void* got) {
  const std::vector<double> terms =
      d.specs[oi].dtype == MHC_DTYPE_BF16 ? term_magnitudes(d, oi) : std::vector<double>{};
  return compare_static(d.specs[oi], got, d.host[oi].data(), d.problem.n, terms);
}

mhc_plan_t cuda_plan(const mhc_desc_t& d) {
  mhc_preference_t pref = cuda_only();
  pref.required = MHC_GUARANTEE_DETERMINISTIC | MHC_GUARANTEE_NO_ATOMICS | MHC_GUARANTEE_BIT_STABLE |
                  MHC_GUARANTEE_BATCH_INVARIANT;
  mhc_plan_t p = nullptr;
  REQUIRE_OK(mhc_plan_select(&d, &pref, &p));
  mhc_sku_t sku = 0;
  REQUIRE_OK(mhc_plan_get_sku(p, &sku));
  REQUIRE(sku == expected_sku(d.op));
  return p;
}

// Runs one problem on the CUDA plan (tensors shifted by `shift` elements) and on the host plan,
// checks every output, and returns the CUDA outputs (in spec order).
// `edit` may change the inputs before they are uploaded.
std::vector<std::vector<unsigned char>> check_static(const mhc_desc_t& d, uint64_t seed, int shift = 0,
                                                     bool with_rms = true,
                                                     const std::function<void(OpData&)>& edit = {}) {
  PlanHolder cuda, host;
  cuda.plan = cuda_plan(d);
  mhc_preference_t hp = host_only();
  REQUIRE_OK(mhc_plan_select(&d, &hp, &host.plan));
  OpData data = make_op_data(d, seed, with_rms);
  if (edit) edit(data);
  DeviceSet dev(data, shift);
  const mhc_args_t da = data.args(dev.ptrs);
  REQUIRE_OK(mhc_plan_can_implement(cuda.plan, &da));
  REQUIRE_OK(mhc_plan_run(cuda.plan, nullptr, nullptr, 0, &da));
  CUDA_REQUIRE(cudaDeviceSynchronize());
  const mhc_args_t ha = data.args(data.host_ptrs());
  REQUIRE_OK(mhc_plan_run(host.plan, nullptr, nullptr, 0, &ha));
  std::vector<std::vector<unsigned char>> outs;
  for (size_t i = 0; i < data.specs.size(); ++i) {
    if (data.specs[i].role != mhc::Role::kOutput) continue;
    auto got = dev.download(i);
    const Verdict v = compare_output(data, i, got.data());
    INFO(mhc::op_name(d.op) << " " << dtype_name(d.act_dtype) << " B=" << d.tokens << " n=" << d.n
                            << " C=" << d.hidden << " iters=" << d.sinkhorn_repeat << " shift=" << shift << " "
                            << data.specs[i].name << ": " << v.bad << " off, first at " << v.first << " got "
                            << v.got << " want " << v.want << ", worst err/allowed " << v.worst);
    CHECK(v.bad == 0);
    outs.push_back(std::move(got));
  }
  return outs;
}

const mhc_op_t kStaticOps[] = {MHC_OP_STATIC_PRE, MHC_OP_STATIC_POST, MHC_OP_STATIC_LAYER};
const mhc_dtype_t kActs[] = {MHC_DTYPE_FP32, MHC_DTYPE_BF16};
const int kAllN[] = {1, 2, 4, 8, 16, 17, 31, 32};

}  // namespace

// First in this file on purpose: the plan's very first run (shared-memory opt-in, occupancy query)
// happens inside a stream capture.
TEST_CASE("static: the first run of a kernel is a captured one", "[cuda][static][graph]") {
  for (mhc_op_t op : kStaticOps) {
    const mhc_desc_t d = sdesc(op, 97, 13, 2000, MHC_DTYPE_FP32);
    PlanHolder p;
    p.plan = cuda_plan(d);
    OpData data = make_op_data(d, 11, true);
    DeviceSet dev(data, 0);
    const mhc_args_t a = data.args(dev.ptrs);
    cudaStream_t s;
    CUDA_REQUIRE(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    CUDA_REQUIRE(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
    const mhc_status_t st = mhc_plan_run(p.plan, s, nullptr, 0, &a);
    CUDA_REQUIRE(cudaStreamEndCapture(s, &graph));
    REQUIRE_OK(st);
    CUDA_REQUIRE(cudaGraphInstantiate(&exec, graph, 0));
    CUDA_REQUIRE(cudaGraphLaunch(exec, s));
    CUDA_REQUIRE(cudaStreamSynchronize(s));
    PlanHolder host;
    mhc_preference_t hp = host_only();
    REQUIRE_OK(mhc_plan_select(&d, &hp, &host.plan));
    const mhc_args_t ha = data.args(data.host_ptrs());
    REQUIRE_OK(mhc_plan_run(host.plan, nullptr, nullptr, 0, &ha));
    for (size_t i = 0; i < data.specs.size(); ++i)
      if (data.specs[i].role == mhc::Role::kOutput) {
        const auto got = dev.download(i);
        INFO(mhc::op_name(op) << " " << data.specs[i].name);
        CHECK(compare_output(data, i, got.data()).bad == 0);
      }
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
    cudaStreamDestroy(s);
  }
}

TEST_CASE("static SKUs: ids, names, guarantees, no workspace", "[cuda][static]") {
  for (mhc_op_t op : kStaticOps)
    for (mhc_dtype_t act : kActs) {
      PlanHolder p;
      p.plan = cuda_plan(sdesc(op, 5, 4, 64, act));
      mhc_sku_t sku = 0;
      REQUIRE_OK(mhc_plan_get_sku(p.plan, &sku));
      REQUIRE(mhc_sku_name(sku) != nullptr);
      CHECK(std::string(mhc_sku_name(sku)).rfind("sm80_static_", 0) == 0);
      size_t ws = 1;
      REQUIRE_OK(mhc_plan_workspace_size(p.plan, &ws));
      CHECK(ws == 0);
      mhc_precision_guarantee_t g;
      g.struct_size = sizeof g;
      REQUIRE_OK(mhc_plan_get_precision_guarantee(p.plan, &g));
      CHECK(g.math_precision == MHC_DTYPE_FP32);
      CHECK(g.accumulator == MHC_DTYPE_FP32);
      CHECK(g.flags == (MHC_GUARANTEE_DETERMINISTIC | MHC_GUARANTEE_BIT_STABLE | MHC_GUARANTEE_BATCH_INVARIANT |
                        MHC_GUARANTEE_NO_ATOMICS));
    }
  CHECK(std::string(mhc_sku_name(MHC_SKU_SM80_STATIC_LAYER)) == "sm80_static_layer_rowfused_f32acc");
}

TEST_CASE("static SKUs: can_implement validates the arguments", "[cuda][static]") {
  const mhc_desc_t d = sdesc(MHC_OP_STATIC_LAYER, 3, 4, 64, MHC_DTYPE_FP32);
  PlanHolder p;
  p.plan = cuda_plan(d);
  OpData data = make_op_data(d, 5);
  DeviceSet dev(data, 0);
  mhc_args_t a = data.args(dev.ptrs);
  REQUIRE_OK(mhc_plan_can_implement(p.plan, &a));
  mhc_args_t missing = a;
  missing.h_res = nullptr;
  REQUIRE_STATUS(mhc_plan_can_implement(p.plan, &missing), MHC_STATUS_BAD_PARAM_NULL_POINTER, "args->h_res");
  mhc_args_t extra = a;
  extra.layer_output = a.residual;
  REQUIRE_STATUS(mhc_plan_can_implement(p.plan, &extra), MHC_STATUS_BAD_PARAM_VALUE, "args->layer_output");
  std::vector<float> host_out(3 * 4 * 64);
  mhc_args_t on_host = a;
  on_host.out_residual = host_out.data();
  REQUIRE_STATUS(mhc_plan_run(p.plan, nullptr, nullptr, 0, &on_host), MHC_STATUS_BAD_PARAM_MEMORY_SPACE,
                 "args->out_residual");
  mhc_args_t odd = a;
  odd.residual = static_cast<const char*>(a.residual) + 2;  // not even fp32-aligned
  REQUIRE_STATUS(mhc_plan_can_implement(p.plan, &odd), MHC_STATUS_BAD_PARAM_MISALIGNED, "args->residual");
  mhc_args_t alias = a;
  alias.out_residual = const_cast<void*>(a.residual);
  REQUIRE_STATUS(mhc_plan_can_implement(p.plan, &alias), MHC_STATUS_BAD_PARAM_VALUE, "overlaps");
}

TEST_CASE("static B1/B2/B3 against the host: small shapes, every n", "[cuda][static][grid]") {
  uint64_t seed = 1000;
  for (mhc_op_t op : kStaticOps)
    for (mhc_dtype_t act : kActs)
      for (int n : kAllN)
        for (int64_t C : {int64_t{1}, int64_t{3}, int64_t{64}, int64_t{1280}})
          for (int64_t B : {int64_t{1}, int64_t{2}, int64_t{31}}) check_static(sdesc(op, B, n, C, act), seed++);
}

TEST_CASE("static B1/B2/B3 against the host: large shapes", "[cuda][static][grid]") {
  uint64_t seed = 2000;
  for (mhc_op_t op : kStaticOps)
    for (mhc_dtype_t act : kActs) {
      for (int64_t C : {int64_t{1280}, int64_t{4096}, int64_t{7168}})
        for (int n : {4, 17, 32}) check_static(sdesc(op, 320, n, C, act), seed++);
      for (int64_t C : {int64_t{3}, int64_t{64}, int64_t{1280}})
        for (int n : {4, 8}) check_static(sdesc(op, 4097, n, C, act), seed++);
      check_static(sdesc(op, 4097, 4, 4096, act), seed++);
      check_static(sdesc(op, 4097, 2, 7168, act), seed++);
      // Rows too large for shared memory: B3 (x) and B1 (y) read x again from global memory.
      for (int n : {17, 32}) check_static(sdesc(op, 31, n, 7168, act), seed++);
      for (int64_t C : {int64_t{60000}, int64_t{60001}}) check_static(sdesc(op, 3, 4, C, act), seed++);
    }
}

TEST_CASE("static: Sinkhorn iteration counts 1 and 1000", "[cuda][static]") {
  uint64_t seed = 3000;
  for (mhc_op_t op : {MHC_OP_STATIC_POST, MHC_OP_STATIC_LAYER})
    for (mhc_dtype_t act : kActs)
      for (int iters : {1, 2, 1000})
        for (int n : {1, 4, 17, 32}) check_static(sdesc(op, 33, n, 64, act, iters), seed++);
}

// The guarded Sinkhorn on rows whose exp sums to <= eps (far below ln(eps), or -inf: left as they
// are, no NaN) and on rows whose exp overflows fp32 (shifted, the guard taken on the unshifted sum).
TEST_CASE("static: the Sinkhorn guard on extreme rows of h_res", "[cuda][static][guard]") {
  uint64_t seed = 4000;
  for (mhc_op_t op : {MHC_OP_STATIC_POST, MHC_OP_STATIC_LAYER})
    for (mhc_dtype_t act : kActs)
      for (int n : {2, 4, 17, 32}) {
        auto edit = [n](OpData& data) {
          const int h = spec_index(data, "args->h_res");
          auto* hr = reinterpret_cast<float*>(data.host[h].data());
          for (int j = 0; j < n; ++j) {
            hr[0 * n + j] = -INFINITY;                   // exp: 0, the row stays 0
            hr[1 * n + j] = -100.0f - static_cast<float>(j);  // ~1e-44: below eps, never normalized
            if (n > 2) hr[2 * n + j] = 100.0f - static_cast<float>(j);  // exp overflows fp32
          }
        };
        const auto outs = check_static(sdesc(op, 65, n, 256, act), seed++, 0, true, edit);
        for (const auto& o : outs) {
          // No NaN or Inf in any output (poison is a NaN, so this also checks every element was written).
          int64_t bad = 0;
          if (act == MHC_DTYPE_FP32) {
            for (size_t e = 0; e + 4 <= o.size(); e += 4) {
              float f;
              std::memcpy(&f, &o[e], 4);
              bad += !std::isfinite(f);
            }
          } else {
            for (size_t e = 0; e + 2 <= o.size(); e += 2) {
              uint16_t b;
              std::memcpy(&b, &o[e], 2);
              bad += (b & 0x7f80u) == 0x7f80u;
            }
          }
          INFO(mhc::op_name(op) << " n " << n);
          CHECK(bad == 0);
        }
      }
}

TEST_CASE("static: B1 without the optional rms output", "[cuda][static]") {
  for (mhc_dtype_t act : kActs) check_static(sdesc(MHC_OP_STATIC_PRE, 9, 4, 1280, act), 77, 0, false);
}

TEST_CASE("static: the single-stage B3 variant gives the default's bits", "[cuda][static][variant]") {
  uint64_t seed = 3500;
  for (mhc_dtype_t act : kActs)
    for (auto [B, n, C] : {std::tuple<int64_t, int, int64_t>{300, 4, 4096}, {65, 4, 1280}, {33, 17, 1280},
                           {700, 4, 7168}, {9, 32, 64}}) {
      const mhc_desc_t d = sdesc(MHC_OP_STATIC_LAYER, B, n, C, act);
      PlanHolder def, one;
      def.plan = cuda_plan(d);
      mhc_preference_t pref = cuda_only();
      pref.forced_sku = MHC_SKU_SM80_STATIC_LAYER_1STAGE;
      REQUIRE_OK(mhc_plan_select(&d, &pref, &one.plan));
      REQUIRE(std::string(mhc_sku_name(MHC_SKU_SM80_STATIC_LAYER_1STAGE)) == "sm80_static_layer_rowfused_f32acc_1stage");
      OpData data = make_op_data(d, seed++);
      DeviceSet dev(data, 0);
      const mhc_args_t a = data.args(dev.ptrs);
      const size_t oi = data.specs.size() - 1;
      dev.poison_outputs(data);
      REQUIRE_OK(mhc_plan_run(def.plan, nullptr, nullptr, 0, &a));
      CUDA_REQUIRE(cudaDeviceSynchronize());
      const auto ref = dev.download(oi);
      {  // the default's output against the host reference (two silent kernels would agree)
        PlanHolder host;
        mhc_preference_t hp = host_only();
        REQUIRE_OK(mhc_plan_select(&d, &hp, &host.plan));
        OpData h = data;
        const mhc_args_t ha = h.args(h.host_ptrs());
        REQUIRE_OK(mhc_plan_run(host.plan, nullptr, nullptr, 0, &ha));
        const Verdict v = compare_output(h, oi, ref.data());
        CHECK(v.bad == 0);
      }
      dev.poison_outputs(data);
      REQUIRE_OK(mhc_plan_run(one.plan, nullptr, nullptr, 0, &a));
      CUDA_REQUIRE(cudaDeviceSynchronize());
      INFO(dtype_name(act) << " B=" << B << " n=" << n << " C=" << C);
      CHECK(dev.download(oi) == ref);
    }
}

TEST_CASE("static: misaligned tensors give the same bits as aligned ones", "[cuda][static][align]") {
  uint64_t seed = 4000;
  for (mhc_op_t op : kStaticOps)
    for (mhc_dtype_t act : kActs)
      for (int n : {1, 4, 17, 32})
        for (int64_t C : {int64_t{64}, int64_t{1280}, int64_t{60000}}) {
          if (C == 60000 && n != 4) continue;
          const mhc_desc_t d = sdesc(op, C == 60000 ? 2 : 37, n, C, act);
          const auto aligned = check_static(d, seed);
          const auto shifted = check_static(d, seed, 1);
          INFO(mhc::op_name(op) << " " << dtype_name(act) << " n=" << n << " C=" << C);
          CHECK(aligned == shifted);
          ++seed;
        }
}

TEST_CASE("static: B3 equals B2 applied to B1's output", "[cuda][static][compose]") {
  uint64_t seed = 5000;
  for (mhc_dtype_t act : kActs)
    for (int n : {1, 4, 8, 17, 32})
      for (int64_t C : {int64_t{3}, int64_t{1280}, int64_t{7168}}) {
        const int64_t B = 65;
        const mhc_desc_t d3 = sdesc(MHC_OP_STATIC_LAYER, B, n, C, act);
        OpData data = make_op_data(d3, seed++);
        DeviceSet dev(data, 0);  // x, w, h_pre, h_post, h_res, out
        const size_t es = act == MHC_DTYPE_BF16 ? 2 : 4;
        void *li = nullptr, *out2 = nullptr;
        CUDA_REQUIRE(cudaMalloc(&li, B * C * es));
        CUDA_REQUIRE(cudaMalloc(&out2, B * n * C * es));
        PlanHolder p1, p2, p3;
        p1.plan = cuda_plan(sdesc(MHC_OP_STATIC_PRE, B, n, C, act));
        p2.plan = cuda_plan(sdesc(MHC_OP_STATIC_POST, B, n, C, act));
        p3.plan = cuda_plan(d3);
        const mhc_args_t a3 = data.args(dev.ptrs);
        REQUIRE_OK(mhc_plan_run(p3.plan, nullptr, nullptr, 0, &a3));
        mhc_args_t a1 = MHC_ARGS_INIT;
        a1.residual = a3.residual, a1.norm_weight = a3.norm_weight, a1.h_pre = a3.h_pre, a1.out_layer_input = li;
        REQUIRE_OK(mhc_plan_run(p1.plan, nullptr, nullptr, 0, &a1));
        mhc_args_t a2 = MHC_ARGS_INIT;
        a2.residual = a3.residual, a2.layer_output = li, a2.h_post = a3.h_post, a2.h_res = a3.h_res;
        a2.out_residual = out2;
        REQUIRE_OK(mhc_plan_run(p2.plan, nullptr, nullptr, 0, &a2));
        CUDA_REQUIRE(cudaDeviceSynchronize());
        const size_t out_i = data.specs.size() - 1;
        const auto o3 = dev.download(out_i);
        std::vector<unsigned char> o2(o3.size()), f(B * C * es);
        CUDA_REQUIRE(cudaMemcpy(o2.data(), out2, o2.size(), cudaMemcpyDeviceToHost));
        CUDA_REQUIRE(cudaMemcpy(f.data(), li, f.size(), cudaMemcpyDeviceToHost));
        cudaFree(li);
        cudaFree(out2);
        INFO(dtype_name(act) << " n=" << n << " C=" << C);
        if (act == MHC_DTYPE_FP32) {
          CHECK(o2 == o3);  // F = yn exactly in fp32: the same chain of roundings
        } else {
          // B2 sees F = bf16(yn): |B3 - B2(B1)| <= two half-ulp output roundings + s_post * ulp(F) / 2
          // (s_post < 2) + the fp32 accumulation bound of both (header).
          const mhc::TensorSpec& so = data.specs[out_i];
          const std::vector<double> terms = term_magnitudes(data, out_i);
          const double gamma = 2 * (n + 4) * std::ldexp(1.0, -24);
          mhc::TensorSpec sf = so;
          sf.elements = B * C;
          int64_t bad = 0;
          for (int64_t b = 0; b < B; ++b)
            for (int i = 0; i < n; ++i)
              for (int64_t x = 0; x < C; ++x) {
                const int64_t e = (b * n + i) * C + x;
                const double v3 = element(so, o3.data(), e), v2 = element(so, o2.data(), e);
                const double fv = element(sf, f.data(), b * C + x);
                const double allowed =
                    bf16_ulp(std::max(std::fabs(v3), std::fabs(v2))) + bf16_ulp(fv) + gamma * terms[e];
                if (!(std::fabs(v3 - v2) <= allowed)) ++bad;
              }
          CHECK(bad == 0);
        }
      }
}

TEST_CASE("static: a row's bits do not depend on the batch size", "[cuda][static][batch-invariant]") {
  uint64_t seed = 6000;
  for (mhc_op_t op : kStaticOps)
    for (mhc_dtype_t act : kActs)
      for (int n : {4, 32})
        for (int64_t C : {int64_t{3}, int64_t{1280}}) {
          const int64_t B = 300;
          const mhc_desc_t d = sdesc(op, B, n, C, act);
          OpData data = make_op_data(d, seed++, true);
          DeviceSet dev(data, 0);
          PlanHolder big, one;
          big.plan = cuda_plan(d);
          one.plan = cuda_plan(sdesc(op, 1, n, C, act));
          const mhc_args_t a = data.args(dev.ptrs);
          REQUIRE_OK(mhc_plan_run(big.plan, nullptr, nullptr, 0, &a));
          CUDA_REQUIRE(cudaDeviceSynchronize());
          std::vector<std::vector<unsigned char>> ref;
          for (size_t i = 0; i < data.specs.size(); ++i)
            if (data.specs[i].role == mhc::Role::kOutput) ref.push_back(dev.download(i));
          for (int64_t row : {int64_t{0}, int64_t{1}, int64_t{173}, B - 1}) {
            // The same row alone: every [B, ...] tensor advanced by `row` rows.
            mhc_args_t r = a;
            std::vector<std::pair<size_t, int64_t>> rowed;  // (spec index, elements per row)
            for (size_t i = 0; i < data.specs.size(); ++i) {
              const int64_t per = data.specs[i].elements / B;
              if (data.specs[i].elements % B != 0 || data.specs[i].elements < B) continue;
              const char* name = data.specs[i].name;
              if (!std::strcmp(name, "args->norm_weight") || !std::strcmp(name, "args->h_pre") ||
                  !std::strcmp(name, "args->h_post") || !std::strcmp(name, "args->h_res"))
                continue;
              const size_t es = data.specs[i].dtype == MHC_DTYPE_BF16 ? 2 : 4;
              *reinterpret_cast<char**>(reinterpret_cast<char*>(&r) + data.specs[i].offset) +=
                  static_cast<size_t>(row * per) * es;
              rowed.push_back({i, per});
            }
            dev.poison_outputs(data);
            REQUIRE_OK(mhc_plan_run(one.plan, nullptr, nullptr, 0, &r));
            CUDA_REQUIRE(cudaDeviceSynchronize());
            size_t o = 0;
            for (size_t i = 0; i < data.specs.size(); ++i) {
              if (data.specs[i].role != mhc::Role::kOutput) continue;
              int64_t per = 0;
              for (auto& [k, p] : rowed)
                if (k == i) per = p;
              const size_t es = data.specs[i].dtype == MHC_DTYPE_BF16 ? 2 : 4;
              const auto got = dev.download(i);
              INFO(mhc::op_name(op) << " " << dtype_name(act) << " n=" << n << " C=" << C << " row " << row << " "
                                    << data.specs[i].name);
              CHECK(std::memcmp(got.data() + row * per * es, ref[o].data() + row * per * es, per * es) == 0);
              ++o;
            }
          }
        }
}

TEST_CASE("static: run-to-run bit identity, graph capture and replay", "[cuda][static][graph]") {
  uint64_t seed = 7000;
  for (mhc_op_t op : kStaticOps)
    for (mhc_dtype_t act : kActs)
      for (int n : {4, 17})
        for (int64_t B : {int64_t{1}, int64_t{700}}) {
          const mhc_desc_t d = sdesc(op, B, n, 4096, act);
          PlanHolder p;
          p.plan = cuda_plan(d);  // fresh plan: its first run is the captured one
          OpData d0 = make_op_data(d, seed++, true), d1 = make_op_data(d, seed++, true);
          DeviceSet v0(d0, 0), v1(d1, 0);
          const mhc_args_t a0 = d0.args(v0.ptrs), a1 = d1.args(v1.ptrs);
          cudaStream_t s;
          CUDA_REQUIRE(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
          cudaGraph_t graph;
          cudaGraphExec_t exec;
          CUDA_REQUIRE(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
          const mhc_status_t st0 = mhc_plan_run(p.plan, s, nullptr, 0, &a0);
          const mhc_status_t st1 = mhc_plan_run(p.plan, s, nullptr, 0, &a1);
          CUDA_REQUIRE(cudaStreamEndCapture(s, &graph));
          REQUIRE_OK(st0);
          REQUIRE_OK(st1);
          CUDA_REQUIRE(cudaGraphInstantiate(&exec, graph, 0));
          std::vector<std::vector<unsigned char>> first;
          for (int rep = 0; rep < 3; ++rep) {
            v0.poison_outputs(d0);
            v1.poison_outputs(d1);
            CUDA_REQUIRE(cudaGraphLaunch(exec, s));
            CUDA_REQUIRE(cudaStreamSynchronize(s));
            std::vector<std::vector<unsigned char>> outs;
            for (size_t i = 0; i < d0.specs.size(); ++i)
              if (d0.specs[i].role == mhc::Role::kOutput) {
                outs.push_back(v0.download(i));
                outs.push_back(v1.download(i));
              }
            INFO(mhc::op_name(op) << " " << dtype_name(act) << " n=" << n << " B=" << B << " replay " << rep);
            if (rep == 0) first = outs;
            CHECK(outs == first);
          }
          // Eager runs give the graph's bits.
          v0.poison_outputs(d0);
          REQUIRE_OK(mhc_plan_run(p.plan, s, nullptr, 0, &a0));
          CUDA_REQUIRE(cudaStreamSynchronize(s));
          size_t k = 0;
          for (size_t i = 0; i < d0.specs.size(); ++i)
            if (d0.specs[i].role == mhc::Role::kOutput) {
              CHECK(v0.download(i) == first[k]);
              k += 2;
            }
          // And the graph's outputs are right.
          const mhc_args_t h0 = d0.args(d0.host_ptrs());
          PlanHolder host;
          mhc_preference_t hp = host_only();
          REQUIRE_OK(mhc_plan_select(&d, &hp, &host.plan));
          REQUIRE_OK(mhc_plan_run(host.plan, nullptr, nullptr, 0, &h0));
          k = 0;
          for (size_t i = 0; i < d0.specs.size(); ++i)
            if (d0.specs[i].role == mhc::Role::kOutput) {
              CHECK(compare_output(d0, i, first[k].data()).bad == 0);
              k += 2;
            }
          cudaGraphExecDestroy(exec);
          cudaGraphDestroy(graph);
          cudaStreamDestroy(s);
        }
}

TEST_CASE("static: one plan, two threads, two streams, no workspace", "[cuda][static][threads]") {
  uint64_t seed = 8000;
  for (mhc_op_t op : kStaticOps)
    for (mhc_dtype_t act : kActs) {
      const mhc_desc_t d = sdesc(op, 257, 17, 1280, act);
      PlanHolder p;
      p.plan = cuda_plan(d);
      OpData d0 = make_op_data(d, seed++, true), d1 = make_op_data(d, seed++, true);
      DeviceSet v0(d0, 0), v1(d1, 1);  // one aligned, one misaligned: different kernels at once
      std::vector<std::vector<unsigned char>> ref[2];
      for (int k = 0; k < 2; ++k) {
        DeviceSet& v = k ? v1 : v0;
        const mhc_args_t a = (k ? d1 : d0).args(v.ptrs);
        REQUIRE_OK(mhc_plan_run(p.plan, nullptr, nullptr, 0, &a));
        CUDA_REQUIRE(cudaDeviceSynchronize());
        for (size_t i = 0; i < d0.specs.size(); ++i)
          if (d0.specs[i].role == mhc::Role::kOutput) ref[k].push_back(v.download(i));
        v.poison_outputs(k ? d1 : d0);
      }
      const mhc_args_t a[2] = {d0.args(v0.ptrs), d1.args(v1.ptrs)};
      const auto status = run_on_two_threads(p.plan, a, 0, 25);  // no workspace
      REQUIRE(status[0] == MHC_STATUS_SUCCESS);
      REQUIRE(status[1] == MHC_STATUS_SUCCESS);
      for (int k = 0; k < 2; ++k) {
        DeviceSet& v = k ? v1 : v0;
        size_t o = 0;
        for (size_t i = 0; i < d0.specs.size(); ++i)
          if (d0.specs[i].role == mhc::Role::kOutput) {
            INFO(mhc::op_name(op) << " " << dtype_name(act) << " thread " << k << " " << d0.specs[i].name);
            CHECK(v.download(i) == ref[k][o++]);
          }
      }
    }
}

// A small set for compute-sanitizer (memcheck, racecheck, synccheck, initcheck): every kernel
// variant kind (vector, element-wise, resident, re-reading) on shapes that run in seconds.
TEST_CASE("static: sanitizer subset", "[sanitize]") {
  uint64_t seed = 9000;
  for (mhc_op_t op : kStaticOps)
    for (mhc_dtype_t act : kActs) {
      for (int n : {1, 4, 17, 32})
        for (int64_t C : {int64_t{3}, int64_t{64}, int64_t{1280}}) check_static(sdesc(op, 5, n, C, act), seed++);
      check_static(sdesc(op, 3, 4, 64, act), seed++, 1);
      check_static(sdesc(op, 2, 32, 7168, act), seed++);
      check_static(sdesc(op, 2, 4, 60001, act), seed++);
      check_static(sdesc(op, 300, 4, 64, act), seed++);
    }
}
