// mhc-bench: benchdnn-style benchmark of libmhc plans on the GPU.
//   mhc-bench --op pre --T 64 --C 7168 [--n 4] [--S 0] [--w tf32|tf32x3|fp32] [--dtype bf16|fp32] [--shifted] [--norm]
//             [--sku 0x00900300] [--reps 100] [--no-verify] [--json out.json]
//   mhc-bench --suite perf|decode|static|engine|boundary|backward|static_backward [--json out.json]
// For each case: verify against the host reference, then time CUDA-graph replays (median of
// --reps, rotating input sets larger than L2) and print time, GB/s on the op's floor bytes
// (each tensor read or written once), % of the device copy bandwidth measured in this run, SKU.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../tests/common/op_data.hpp"
#include "mhc/mhc.h"

namespace {

#define CK(call)                                                                               \
  do {                                                                                         \
    const cudaError_t e_ = (call);                                                             \
    if (e_ != cudaSuccess) {                                                                   \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e_)); \
      std::exit(2);                                                                            \
    }                                                                                          \
  } while (0)

std::string last_error() {
  std::string s(mhc_get_last_error(nullptr, 0) + 1, '\0');
  mhc_get_last_error(&s[0], s.size());
  s.resize(s.size() - 1);
  return s;
}

struct Case {
  std::string op = "pre";
  int64_t T = 64, C = 7168;
  int n = 4, S = 0, repeat = 20;
  mhc_dtype_t w = MHC_DTYPE_TF32, act = MHC_DTYPE_BF16;
  mhc_sku_t sku = MHC_SKU_NONE;
  uint32_t flags = 0;  // MHC_DESC_FLAG_SHIFTED / MHC_DESC_FLAG_NORM (boundary ops)
};

const char* weight_name(mhc_dtype_t w) {
  return w == MHC_DTYPE_FP32 ? "fp32" : w == MHC_DTYPE_TF32X3 ? "tf32x3" : "tf32";
}

struct Result {
  Case c;
  std::string sku, verify;
  double us = 0, bytes = 0, gbps = 0, pct = 0;
  int sets = 0;
};

const std::map<std::string, mhc_op_t> kOps = {
    {"prenorm_gemm", MHC_OP_PRENORM_GEMM}, {"pre_fuse", MHC_OP_PRE_FUSE},       {"pre", MHC_OP_PRE},
    {"post", MHC_OP_POST},                 {"head", MHC_OP_HEAD},               {"expand", MHC_OP_EXPAND},
    {"static_pre", MHC_OP_STATIC_PRE},     {"static_post", MHC_OP_STATIC_POST}, {"static_layer", MHC_OP_STATIC_LAYER},
    {"boundary", MHC_OP_BOUNDARY},         {"collapse", MHC_OP_BOUNDARY_COLLAPSE}, {"mix", MHC_OP_BOUNDARY_MIX},
    {"first", MHC_OP_BOUNDARY_FIRST},      {"post_backward", MHC_OP_POST_BACKWARD},
    {"pre_backward", MHC_OP_PRE_BACKWARD}, {"head_backward", MHC_OP_HEAD_BACKWARD},
    {"expand_backward", MHC_OP_EXPAND_BACKWARD}, {"static_pre_backward", MHC_OP_STATIC_PRE_BACKWARD},
    {"static_post_backward", MHC_OP_STATIC_POST_BACKWARD}, {"static_layer_backward", MHC_OP_STATIC_LAYER_BACKWARD}};

// Device-to-device copy bandwidth (bytes read + written per second), median of 20.
double copy_bandwidth(cudaStream_t s) {
  const size_t bytes = size_t{1} << 30;
  void *a, *b;
  CK(cudaMalloc(&a, bytes));
  CK(cudaMalloc(&b, bytes));
  CK(cudaMemsetAsync(a, 1, bytes, s));
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  std::vector<float> ms;
  for (int i = 0; i < 23; ++i) {
    CK(cudaEventRecord(e0, s));
    CK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, s));
    CK(cudaEventRecord(e1, s));
    CK(cudaEventSynchronize(e1));
    float t;
    CK(cudaEventElapsedTime(&t, e0, e1));
    if (i >= 3) ms.push_back(t);
  }
  std::sort(ms.begin(), ms.end());
  cudaFree(a), cudaFree(b), cudaEventDestroy(e0), cudaEventDestroy(e1);
  return 2.0 * bytes / (ms[ms.size() / 2] * 1e-3);
}

bool run_case(const Case& c, double copy_bw, size_t l2, int reps, bool verify, cudaStream_t stream, Result* out) {
  out->c = c;
  mhc_desc_t d;
  mhc_desc_init(&d, kOps.at(c.op));
  d.tokens = c.T, d.hidden = c.C, d.n = c.n, d.num_splits = c.S, d.weight_precision = c.w, d.act_dtype = c.act;
  d.sinkhorn_repeat = c.repeat;
  if (d.op == MHC_OP_PRE_FUSE && c.S > 0) d.flags = MHC_DESC_FLAG_SPLIT_PARTIALS;
  d.flags |= c.flags;
  mhc_preference_t pref;
  mhc_preference_init(&pref);
  pref.backends = MHC_BACKEND_CUDA;
  pref.forced_sku = c.sku;
  mhc_plan_t plan = nullptr;
  if (mhc_plan_select(&d, &pref, &plan) != MHC_STATUS_SUCCESS) {
    std::fprintf(stderr, "select %s: %s\n", c.op.c_str(), last_error().c_str());
    return false;
  }
  mhc_desc_t r;
  r.struct_size = sizeof r;
  mhc_plan_get_desc(plan, &r);
  mhc_sku_t sku;
  mhc_plan_get_sku(plan, &sku);
  out->sku = mhc_sku_name(sku);

  mhc_test::OpData data = mhc_test::make_op_data(r, 1234);
  size_t set_bytes = 0;
  for (const auto& s : data.specs) set_bytes += s.bytes();
  out->bytes = static_cast<double>(set_bytes);
  // Enough input sets that one replay's data has left L2 before it is used again.
  size_t free_b = 0, total_b = 0;
  CK(cudaMemGetInfo(&free_b, &total_b));
  int sets = static_cast<int>(std::min<size_t>(16, (3 * l2) / set_bytes + 1));
  sets = std::max(1, std::min<int>(sets, static_cast<int>(free_b / 2 / set_bytes)));
  out->sets = sets;
  std::vector<std::vector<void*>> ptrs(sets);
  for (int k = 0; k < sets; ++k)
    for (size_t i = 0; i < data.specs.size(); ++i) {
      void* p;
      CK(cudaMalloc(&p, data.host[i].size()));
      CK(cudaMemcpy(p, data.host[i].data(), data.host[i].size(), cudaMemcpyHostToDevice));
      ptrs[k].push_back(p);
    }

  out->verify = "skipped";
  // The fp64 host reference of input set 0, and a check of set 0's outputs against it.
  if (verify) {
    mhc_preference_t hp;
    mhc_preference_init(&hp);
    hp.backends = MHC_BACKEND_HOST;
    mhc_plan_t host = nullptr;
    mhc_plan_select(&r, &hp, &host);
    const mhc_args_t ha = data.args(data.host_ptrs());
    if (mhc_plan_run(host, nullptr, nullptr, 0, &ha) != MHC_STATUS_SUCCESS) {
      std::fprintf(stderr, "host run: %s\n", last_error().c_str());
      return false;
    }
    mhc_plan_destroy(host);
  }
  const double tol = r.op >= MHC_OP_STATIC_PRE ? 1e-4 : mhc_test::fp32_tolerance(data.problem);
  auto check_set0 = [&](const char* what) {
    int64_t bad = 0;
    double worst = 0;
    for (size_t i = 0; i < data.specs.size(); ++i) {
      if (data.specs[i].role != mhc::Role::kOutput) continue;
      std::vector<unsigned char> got(data.host[i].size());
      CK(cudaMemcpy(got.data(), ptrs[0][i], got.size(), cudaMemcpyDeviceToHost));
      const auto m = mhc_test::compare(data.specs[i], got.data(), data.host[i].data(), tol,
                                         mhc_test::bf16_ulps(data.problem, data.specs[i]));
      bad += m.bad;
      worst = std::max(worst, m.worst_ratio);
      if (m.bad) std::fprintf(stderr, "  %s: %s\n", what, m.describe(data.specs[i].name).c_str());
    }
    char buf[64];
    if (bad)
      std::snprintf(buf, sizeof buf, "FAIL(%s %lld)", what, static_cast<long long>(bad));
    else
      std::snprintf(buf, sizeof buf, "ok(err/tol %.2f)", worst);
    return std::string(buf);
  };
  // Poisons set 0's outputs (0xff bytes: NaN / -NaN bf16) so a check proves they were written. On
  // the plan's stream: it is non-blocking, so a legacy-stream memset could land after the run.
  auto poison_set0 = [&] {
    for (size_t i = 0; i < data.specs.size(); ++i)
      if (data.specs[i].role == mhc::Role::kOutput) CK(cudaMemsetAsync(ptrs[0][i], 0xff, data.host[i].size(), stream));
  };
  if (verify) {
    poison_set0();
    const mhc_args_t a = data.args(ptrs[0]);
    if (mhc_plan_run(plan, stream, nullptr, 0, &a) != MHC_STATUS_SUCCESS) {
      std::fprintf(stderr, "run: %s\n", last_error().c_str());
      return false;
    }
    CK(cudaStreamSynchronize(stream));
    out->verify = check_set0("eager");
    poison_set0();  // the timed graph replays must write them again
  }

  // One graph runs the plan once per input set; replay it and divide.
  cudaGraph_t graph;
  cudaGraphExec_t exec;
  CK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
  for (int k = 0; k < sets; ++k) {
    const mhc_args_t a = data.args(ptrs[k]);
    if (mhc_plan_run(plan, stream, nullptr, 0, &a) != MHC_STATUS_SUCCESS) {
      std::fprintf(stderr, "captured run: %s\n", last_error().c_str());
      cudaStreamEndCapture(stream, &graph);
      return false;
    }
  }
  CK(cudaStreamEndCapture(stream, &graph));
  CK(cudaGraphInstantiate(&exec, graph, 0));
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  for (int i = 0; i < 5; ++i) CK(cudaGraphLaunch(exec, stream));
  std::vector<float> ms;
  for (int i = 0; i < reps; ++i) {
    CK(cudaEventRecord(e0, stream));
    CK(cudaGraphLaunch(exec, stream));
    CK(cudaEventRecord(e1, stream));
    CK(cudaEventSynchronize(e1));
    float t;
    CK(cudaEventElapsedTime(&t, e0, e1));
    ms.push_back(t / sets);
  }
  std::sort(ms.begin(), ms.end());
  out->us = ms[ms.size() / 2] * 1e3;
  if (verify && out->verify.rfind("ok", 0) == 0) {
    const std::string replay = check_set0("replay");
    if (replay.rfind("ok", 0) != 0) out->verify = replay;
  }
  out->gbps = out->bytes / (out->us * 1e-6) / 1e9;
  out->pct = 100.0 * out->bytes / (out->us * 1e-6) / copy_bw;
  cudaGraphExecDestroy(exec), cudaGraphDestroy(graph), cudaEventDestroy(e0), cudaEventDestroy(e1);
  for (auto& set : ptrs)
    for (void* p : set) cudaFree(p);
  mhc_plan_destroy(plan);
  return true;
}

std::vector<Case> suite(const std::string& name) {
  std::vector<Case> v;
  // Only libmhc is timed here: a peer's time is shown where the same run measured it
  // (bench/compare_torch.py), never copied from elsewhere.
  auto add = [&](const char* op, int64_t T, int64_t C, int n = 4, mhc_dtype_t act = MHC_DTYPE_BF16) {
    Case c;
    c.op = op, c.T = T, c.C = C, c.n = n, c.act = act;
    v.push_back(c);
  };
  if (name == "perf" || name == "decode") {
    add("pre", 1, 4096, 4), add("pre", 64, 4096, 4);
    add("pre", 1, 7168, 4), add("pre", 64, 7168, 4);
    add("post", 1, 4096, 4), add("post", 64, 4096, 4);
    add("post", 1, 7168, 4), add("post", 64, 7168, 4);
    add("head", 1, 7168), add("head", 64, 7168), add("expand", 64, 7168);
  }
  if (name == "perf") {
    add("pre", 4096, 4096, 4), add("pre", 16384, 4096, 4);
    add("pre", 4096, 7168, 4), add("pre", 16384, 7168, 4);
    add("post", 16384, 4096, 4), add("post", 16384, 7168, 4);
    add("head", 4096, 7168), add("expand", 16384, 7168);
    add("prenorm_gemm", 4096, 7168), add("pre_fuse", 4096, 7168);
  }
  // The pre engine before and after: each case on the newer SKU, then on the earlier SKU.
  if (name == "engine") {
    auto pair = [&](const char* op, int64_t T, int64_t C, mhc_sku_t new_sku, mhc_sku_t old_sku, int S = 0) {
      add(op, T, C);
      v.back().S = S, v.back().sku = new_sku;
      add(op, T, C);
      v.back().S = S, v.back().sku = old_sku;
    };
    // The GEMM pass on bf16 tensor cores (the default of these plans) against the tf32 staged
    // kernel, and the register-pipelined tf32 one; the same for the whole pre; the default pre
    // over T. The one-pass engine (forced only) once, against the tf32 two-pass SKU.
    for (int64_t T : {int64_t{1024}, int64_t{4096}, int64_t{16384}}) {
      pair("prenorm_gemm", T, 7168, MHC_SKU_SM90_PRENORM_GEMM_BF16, MHC_SKU_SM90_PRENORM_GEMM);
      add("prenorm_gemm", T, 7168), v.back().sku = MHC_SKU_SM90_PRENORM_GEMM_WIDE_REGS;
    }
    pair("prenorm_gemm", 16384, 4096, MHC_SKU_SM90_PRENORM_GEMM_BF16, MHC_SKU_SM90_PRENORM_GEMM);
    pair("prenorm_gemm", 4096, 7168, MHC_SKU_SM90_PRENORM_GEMM_BF16, MHC_SKU_SM90_PRENORM_GEMM);
    v[v.size() - 2].w = v.back().w = MHC_DTYPE_FP32;
    for (int64_t T : {int64_t{4096}, int64_t{16384}}) pair("pre", T, 7168, MHC_SKU_SM90_PRE_BF16, MHC_SKU_SM90_PRE);
    for (int64_t C : {int64_t{4096}, int64_t{5120}, int64_t{7168}})
      for (int64_t T : {1, 16, 64, 256, 1024, 4096, 16384}) add("pre", T, C);
    pair("pre", 4096, 7168, MHC_SKU_SM90_PRE_ONEPASS, MHC_SKU_SM90_PRE);
    pair("pre_fuse", 16384, 7168, MHC_SKU_SM80_PRE_FUSE_TOKENS, MHC_SKU_SM80_PRE_FUSE, 16);
    for (int64_t T : {int64_t{1}, int64_t{64}, int64_t{4096}, int64_t{16384}}) add("head", T, 7168);
    add("pre", 4096, 7168), v.back().w = MHC_DTYPE_FP32;
    for (int64_t C : {int64_t{4096}, int64_t{7168}}) {  // tf32x3 weights on the default SKU
      add("pre", 4096, C);
      v.back().w = MHC_DTYPE_TF32X3;
    }
  }
  // The layer boundary: V4 (post -> pre + norm) at C = 7168, the V4.1 parts at C = 5120.
  if (name == "boundary") {
    const uint32_t norm = MHC_DESC_FLAG_NORM, shifted = MHC_DESC_FLAG_SHIFTED | MHC_DESC_FLAG_NORM;
    for (int64_t T : {1, 16, 4096, 16384}) {
      add("boundary", T, 7168), v.back().flags = norm;
      add("boundary", T, 5120), v.back().flags = shifted;
      add("collapse", T, 5120), v.back().flags = norm;
      add("mix", T, 5120);
    }
  }
  // Training: the backward ops that have CUDA SKUs, each with its forward at the same shape (a
  // training step is both: bench/compare_torch.py adds them).
  if (name == "backward") {
    for (int64_t C : {int64_t{4096}, int64_t{7168}})
      for (int64_t T : {1, 64, 4096, 16384}) add("post_backward", T, C), add("post", T, C);
    for (int64_t T : {64, 16384}) add("expand_backward", T, 7168);
    for (int64_t C : {int64_t{4096}, int64_t{7168}})
      for (int64_t T : {1, 64, 4096, 16384}) add("pre_backward", T, C), add("pre", T, C);
    for (int64_t T : {4096, 16384}) add("head_backward", T, 7168), add("head", T, 7168);
  }
  // Training, family B: the static-H backward ops (issue 13's targets: B3' at B = 8192, C = 4096,
  // n = 4, fp32 and at B = 320, C = 1280), then B1' and B2' at the same shapes and bf16.
  if (name == "static_backward") {
    for (const char* op : {"static_layer_backward", "static_pre_backward", "static_post_backward"}) {
      add(op, 8192, 4096, 4, MHC_DTYPE_FP32);
      add(op, 320, 1280, 4, MHC_DTYPE_FP32);
      add(op, 8192, 4096, 4, MHC_DTYPE_BF16);
      add(op, 320, 1280, 4, MHC_DTYPE_BF16);
    }
    add("static_layer_backward", 4096, 7168, 4, MHC_DTYPE_FP32);
    add("static_layer_backward", 1024, 4096, 4, MHC_DTYPE_FP32);
    add("static_layer_backward", 128, 1280, 32, MHC_DTYPE_FP32);
  }
  if (name == "perf" || name == "static") {
    add("static_layer", 320, 1280, 4, MHC_DTYPE_FP32);
    add("static_layer", 1280, 2560, 4, MHC_DTYPE_FP32);
    add("static_layer", 128, 1280, 8, MHC_DTYPE_FP32);
    add("static_layer", 1024, 4096, 4, MHC_DTYPE_FP32);
    add("static_layer", 8192, 4096, 4, MHC_DTYPE_FP32);
    add("static_layer", 4096, 7168, 4, MHC_DTYPE_FP32);
    add("static_layer", 128, 1280, 32, MHC_DTYPE_FP32);
    add("static_layer", 8192, 4096, 4, MHC_DTYPE_BF16);
  }
  return v;
}

// The results so far as JSON (rewritten after every case: a run stopped early keeps its rows).
void write_json(const std::string& json, const cudaDeviceProp& prop, double bw, const std::vector<Result>& results) {
  if (json.empty()) return;
  FILE* f = std::fopen(json.c_str(), "w");
  if (!f) return;
  std::fprintf(f, "{\"device\": \"%s\", \"copy_gbps\": %.1f, \"results\": [\n", prop.name, bw / 1e9);
  for (size_t i = 0; i < results.size(); ++i) {
    const Result& r = results[i];
    std::fprintf(f,
                 "  {\"op\": \"%s\", \"T\": %lld, \"n\": %d, \"C\": %lld, \"S\": %d, \"dtype\": \"%s\", \"w\": \"%s\", "
                 "\"flags\": %u, \"sku\": \"%s\", \"us\": %.3f, \"floor_bytes\": %.0f, \"gbps\": %.1f, "
                 "\"pct_copy\": %.2f, \"sets\": %d, \"verify\": \"%s\"}%s\n",
                 r.c.op.c_str(), static_cast<long long>(r.c.T), r.c.n, static_cast<long long>(r.c.C), r.c.S,
                 r.c.act == MHC_DTYPE_BF16 ? "bf16" : "fp32", weight_name(r.c.w), r.c.flags, r.sku.c_str(), r.us,
                 r.bytes, r.gbps, r.pct, r.sets, r.verify.c_str(), i + 1 < results.size() ? "," : "");
  }
  std::fprintf(f, "]}\n");
  std::fclose(f);
}

void usage() {
  std::printf(
      "usage: mhc-bench [--suite perf|decode|static|engine|boundary|backward|static_backward] [--op OP --T T --C C --n N --S S --repeat R --w tf32|tf32x3|fp32 "
      "--dtype bf16|fp32 --sku ID --shifted --norm] [--reps R] [--no-verify] [--json FILE]\n"
      "ops: prenorm_gemm pre_fuse pre post head expand static_pre static_post static_layer boundary collapse mix first\n"
      "     post_backward expand_backward pre_backward head_backward static_pre_backward static_post_backward static_layer_backward\n");
}

}  // namespace

int main(int argc, char** argv) {
  Case one;
  std::string suite_name, json;
  int reps = 100;
  bool verify = true, single = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        usage();
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--suite") suite_name = next();
    else if (a == "--op") one.op = next(), single = true;
    else if (a == "--T") one.T = std::atoll(next().c_str());
    else if (a == "--C") one.C = std::atoll(next().c_str());
    else if (a == "--n") one.n = std::atoi(next().c_str());
    else if (a == "--S") one.S = std::atoi(next().c_str());
    else if (a == "--repeat") one.repeat = std::atoi(next().c_str());
    else if (a == "--w") {
      const std::string w = next();
      one.w = w == "fp32" ? MHC_DTYPE_FP32 : w == "tf32x3" ? MHC_DTYPE_TF32X3 : MHC_DTYPE_TF32;
    }
    else if (a == "--dtype") one.act = next() == "fp32" ? MHC_DTYPE_FP32 : MHC_DTYPE_BF16;
    else if (a == "--shifted") one.flags |= MHC_DESC_FLAG_SHIFTED;
    else if (a == "--norm") one.flags |= MHC_DESC_FLAG_NORM;
    else if (a == "--sku") one.sku = static_cast<mhc_sku_t>(std::strtoul(next().c_str(), nullptr, 0));
    else if (a == "--reps") reps = std::max(50, std::atoi(next().c_str()));
    else if (a == "--no-verify") verify = false;
    else if (a == "--json") json = next();
    else {
      usage();
      return a == "--help" ? 0 : 2;
    }
  }
  if (!single && suite_name.empty()) suite_name = "perf";
  if (single && !kOps.count(one.op)) {
    usage();
    return 2;
  }
  int32_t devices = 0;
  mhc_cuda_device_count(&devices);
  if (devices == 0) {
    std::printf("mhc-bench: no CUDA device; nothing to measure\n");
    return 0;
  }
  cudaDeviceProp prop;
  CK(cudaGetDeviceProperties(&prop, 0));
  cudaStream_t stream;
  CK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  const double bw = copy_bandwidth(stream);
  std::printf("device: %s, %d SMs, L2 %d MB; copy bandwidth %.0f GB/s (read + write)\n", prop.name,
              prop.multiProcessorCount, prop.l2CacheSize >> 20, bw / 1e9);
  std::printf("%-13s %6s %2s %5s %2s %5s %-6s %-36s %9s %8s %6s %s\n", "op", "T", "n", "C", "S", "dtype", "w", "sku",
              "us", "GB/s", "%copy", "verify");
  std::vector<Result> results;
  const std::vector<Case> cases = single ? std::vector<Case>{one} : suite(suite_name);
  int failed = 0;
  for (const Case& c : cases) {
    Result r;
    if (!run_case(c, bw, prop.l2CacheSize, reps, verify, stream, &r)) {
      ++failed;
      continue;
    }
    std::printf("%-13s %6lld %2d %5lld %2d %5s %-6s %-36s %9.2f %8.0f %5.1f%% %s\n", c.op.c_str(),
                static_cast<long long>(c.T), c.n, static_cast<long long>(c.C), c.S,
                c.act == MHC_DTYPE_BF16 ? "bf16" : "fp32", weight_name(c.w), r.sku.c_str(), r.us, r.gbps, r.pct, r.verify.c_str());
    std::fflush(stdout);
    if (r.verify.rfind("FAIL", 0) == 0) ++failed;
    results.push_back(r);
    write_json(json, prop, bw, results);
  }
  return failed ? 1 : 0;
}
