// Family B backward (B1' static_pre_backward, B2' static_post_backward, B3' static_layer_backward)
// CUDA SKUs against the fp64 host reference (docs/numerics.md "Backward (training): B1', B2', B3'";
// the tolerances are stated in docs/numerics.md "CUDA backend, family B backward").
//
// Activation gradients (dx, B2's dF): fp32 |gpu - ref| <= 1e-5 (|ref| + mean|ref|) + gamma A; bf16
// within one bf16 ulp of the reference (bf16 of the fp64 value) plus 1e-5 mean|ref| + gamma A. The
// kernels compute each element as one fp32 chain (about n + 4 roundings) and round once.
// Parameter gradients (fp32: dh_pre, dh_post, dh_res, dw): |gpu - ref| <= 1e-5 (|ref| + mean|ref|)
// + gamma A. gamma = (n + 8) 2^-24 and A the sum of the magnitudes of the terms the kernels form
// in fp32 (the parameters' partials are fp32 over a thread's columns, then fp64). The gamma A
// term matters where the terms cancel: dy = rms w dyn - y k at C = 1 (the norm of one element is
// constant: dy is ~eps times its terms), dh_pre at n = 1 (RMSNorm is scale invariant). For dx, A
// takes M's entries as 1 (their bound); for dh_res, A is dM's magnitude carried through the
// Sinkhorn's reverse (taken as at most 4 times its largest entry, times M0 over the row's first sum).
// Beyond numerics: bits independent of the batch composition and the kernels' work split (a run
// whose extra rows have a zero gradient gives the same parameter bits), of the pointer alignment
// and of the workspace; run-to-run identity, graph capture and replay, two threads on two streams;
// the accumulate bits; the Sinkhorn guard's branches; argument validation.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <tuple>

#include "device_set.hpp"
#include "dynamic_harness.hpp"

using namespace mhc_test;

namespace {

const mhc_op_t kOps[] = {MHC_OP_STATIC_PRE_BACKWARD, MHC_OP_STATIC_POST_BACKWARD, MHC_OP_STATIC_LAYER_BACKWARD};
const mhc_dtype_t kActs[] = {MHC_DTYPE_FP32, MHC_DTYPE_BF16};

bool has_pre(mhc_op_t op) { return op != MHC_OP_STATIC_POST_BACKWARD; }
bool has_post(mhc_op_t op) { return op != MHC_OP_STATIC_PRE_BACKWARD; }
const char* dtype_name(mhc_dtype_t t) { return t == MHC_DTYPE_BF16 ? "bf16" : "fp32"; }

mhc_desc_t bdesc(mhc_op_t op, int64_t B, int n, int64_t C, mhc_dtype_t act, int iters = 20) {
  mhc_desc_t d = make_desc(op, B, n, C);
  d.act_dtype = act;
  d.sinkhorn_repeat = iters;
  return d;
}

// The default SKUs: B1' and B3' the streamed ones (the same bits as the SKUs without the refill).
mhc_sku_t expected_sku(mhc_op_t op) {
  return op == MHC_OP_STATIC_PRE_BACKWARD    ? MHC_SKU_SM80_STATIC_PRE_BACKWARD_STREAMED
         : op == MHC_OP_STATIC_POST_BACKWARD ? MHC_SKU_SM80_STATIC_POST_BACKWARD
                                             : MHC_SKU_SM80_STATIC_LAYER_BACKWARD_STREAMED;
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

int spec_index(const OpData& d, const char* name) {
  for (size_t i = 0; i < d.specs.size(); ++i)
    if (!std::strcmp(d.specs[i].name, name)) return static_cast<int>(i);
  return -1;
}

void set_element(OpData& d, int k, int64_t i, double v) {
  if (d.specs[k].dtype == MHC_DTYPE_BF16) {
    const uint16_t b = mhc::num::double_to_bf16(v);
    std::memcpy(d.host[k].data() + i * 2, &b, 2);
  } else {
    const float f = static_cast<float>(v);
    std::memcpy(d.host[k].data() + i * 4, &f, 4);
  }
}

// A of every parameter gradient (see the header), from the inputs in fp64.
struct Magnitudes {
  std::vector<double> pre, post, res, w;  // the parameters' gradients
  std::vector<double> dx, dF;             // per element of the activation gradients
};

Magnitudes magnitudes(const OpData& d) {
  const mhc::Problem& p = d.problem;
  const int n = p.n;
  const int64_t B = p.T, C = p.C;
  const bool pre = has_pre(p.desc.op), post = has_post(p.desc.op);
  const double eps = p.desc.static_eps;
  auto tensor = [&](const char* name) {
    const int k = spec_index(d, name);
    return [&d, k](int64_t i) { return k < 0 ? 0.0 : element(d.specs[k], d.host[k].data(), i); };
  };
  const auto x = tensor("args->residual"), w = tensor("args->norm_weight"), f = tensor("args->layer_output");
  const auto G = tensor(post ? "args->grad_residual" : "args->grad_layer_input");
  const auto hp = tensor("args->h_pre"), hq = tensor("args->h_post"), hr = tensor("args->h_res");
  std::vector<double> s_pre(n), s_post(n);
  for (int i = 0; i < n; ++i) {
    s_pre[i] = 1.0 / (1.0 + std::exp(-hp(i)));
    s_post[i] = 2.0 / (1.0 + std::exp(-hq(i)));
  }
  Magnitudes m;
  m.pre.assign(pre ? n : 0, 0.0), m.post.assign(post ? n : 0, 0.0), m.w.assign(pre ? C : 0, 0.0);
  m.dx.assign(B * n * C, 0.0), m.dF.assign(pre ? 0 : B * C, 0.0);
  std::vector<double> dM(post ? n * n : 0, 0.0);
  std::vector<double> y(C), ya(C), dyn(C), dyna(C);
  for (int64_t b = 0; b < B; ++b) {
    double sq = 0.0, S = 0.0, Sa = 0.0;
    for (int64_t c = 0; c < C; ++c) {
      y[c] = ya[c] = 0.0;
      for (int i = 0; i < n; ++i) {
        y[c] += s_pre[i] * x((b * n + i) * C + c);
        ya[c] += s_pre[i] * std::fabs(x((b * n + i) * C + c));
      }
      if (post) {
        dyn[c] = dyna[c] = 0.0;
        for (int i = 0; i < n; ++i) {
          dyn[c] += s_post[i] * G((b * n + i) * C + c);
          dyna[c] += s_post[i] * std::fabs(G((b * n + i) * C + c));
        }
      } else {
        dyn[c] = G(b * C + c);
        dyna[c] = std::fabs(dyn[c]);
      }
      sq += y[c] * y[c];
      if (pre) S += dyn[c] * w(c) * y[c], Sa += dyna[c] * std::fabs(w(c)) * ya[c];
    }
    const double r = 1.0 / std::sqrt(sq / C + eps);
    const double k = r * r * r / C * S, ka = r * r * r / C * Sa;
    for (int64_t c = 0; c < C; ++c) {
      // dx[j] = sum_i M[i][j] G_i (M's entries are at most 1) + s_pre[j] dy
      double ga = 0.0;
      if (post)
        for (int i = 0; i < n; ++i) ga += std::fabs(G((b * n + i) * C + c));
      const double dya = pre ? r * std::fabs(w(c)) * dyna[c] + (std::fabs(k) + ka) * ya[c] : 0.0;
      for (int j = 0; j < n; ++j) m.dx[(b * n + j) * C + c] = ga + s_pre[j] * dya;
      if (!pre) m.dF[b * C + c] = dyna[c];
      if (pre) {
        for (int i = 0; i < n; ++i) {
          const double xa = std::fabs(x((b * n + i) * C + c));
          m.pre[i] += (r * std::fabs(w(c)) * dyna[c] + (std::fabs(k) + ka) * ya[c]) * xa;
        }
        m.w[c] += dyna[c] * ya[c] * r;
      }
      if (post) {
        const double Fa = pre ? ya[c] * r * std::fabs(w(c)) : std::fabs(f(b * C + c));
        for (int i = 0; i < n; ++i) {
          const double ga = std::fabs(G((b * n + i) * C + c));
          m.post[i] += ga * Fa;
          for (int j = 0; j < n; ++j) dM[i * n + j] += ga * std::fabs(x((b * n + j) * C + c));
        }
      }
    }
  }
  for (int i = 0; i < (pre ? n : 0); ++i) m.pre[i] *= s_pre[i] * (1.0 - s_pre[i]);
  for (int i = 0; i < (post ? n : 0); ++i) m.post[i] *= s_post[i] * (1.0 - s_post[i] / 2.0);
  if (post) {
    const double top = *std::max_element(dM.begin(), dM.end());
    m.res.assign(n * n, 0.0);
    for (int i = 0; i < n; ++i) {
      double mx = -INFINITY;
      for (int j = 0; j < n; ++j) mx = std::max(mx, hr(i * n + j));
      const double shift = mx > 700.0 ? mx : 0.0;
      double sum = 0.0;
      std::vector<double> m0(n);
      for (int j = 0; j < n; ++j) sum += (m0[j] = std::exp(hr(i * n + j) - shift));
      for (int j = 0; j < n; ++j) m.res[i * n + j] = 4.0 * top * (sum > eps ? m0[j] / sum : m0[j]);
    }
  }
  return m;
}

struct Verdict {
  int64_t bad = 0, first = -1;
  double got = 0, want = 0, worst = 0;
  std::string describe(const char* name) const {
    return std::string(name) + ": " + std::to_string(bad) + " off, first at " + std::to_string(first) + " got " +
           std::to_string(got) + " want " + std::to_string(want) + ", worst err/allowed " + std::to_string(worst);
  }
};

// A parameter gradient (fp32) against the reference: 1e-5 (|ref| + mean|ref|) + gamma A.
Verdict compare_param(const mhc::TensorSpec& s, const void* got, const void* want, const std::vector<double>& A,
                      int n) {
  Verdict v;
  const double gamma = (n + 8) * std::ldexp(1.0, -24);
  double mean = 0.0;
  for (int64_t i = 0; i < s.elements; ++i) mean += std::fabs(element(s, want, i));
  mean /= std::max<int64_t>(1, s.elements);
  for (int64_t i = 0; i < s.elements; ++i) {
    const double g = element(s, got, i), w = element(s, want, i);
    const double allowed = 1e-5 * (std::fabs(w) + mean) + gamma * A[i] + 1e-300;
    const double ratio = std::fabs(g - w) / allowed;
    if (!(ratio <= 1.0)) {
      if (v.bad++ == 0) v.first = i, v.got = g, v.want = w;
    }
    v.worst = std::isfinite(ratio) ? std::max(v.worst, ratio) : INFINITY;
  }
  return v;
}

// An activation gradient against the reference: fp32 1e-5 (|ref| + mean|ref|) + gamma A; bf16 one
// ulp of the reference + 1e-5 mean|ref| + gamma A.
Verdict compare_act(const mhc::TensorSpec& s, const void* got, const void* want, const std::vector<double>& A, int n) {
  Verdict v;
  const double gamma = (n + 8) * std::ldexp(1.0, -24);
  double mean = 0.0;
  for (int64_t i = 0; i < s.elements; ++i) mean += std::fabs(element(s, want, i));
  mean /= std::max<int64_t>(1, s.elements);
  for (int64_t i = 0; i < s.elements; ++i) {
    const double g = element(s, got, i), w = element(s, want, i);
    double allowed = gamma * A[i] + 1e-300;
    if (s.dtype == MHC_DTYPE_BF16) {
      int e = 0;
      std::frexp(std::fabs(w) > 0 ? std::fabs(w) : 1e-30, &e);
      allowed += std::ldexp(1.0, (e - 1 < -126 ? -126 : e - 1) - 7) * 1.0000001 + 1e-5 * mean;
    } else {
      allowed += 1e-5 * (std::fabs(w) + mean);
    }
    const double ratio = std::fabs(g - w) / allowed;
    if (!(ratio <= 1.0)) {
      if (v.bad++ == 0) v.first = i, v.got = g, v.want = w;
    }
    v.worst = std::isfinite(ratio) ? std::max(v.worst, ratio) : INFINITY;
  }
  return v;
}

// Every output of `d` (host = the reference's outputs) against the CUDA outputs `got` (spec order,
// outputs only).
void check_outputs(const OpData& d, const std::vector<std::vector<unsigned char>>& got, const std::string& what) {
  const Magnitudes mag = magnitudes(d);
  size_t o = 0;
  for (size_t i = 0; i < d.specs.size(); ++i) {
    const mhc::TensorSpec& s = d.specs[i];
    if (s.role != mhc::Role::kOutput) continue;
    const std::string name = s.name;
    const bool act = name == "args->out_grad_residual" || name == "args->out_grad_layer_output";
    const std::vector<double>& A = name == "args->out_grad_h_pre"          ? mag.pre
                                   : name == "args->out_grad_h_post"       ? mag.post
                                   : name == "args->out_grad_h_res"        ? mag.res
                                   : name == "args->out_grad_norm_weight"  ? mag.w
                                   : name == "args->out_grad_layer_output" ? mag.dF
                                                                           : mag.dx;
    REQUIRE(static_cast<int64_t>(A.size()) == s.elements);
    const Verdict v = act ? compare_act(s, got[o].data(), d.host[i].data(), A, d.problem.n)
                          : compare_param(s, got[o].data(), d.host[i].data(), A, d.problem.n);
    INFO(what << " " << v.describe(s.name));
    CHECK(v.bad == 0);
    ++o;
  }
}

std::string label(const mhc_desc_t& d) {
  return std::string(mhc::op_name(d.op)) + " " + dtype_name(d.act_dtype) + " B=" + std::to_string(d.tokens) +
         " n=" + std::to_string(d.n) + " C=" + std::to_string(d.hidden) + " iters=" + std::to_string(d.sinkhorn_repeat);
}

// The CUDA plan of `d`: the default SKU, or `forced`.
mhc_plan_t cuda_plan(const mhc_desc_t& d, mhc_sku_t forced = MHC_SKU_NONE) {
  mhc_preference_t pref = cuda_only();
  pref.forced_sku = forced;
  pref.required = MHC_GUARANTEE_DETERMINISTIC | MHC_GUARANTEE_NO_ATOMICS | MHC_GUARANTEE_BIT_STABLE |
                  MHC_GUARANTEE_BATCH_INVARIANT;
  mhc_plan_t p = nullptr;
  REQUIRE_OK(mhc_plan_select(&d, &pref, &p));
  mhc_sku_t sku = 0;
  REQUIRE_OK(mhc_plan_get_sku(p, &sku));
  REQUIRE(sku == (forced != MHC_SKU_NONE ? forced : expected_sku(d.op)));
  return p;
}

// Random finite old values in every output (for accumulating runs).
void fill_outputs(OpData& d, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (size_t i = 0; i < d.specs.size(); ++i) {
    if (d.specs[i].role != mhc::Role::kOutput) continue;
    for (int64_t e = 0; e < d.specs[i].elements; ++e) set_element(d, static_cast<int>(i), e, u(rng));
  }
}

// Runs `d` on the CUDA plan (tensors shifted by `shift` elements; `accumulate` bits with the
// outputs' old values from `d`, else poisoned outputs) and on the host plan, checks every output
// and returns the CUDA outputs. `edit` may change the inputs first.
std::vector<std::vector<unsigned char>> check_backward(const mhc_desc_t& desc, uint64_t seed, int shift = 0,
                                                       uint32_t accumulate = 0,
                                                       const std::function<void(OpData&)>& edit = {},
                                                       mhc_sku_t forced = MHC_SKU_NONE) {
  PlanHolder cuda, host;
  cuda.plan = cuda_plan(desc, forced);
  mhc_preference_t hp = host_only();
  REQUIRE_OK(mhc_plan_select(&desc, &hp, &host.plan));
  OpData data = make_op_data(desc, seed);
  if (edit) edit(data);
  if (accumulate) fill_outputs(data, seed ^ 0xacc);
  DeviceSet dev(data, shift);
  if (!accumulate) dev.poison_outputs(data);
  mhc_args_t da = data.args(dev.ptrs);
  da.grad_accumulate = accumulate;
  REQUIRE_OK(mhc_plan_can_implement(cuda.plan, &da));
  REQUIRE_OK(mhc_plan_run(cuda.plan, nullptr, nullptr, 0, &da));
  CUDA_REQUIRE(cudaDeviceSynchronize());
  const auto got = dev.outputs(data);
  mhc_args_t ha = data.args(data.host_ptrs());
  ha.grad_accumulate = accumulate;
  REQUIRE_OK(mhc_plan_run(host.plan, nullptr, nullptr, 0, &ha));
  check_outputs(data, got, label(desc) + " shift=" + std::to_string(shift) + " accumulate=" + std::to_string(accumulate));
  return got;
}

uint32_t all_bits(mhc_op_t op) {
  uint32_t b = MHC_GRAD_ACCUMULATE_RESIDUAL;
  if (has_pre(op)) b |= MHC_GRAD_ACCUMULATE_H_PRE | MHC_GRAD_ACCUMULATE_NORM_WEIGHT;
  if (has_post(op)) b |= MHC_GRAD_ACCUMULATE_H_POST | MHC_GRAD_ACCUMULATE_H_RES;
  if (op == MHC_OP_STATIC_POST_BACKWARD) b |= MHC_GRAD_ACCUMULATE_LAYER_OUTPUT;
  return b;
}

bool finite_outputs(const OpData& d, const std::vector<std::vector<unsigned char>>& got) {
  size_t o = 0;
  for (size_t i = 0; i < d.specs.size(); ++i) {
    if (d.specs[i].role != mhc::Role::kOutput) continue;
    for (int64_t e = 0; e < d.specs[i].elements; ++e)
      if (!std::isfinite(element(d.specs[i], got[o].data(), e))) return false;
    ++o;
  }
  return true;
}

}  // namespace

// First in this file on purpose: a plan's very first run (shared-memory opt-in, occupancy
// queries) happens inside a stream capture.
TEST_CASE("static backward: the first run of a kernel is a captured one", "[cuda][static_backward][graph]") {
  for (mhc_op_t op : kOps) {
    const mhc_desc_t d = bdesc(op, 97, 13, 2000, MHC_DTYPE_FP32);
    PlanHolder p;
    p.plan = cuda_plan(d);
    OpData data = make_op_data(d, 11);
    DeviceSet dev(data, 0);
    dev.poison_outputs(data);
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
    const auto got = dev.outputs(data);
    PlanHolder host;
    mhc_preference_t hp = host_only();
    REQUIRE_OK(mhc_plan_select(&d, &hp, &host.plan));
    const mhc_args_t ha = data.args(data.host_ptrs());
    REQUIRE_OK(mhc_plan_run(host.plan, nullptr, nullptr, 0, &ha));
    check_outputs(data, got, label(d) + " captured first run");
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
    cudaStreamDestroy(s);
  }
}

TEST_CASE("static backward SKUs: ids, names, guarantees, workspace", "[cuda][static_backward]") {
  CHECK(std::string(mhc_sku_name(MHC_SKU_SM80_STATIC_PRE_BACKWARD)) == "sm80_f32acc_static_pre_backward");
  CHECK(std::string(mhc_sku_name(MHC_SKU_SM80_STATIC_POST_BACKWARD)) == "sm80_f32acc_static_post_backward");
  CHECK(std::string(mhc_sku_name(MHC_SKU_SM80_STATIC_LAYER_BACKWARD)) == "sm80_f32acc_static_layer_backward");
  for (mhc_op_t op : kOps)
    for (mhc_dtype_t act : kActs)
      for (int n : {1, 4, 17, 32}) {
        PlanHolder p;
        p.plan = cuda_plan(bdesc(op, 5, n, 64, act));
        size_t ws = 0;
        REQUIRE_OK(mhc_plan_workspace_size(p.plan, &ws));
        CHECK(ws > 0);
        CHECK(ws % 256 == 0);
        mhc_precision_guarantee_t g;
        g.struct_size = sizeof g;
        REQUIRE_OK(mhc_plan_get_precision_guarantee(p.plan, &g));
        CHECK(g.math_precision == MHC_DTYPE_FP32);
        CHECK(g.accumulator == MHC_DTYPE_FP32);
        CHECK(g.flags == (MHC_GUARANTEE_DETERMINISTIC | MHC_GUARANTEE_BIT_STABLE | MHC_GUARANTEE_BATCH_INVARIANT |
                          MHC_GUARANTEE_NO_ATOMICS));
      }
  // The workspace grows with the plan's rows, C and (for the Sinkhorn's trace) the iterations.
  size_t small = 0, big = 0, iters = 0;
  PlanHolder a, b, c;
  a.plan = cuda_plan(bdesc(MHC_OP_STATIC_LAYER_BACKWARD, 64, 4, 1024, MHC_DTYPE_FP32));
  b.plan = cuda_plan(bdesc(MHC_OP_STATIC_LAYER_BACKWARD, 8192, 4, 4096, MHC_DTYPE_FP32));
  c.plan = cuda_plan(bdesc(MHC_OP_STATIC_POST_BACKWARD, 64, 32, 1024, MHC_DTYPE_FP32, 1000));
  REQUIRE_OK(mhc_plan_workspace_size(a.plan, &small));
  REQUIRE_OK(mhc_plan_workspace_size(b.plan, &big));
  REQUIRE_OK(mhc_plan_workspace_size(c.plan, &iters));
  CHECK(small < big);
  CHECK(big <= size_t{40} << 20);  // 16-step partials at B = 8192: dw 512 x 4096 doubles
  CHECK(iters >= size_t{2} * 1000 * 32 * 32 * 8);
}

TEST_CASE("static backward: can_implement validates the arguments", "[cuda][static_backward]") {
  for (mhc_op_t op : kOps) {
    const mhc_desc_t d = bdesc(op, 3, 4, 64, MHC_DTYPE_FP32);
    PlanHolder p;
    p.plan = cuda_plan(d);
    OpData data = make_op_data(d, 5);
    DeviceSet dev(data, 0);
    mhc_args_t a = data.args(dev.ptrs);
    REQUIRE_OK(mhc_plan_can_implement(p.plan, &a));
    mhc_args_t missing = a;
    if (has_post(op)) {
      missing.out_grad_h_res = nullptr;
      REQUIRE_STATUS(mhc_plan_can_implement(p.plan, &missing), MHC_STATUS_BAD_PARAM_NULL_POINTER, "args->out_grad_h_res");
    } else {
      missing.out_grad_norm_weight = nullptr;
      REQUIRE_STATUS(mhc_plan_can_implement(p.plan, &missing), MHC_STATUS_BAD_PARAM_NULL_POINTER,
                     "args->out_grad_norm_weight");
    }
    std::vector<float> host_out(3 * 4 * 64);
    mhc_args_t on_host = a;
    on_host.out_grad_residual = host_out.data();
    REQUIRE_STATUS(mhc_plan_run(p.plan, nullptr, nullptr, 0, &on_host), MHC_STATUS_BAD_PARAM_MEMORY_SPACE,
                   "args->out_grad_residual");
    mhc_args_t odd = a;
    odd.residual = static_cast<const char*>(a.residual) + 2;  // not even fp32-aligned
    REQUIRE_STATUS(mhc_plan_can_implement(p.plan, &odd), MHC_STATUS_BAD_PARAM_MISALIGNED, "args->residual");
    mhc_args_t alias = a;
    alias.out_grad_residual = const_cast<void*>(a.residual);
    REQUIRE_STATUS(mhc_plan_can_implement(p.plan, &alias), MHC_STATUS_BAD_PARAM_VALUE, "overlaps");
    mhc_args_t foreign = a;  // a bit of an output this op does not write (no static-H op writes dfn)
    foreign.grad_accumulate = MHC_GRAD_ACCUMULATE_FN;
    REQUIRE_STATUS(mhc_plan_can_implement(p.plan, &foreign), MHC_STATUS_BAD_PARAM_VALUE, "grad_accumulate");
    mhc_args_t small_ws = a;  // a caller workspace smaller than the plan's
    size_t ws = 0;
    REQUIRE_OK(mhc_plan_workspace_size(p.plan, &ws));
    void* w = nullptr;
    CUDA_REQUIRE(cudaMalloc(&w, ws));
    CHECK(mhc_plan_run(p.plan, nullptr, w, ws - 256, &small_ws) == MHC_STATUS_BAD_PARAM_WORKSPACE);
    cudaFree(w);
  }
}

TEST_CASE("static backward against the host: small shapes, every n", "[cuda][static_backward][grid]") {
  uint64_t seed = 1000;
  for (mhc_op_t op : kOps)
    for (mhc_dtype_t act : kActs)
      for (int n : {1, 2, 3, 4, 5, 8, 17, 32})
        for (int64_t C : {int64_t{1}, int64_t{3}, int64_t{13}, int64_t{64}, int64_t{1283}})
          for (int64_t B : {int64_t{1}, int64_t{3}, int64_t{37}}) check_backward(bdesc(op, B, n, C, act), seed++);
}

TEST_CASE("static backward against the host: large shapes", "[cuda][static_backward][grid]") {
  uint64_t seed = 2000;
  for (mhc_op_t op : kOps)
    for (mhc_dtype_t act : kActs) {
      // Shapes: the host reference costs ~B C n^2, so n > 4 runs on fewer rows. A run folds 16 row
      // steps per CTA once its per-step partials pass 16 MiB (steps x (C + 24) x 8 bytes), so the
      // fold cases need B x C of a few million, not B = 8192.
      for (int64_t C : {int64_t{1280}, int64_t{4096}}) {
        check_backward(bdesc(op, 300, 4, C, act), seed++);
        for (int n : {17, 32}) check_backward(bdesc(op, 40, n, C, act), seed++);
      }
      check_backward(bdesc(op, 200, 4, 7168, act), seed++);
      check_backward(bdesc(op, 600, 4, 4096, act), seed++);   // 16-step folds, dw's accumulator in shared memory
      check_backward(bdesc(op, 3300, 4, 1280, act), seed++);  // 16-step folds with two rows per step
      check_backward(bdesc(op, 2100, 8, 1280, act), seed++);  // the tile kernel with the dw fold
      check_backward(bdesc(op, 250, 4, 10000, act), seed++);  // 16-step folds, dw's accumulator in global memory
      check_backward(bdesc(op, 8, 32, 4096, act), seed++);    // rows beyond shared memory: read twice
      for (int64_t C : {int64_t{60000}, int64_t{60001}}) check_backward(bdesc(op, 3, 4, C, act), seed++);
    }
}

TEST_CASE("static backward: Sinkhorn iteration counts 1, 2 and 1000", "[cuda][static_backward]") {
  uint64_t seed = 3000;
  for (mhc_op_t op : {MHC_OP_STATIC_POST_BACKWARD, MHC_OP_STATIC_LAYER_BACKWARD})
    for (mhc_dtype_t act : kActs)
      for (int iters : {1, 2, 1000})
        for (int n : {1, 4, 17, 32}) check_backward(bdesc(op, 33, n, 64, act, iters), seed++);
}

// The guarded Sinkhorn's branches: a row of -inf and a row far below ln(eps) (left as they are by
// every step: their reverse is the identity), a row whose exp overflows fp32 (the row kernel's M
// shifts it) and one whose exp overflows fp64 (the finalize shifts it).
TEST_CASE("static backward: the Sinkhorn guard on extreme rows of h_res", "[cuda][static_backward][guard]") {
  uint64_t seed = 4000;
  for (mhc_op_t op : {MHC_OP_STATIC_POST_BACKWARD, MHC_OP_STATIC_LAYER_BACKWARD})
    for (mhc_dtype_t act : kActs)
      for (int n : {2, 4, 5, 17, 32}) {
        OpData* seen = nullptr;
        OpData copy;
        auto edit = [n, &copy, &seen](OpData& data) {
          const int h = spec_index(data, "args->h_res");
          auto* hr = reinterpret_cast<float*>(data.host[h].data());
          for (int j = 0; j < n; ++j) {
            hr[0 * n + j] = -INFINITY;
            hr[1 * n + j] = -100.0f - static_cast<float>(j);
            if (n > 2) hr[2 * n + j] = 100.0f - static_cast<float>(j);
            if (n > 3) hr[3 * n + j] = 750.0f - static_cast<float>(j);
          }
          copy = data;
          seen = &copy;
        };
        const auto got = check_backward(bdesc(op, 65, n, 256, act), seed++, 0, 0, edit);
        REQUIRE(seen != nullptr);
        INFO(mhc::op_name(op) << " " << dtype_name(act) << " n=" << n);
        CHECK(finite_outputs(*seen, got));
      }
}

TEST_CASE("static backward: accumulate bits, alone and together", "[cuda][static_backward][accumulate]") {
  uint64_t seed = 5000;
  for (mhc_op_t op : kOps)
    for (mhc_dtype_t act : kActs)
      for (auto [B, n, C] : {std::tuple<int64_t, int, int64_t>{5, 4, 13}, {300, 4, 1280}, {37, 17, 64}, {600, 4, 4096}}) {
        const uint32_t all = all_bits(op);
        check_backward(bdesc(op, B, n, C, act), seed++, 0, all);
        if (B > 300) continue;  // each bit alone on the smaller shapes
        for (uint32_t bit = 1; bit <= all; bit <<= 1) {
          if (!(all & bit)) continue;
          // That output adds to its old values; every other is overwritten without being read
          // (its old contents are NaN: poison).
          const mhc_desc_t d = bdesc(op, B, n, C, act);
          PlanHolder cuda, host;
          cuda.plan = cuda_plan(d);
          mhc_preference_t hp = host_only();
          REQUIRE_OK(mhc_plan_select(&d, &hp, &host.plan));
          OpData data = make_op_data(d, seed++);
          fill_outputs(data, seed);
          for (size_t i = 0; i < data.specs.size(); ++i) {
            if (data.specs[i].role != mhc::Role::kOutput) continue;
            if (data.specs[i].accumulate_bit != bit) data.poison(i);
          }
          DeviceSet dev(data, 0);
          mhc_args_t da = data.args(dev.ptrs);
          da.grad_accumulate = bit;
          REQUIRE_OK(mhc_plan_run(cuda.plan, nullptr, nullptr, 0, &da));
          CUDA_REQUIRE(cudaDeviceSynchronize());
          const auto got = dev.outputs(data);
          mhc_args_t ha = data.args(data.host_ptrs());
          ha.grad_accumulate = bit;
          REQUIRE_OK(mhc_plan_run(host.plan, nullptr, nullptr, 0, &ha));
          check_outputs(data, got, label(d) + " bit " + std::to_string(bit));
        }
      }
}

// The parameters' sums do not depend on how the rows are split into work: a run whose rows past
// the first B1 have a zero arriving gradient (their terms are exact zeros) gives the parameter
// gradients of the run of the first B1 rows bit for bit, although the large run folds 16 row steps
// per CTA and the small one writes a partial per step (and their grids differ); the first B1 rows
// of dx agree too.
TEST_CASE("static backward: parameter bits independent of the work split", "[cuda][static_backward][split]") {
  uint64_t seed = 6000;
  for (mhc_op_t op : kOps)
    for (mhc_dtype_t act : kActs)
      for (auto [B1, B2, n, C] : {std::tuple<int64_t, int64_t, int, int64_t>{300, 3300, 4, 1280},
                                  {150, 600, 4, 4096}, {150, 250, 4, 10000}, {300, 2100, 8, 1280},
                                  {1, 2100, 1, 64}}) {
        const mhc_desc_t big = bdesc(op, B2, n, C, act);
        OpData data = make_op_data(big, seed++);
        const int gi = spec_index(data, has_post(op) ? "args->grad_residual" : "args->grad_layer_input");
        const int64_t per_row = data.specs[gi].elements / B2;
        for (int64_t e = B1 * per_row; e < data.specs[gi].elements; ++e) set_element(data, gi, e, 0.0);
        DeviceSet dev(data, 0);
        PlanHolder pb;
        pb.plan = cuda_plan(big);
        dev.poison_outputs(data);
        const mhc_args_t a = data.args(dev.ptrs);
        REQUIRE_OK(mhc_plan_run(pb.plan, nullptr, nullptr, 0, &a));
        CUDA_REQUIRE(cudaDeviceSynchronize());
        const auto full = dev.outputs(data);
        // The first B1 rows, on the same plan (args.tokens) and on a plan of B1 rows.
        for (int way = 0; way < 2; ++way) {
          PlanHolder ps;
          if (way == 1) ps.plan = cuda_plan(bdesc(op, B1, n, C, act));
          dev.poison_outputs(data);
          mhc_args_t s = a;
          s.tokens = B1;
          REQUIRE_OK(mhc_plan_run(way ? ps.plan : pb.plan, nullptr, nullptr, 0, &s));
          CUDA_REQUIRE(cudaDeviceSynchronize());
          const auto part = dev.outputs(data);
          size_t o = 0;
          for (size_t i = 0; i < data.specs.size(); ++i) {
            if (data.specs[i].role != mhc::Role::kOutput) continue;
            const mhc::TensorSpec& sp = data.specs[i];
            const bool per_token = sp.token_dim >= 0;
            const size_t bytes = per_token ? full[o].size() / B2 * B1 : full[o].size();
            INFO(label(big) << " B1=" << B1 << " way " << way << " " << sp.name);
            CHECK(std::memcmp(part[o].data(), full[o].data(), bytes) == 0);
            ++o;
          }
        }
        // And the big run is right.
        PlanHolder host;
        mhc_preference_t hp = host_only();
        REQUIRE_OK(mhc_plan_select(&big, &hp, &host.plan));
        const mhc_args_t ha = data.args(data.host_ptrs());
        REQUIRE_OK(mhc_plan_run(host.plan, nullptr, nullptr, 0, &ha));
        check_outputs(data, full, label(big) + " zero tail");
      }
}

TEST_CASE("static backward: misaligned tensors and a caller workspace give the same bits",
          "[cuda][static_backward][align]") {
  uint64_t seed = 7000;
  for (mhc_op_t op : kOps)
    for (mhc_dtype_t act : kActs)
      for (int n : {1, 4, 17})
        for (int64_t C : {int64_t{64}, int64_t{1280}}) {
          const mhc_desc_t d = bdesc(op, 37, n, C, act);
          const auto aligned = check_backward(d, seed);
          const auto shifted = check_backward(d, seed, 1);
          INFO(label(d));
          CHECK(aligned == shifted);
          // The caller's workspace instead of the plan's scratch.
          PlanHolder p;
          p.plan = cuda_plan(d);
          OpData data = make_op_data(d, seed);
          DeviceSet dev(data, 0);
          dev.poison_outputs(data);
          size_t ws = 0;
          REQUIRE_OK(mhc_plan_workspace_size(p.plan, &ws));
          void* w = nullptr;
          CUDA_REQUIRE(cudaMalloc(&w, ws));
          CUDA_REQUIRE(cudaMemset(w, 0xff, ws));  // NaN everywhere: nothing may be read before it is written
          const mhc_args_t a = data.args(dev.ptrs);
          REQUIRE_OK(mhc_plan_run(p.plan, nullptr, w, ws, &a));
          CUDA_REQUIRE(cudaDeviceSynchronize());
          CHECK(dev.outputs(data) == aligned);
          cudaFree(w);
          ++seed;
        }
}

TEST_CASE("static backward: a row's gradients do not depend on the batch", "[cuda][static_backward][batch-invariant]") {
  uint64_t seed = 8000;
  for (mhc_op_t op : kOps)
    for (mhc_dtype_t act : kActs)
      for (int n : {4, 32}) {
        const int64_t B = 300, C = 1280;
        const mhc_desc_t d = bdesc(op, B, n, C, act);
        OpData data = make_op_data(d, seed++);
        DeviceSet dev(data, 0);
        PlanHolder big, one;
        big.plan = cuda_plan(d);
        one.plan = cuda_plan(bdesc(op, 1, n, C, act));
        const mhc_args_t a = data.args(dev.ptrs);
        REQUIRE_OK(mhc_plan_run(big.plan, nullptr, nullptr, 0, &a));
        CUDA_REQUIRE(cudaDeviceSynchronize());
        const auto ref = dev.outputs(data);
        for (int64_t row : {int64_t{0}, int64_t{173}, B - 1}) {
          mhc_args_t r = a;  // the row alone: every [B, ...] tensor advanced by `row` rows
          std::vector<int64_t> per(data.specs.size(), 0);
          for (size_t i = 0; i < data.specs.size(); ++i) {
            const mhc::TensorSpec& sp = data.specs[i];
            if (sp.token_dim < 0) continue;
            per[i] = sp.elements / B;
            const size_t es = sp.dtype == MHC_DTYPE_BF16 ? 2 : 4;
            *reinterpret_cast<char**>(reinterpret_cast<char*>(&r) + sp.offset) += static_cast<size_t>(row * per[i]) * es;
          }
          dev.poison_outputs(data);
          REQUIRE_OK(mhc_plan_run(one.plan, nullptr, nullptr, 0, &r));
          CUDA_REQUIRE(cudaDeviceSynchronize());
          const auto got = dev.outputs(data);
          size_t o = 0;
          for (size_t i = 0; i < data.specs.size(); ++i) {
            if (data.specs[i].role != mhc::Role::kOutput) continue;
            if (per[i] > 0) {
              const size_t es = data.specs[i].dtype == MHC_DTYPE_BF16 ? 2 : 4;
              INFO(label(d) << " row " << row << " " << data.specs[i].name);
              CHECK(std::memcmp(got[o].data() + row * per[i] * es, ref[o].data() + row * per[i] * es, per[i] * es) == 0);
            }
            ++o;
          }
        }
      }
}

TEST_CASE("static backward: run-to-run bit identity, graph capture and replay", "[cuda][static_backward][graph]") {
  uint64_t seed = 9000;
  for (mhc_op_t op : kOps)
    for (mhc_dtype_t act : kActs)
      for (int n : {4, 17})
        for (int64_t B : {int64_t{1}, int64_t{150}, int64_t{600}}) {
          if (B == 600 && n != 4) continue;  // 600 rows at C = 4096: 16-step folds
          const mhc_desc_t d = bdesc(op, B, n, n == 4 ? 4096 : 1280, act);
          PlanHolder p;
          p.plan = cuda_plan(d);
          OpData d0 = make_op_data(d, seed++), d1 = make_op_data(d, seed++);
          DeviceSet v0(d0, 0), v1(d1, 0);
          const mhc_args_t a0 = d0.args(v0.ptrs), a1 = d1.args(v1.ptrs);
          cudaStream_t s;
          CUDA_REQUIRE(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
          cudaGraph_t graph;
          cudaGraphExec_t exec;
          CUDA_REQUIRE(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
          const mhc_status_t st0 = mhc_plan_run(p.plan, s, nullptr, 0, &a0);  // both on the plan's scratch,
          const mhc_status_t st1 = mhc_plan_run(p.plan, s, nullptr, 0, &a1);  // ordered on one stream
          CUDA_REQUIRE(cudaStreamEndCapture(s, &graph));
          REQUIRE_OK(st0);
          REQUIRE_OK(st1);
          CUDA_REQUIRE(cudaGraphInstantiate(&exec, graph, 0));
          std::vector<std::vector<unsigned char>> first0, first1;
          for (int rep = 0; rep < 3; ++rep) {
            v0.poison_outputs(d0);
            v1.poison_outputs(d1);
            CUDA_REQUIRE(cudaGraphLaunch(exec, s));
            CUDA_REQUIRE(cudaStreamSynchronize(s));
            const auto o0 = v0.outputs(d0), o1 = v1.outputs(d1);
            INFO(label(d) << " replay " << rep);
            if (rep == 0) first0 = o0, first1 = o1;
            CHECK(o0 == first0);
            CHECK(o1 == first1);
          }
          v0.poison_outputs(d0);  // an eager run gives the graph's bits
          REQUIRE_OK(mhc_plan_run(p.plan, s, nullptr, 0, &a0));
          CUDA_REQUIRE(cudaStreamSynchronize(s));
          CHECK(v0.outputs(d0) == first0);
          PlanHolder host;
          mhc_preference_t hp = host_only();
          REQUIRE_OK(mhc_plan_select(&d, &hp, &host.plan));
          const mhc_args_t h0 = d0.args(d0.host_ptrs());
          REQUIRE_OK(mhc_plan_run(host.plan, nullptr, nullptr, 0, &h0));
          check_outputs(d0, first0, label(d) + " graph");
          cudaGraphExecDestroy(exec);
          cudaGraphDestroy(graph);
          cudaStreamDestroy(s);
        }
}

TEST_CASE("static backward: one plan, two threads, two streams, own workspaces", "[cuda][static_backward][threads]") {
  uint64_t seed = 10000;
  for (mhc_op_t op : kOps)
    for (mhc_dtype_t act : kActs) {
      const mhc_desc_t d = bdesc(op, 257, 17, 1280, act);
      PlanHolder p;
      p.plan = cuda_plan(d);
      size_t ws = 0;
      REQUIRE_OK(mhc_plan_workspace_size(p.plan, &ws));
      OpData d0 = make_op_data(d, seed++), d1 = make_op_data(d, seed++);
      DeviceSet v0(d0, 0), v1(d1, 1);  // one aligned, one misaligned: different kernels at once
      std::vector<std::vector<unsigned char>> ref[2];
      for (int k = 0; k < 2; ++k) {
        DeviceSet& v = k ? v1 : v0;
        const mhc_args_t a = (k ? d1 : d0).args(v.ptrs);
        REQUIRE_OK(mhc_plan_run(p.plan, nullptr, nullptr, 0, &a));
        CUDA_REQUIRE(cudaDeviceSynchronize());
        ref[k] = v.outputs(k ? d1 : d0);
        v.poison_outputs(k ? d1 : d0);
      }
      const mhc_args_t a[2] = {d0.args(v0.ptrs), d1.args(v1.ptrs)};
      const auto status = run_on_two_threads(p.plan, a, ws, 25);
      REQUIRE(status[0] == MHC_STATUS_SUCCESS);
      REQUIRE(status[1] == MHC_STATUS_SUCCESS);
      INFO(label(d));
      CHECK(v0.outputs(d0) == ref[0]);
      CHECK(v1.outputs(d1) == ref[1]);
    }
}

// One row buffer per row slot (B1', B3' where two do not fit): each thread copies exactly the
// groups it reads and refills them with its next row's during phase 2, waiting for its own copies
// only (16-, 8- or 4-byte granules), or, where no granule fits a group (bf16 at n > 8, odd bf16 C),
// the buffer is refilled after the step behind a barrier. Shapes: fp32 n = 4 at C = 4096 (B3') and
// 7168 (B1'), bf16 n = 4 at C = 7168 (B3', 8-byte granules), fp32 n = 8 at C = 4096 (B1', 8-byte),
// odd C and a misaligned run (4-byte, element-wise), n = 17 (one element a group), C = 64 (64 row
// slots), bf16 n = 32 (no granule: the barrier path); B = 1 (no refill issued), 7, 300 (CTAs of
// one row a step take two steps), 8192 (16-step folds), 20000 at C = 64 (two steps of 64 rows).
// Each against the host, and two runs bit for bit.
// The SKU of B1' and B3' without the streamed refill (none for B2').
mhc_sku_t unstreamed_sku(mhc_op_t op) {
  return op == MHC_OP_STATIC_PRE_BACKWARD     ? MHC_SKU_SM80_STATIC_PRE_BACKWARD
         : op == MHC_OP_STATIC_LAYER_BACKWARD ? MHC_SKU_SM80_STATIC_LAYER_BACKWARD
                                              : MHC_SKU_NONE;
}

TEST_CASE("static backward: one row buffer, streamed refill", "[cuda][static_backward][refill]") {
  uint64_t seed = 12000;
  struct Shape {
    int n;
    int64_t C;
    mhc_dtype_t act;
    int shift;
    int64_t big;  // a fourth B (0: none; the host reference costs ~B C n^2)
  };
  const Shape shapes[] = {{4, 4096, MHC_DTYPE_FP32, 0, 8192}, {4, 7168, MHC_DTYPE_BF16, 0, 8192},
                          {8, 4096, MHC_DTYPE_FP32, 0, 8192}, {4, 7168, MHC_DTYPE_FP32, 0, 0},
                          {4, 4095, MHC_DTYPE_FP32, 0, 0},    {4, 4096, MHC_DTYPE_FP32, 1, 0},
                          {8, 4096, MHC_DTYPE_BF16, 0, 0},    {17, 1280, MHC_DTYPE_FP32, 0, 0},
                          {4, 64, MHC_DTYPE_FP32, 0, 20000},  {32, 1280, MHC_DTYPE_BF16, 0, 0},
                          {4, 7167, MHC_DTYPE_BF16, 0, 0}};
  for (mhc_op_t op : {MHC_OP_STATIC_PRE_BACKWARD, MHC_OP_STATIC_LAYER_BACKWARD})
    for (const Shape& sh : shapes)
      for (int64_t B : {int64_t{1}, int64_t{7}, int64_t{300}, sh.big}) {
        if (B == 0 || (B > 300 && sh.n > 4 && has_post(op))) continue;  // B3' at n = 8: no buffer fits
        const mhc_desc_t d = bdesc(op, B, sh.n, sh.C, sh.act);
        PlanHolder cuda, base, host;
        cuda.plan = cuda_plan(d);  // the streamed SKU is the default
        base.plan = cuda_plan(d, unstreamed_sku(op));
        mhc_preference_t hp = host_only();
        REQUIRE_OK(mhc_plan_select(&d, &hp, &host.plan));
        OpData data = make_op_data(d, seed++);
        DeviceSet dev(data, sh.shift);
        const mhc_args_t a = data.args(dev.ptrs);
        std::vector<std::vector<unsigned char>> runs[3];  // streamed twice, then the SKU without refill
        for (int k = 0; k < 3; ++k) {
          dev.poison_outputs(data);
          REQUIRE_OK(mhc_plan_run(k < 2 ? cuda.plan : base.plan, nullptr, nullptr, 0, &a));
          CUDA_REQUIRE(cudaDeviceSynchronize());
          runs[k] = dev.outputs(data);
        }
        INFO(label(d) << " shift=" << sh.shift);
        CHECK(runs[0] == runs[1]);
        CHECK(runs[0] == runs[2]);  // the same bits as the SKU without the refill
        const mhc_args_t ha = data.args(data.host_ptrs());
        REQUIRE_OK(mhc_plan_run(host.plan, nullptr, nullptr, 0, &ha));
        check_outputs(data, runs[0], label(d) + " shift=" + std::to_string(sh.shift) + " refill");
      }
}

// A small set for compute-sanitizer (memcheck, racecheck, synccheck, initcheck): every kernel
// variant kind (vector, element-wise, resident with one and two buffers, re-reading, the tile
// kernel, both partial layouts, accumulation) on shapes that run in seconds. One buffer with the
// streamed refill (B3'): fp32 at n = 4, C = 64 (64 row slots) and C = 4096, n = 17, C = 1280; bf16
// at C = 7168; the last lines' B = 300 gives CTAs two steps (a refill in phase 2) on < 300 SMs,
// with the streamed refill (the default) and with the one buffer refilled behind a barrier.
TEST_CASE("static backward: sanitizer subset", "[sanitize]") {
  uint64_t seed = 11000;
  for (mhc_op_t op : kOps)
    for (mhc_dtype_t act : kActs) {
      for (int n : {1, 4, 17})
        for (int64_t C : {int64_t{3}, int64_t{64}, int64_t{1280}}) check_backward(bdesc(op, 5, n, C, act), seed++);
      check_backward(bdesc(op, 3, 4, 64, act), seed++, 1);
      check_backward(bdesc(op, 5, 4, 64, act), seed++, 0, all_bits(op));
      check_backward(bdesc(op, 2, 32, 4096, act), seed++);
      check_backward(bdesc(op, 40, 4, 60001, act), seed++);  // rows read twice; 16-step folds (dw in global memory)
      check_backward(bdesc(op, 97, 4, 256, act), seed++);    // 16 rows per step
      check_backward(bdesc(op, 300, 4, 64, act, 2), seed++);
      const mhc_desc_t one_buffer = bdesc(op, 300, 4, act == MHC_DTYPE_BF16 ? 7168 : 4096, act);
      check_backward(one_buffer, seed++);                                  // the streamed refill (default)
      check_backward(one_buffer, seed++, 0, 0, {}, unstreamed_sku(op));  // one buffer behind a barrier
    }
}
