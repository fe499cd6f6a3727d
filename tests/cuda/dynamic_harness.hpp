// Runs one family-A/B problem on a CUDA plan and on the host reference with the same inputs.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <thread>

#include "../common/op_data.hpp"
#include "cuda_support.hpp"

namespace mhc_test {

// Whether the current device is sm_90 or newer (the Hopper-only SKUs).
inline bool have_sm90() {
  int dev = 0, major = 0;
  return cudaGetDevice(&dev) == cudaSuccess &&
         cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) == cudaSuccess && major >= 9;
}

struct RawDevice {
  std::vector<void*> ptrs;
  std::vector<size_t> bytes;
  explicit RawDevice(const OpData& d) {
    for (size_t i = 0; i < d.specs.size(); ++i) {
      void* p = nullptr;
      CUDA_REQUIRE(cudaMalloc(&p, d.host[i].size() ? d.host[i].size() : 1));
      CUDA_REQUIRE(cudaMemcpy(p, d.host[i].data(), d.host[i].size(), cudaMemcpyHostToDevice));
      ptrs.push_back(p);
      bytes.push_back(d.host[i].size());
    }
  }
  ~RawDevice() {
    for (void* p : ptrs) cudaFree(p);
  }
  void poison_outputs(const OpData& d) {
    OpData copy = d;
    copy.poison_outputs();
    for (size_t i = 0; i < d.specs.size(); ++i)
      if (d.specs[i].role == mhc::Role::kOutput)
        CUDA_REQUIRE(cudaMemcpy(ptrs[i], copy.host[i].data(), bytes[i], cudaMemcpyHostToDevice));
  }
  std::vector<unsigned char> download(size_t i) const {
    std::vector<unsigned char> h(bytes[i]);
    CUDA_REQUIRE(cudaMemcpy(h.data(), ptrs[i], bytes[i], cudaMemcpyDeviceToHost));
    return h;
  }
};

struct PlanHolder {
  mhc_plan_t plan = nullptr;
  ~PlanHolder() { mhc_plan_destroy(plan); }
};

inline mhc_desc_t resolved_desc(mhc_plan_t plan) {
  mhc_desc_t d;
  d.struct_size = sizeof d;
  mhc_plan_get_desc(plan, &d);
  return d;
}

// One plan from two threads at once: thread k runs `plan` on a[k] `iters` times (or until a run
// fails) on its own non-blocking stream with its own `ws`-byte workspace (none when ws is 0).
// Returns each thread's last status.
inline std::array<mhc_status_t, 2> run_on_two_threads(mhc_plan_t plan, const mhc_args_t (&a)[2], size_t ws,
                                                      int iters) {
  std::array<mhc_status_t, 2> status = {MHC_STATUS_SUCCESS, MHC_STATUS_SUCCESS};
  auto worker = [&](int k) {
    cudaStream_t s;
    cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
    void* w = nullptr;
    if (ws) cudaMalloc(&w, ws);
    for (int it = 0; it < iters && status[k] == MHC_STATUS_SUCCESS; ++it)
      status[k] = mhc_plan_run(plan, s, w, ws, &a[k]);
    cudaStreamSynchronize(s);
    cudaFree(w);
    cudaStreamDestroy(s);
  };
  std::thread t0(worker, 0), t1(worker, 1);
  t0.join();
  t1.join();
  return status;
}

// One problem run on a CUDA plan and on the host plan with the same random inputs.
struct CudaAndHost {
  mhc_desc_t resolved;                          // the CUDA plan's descriptor (the host plan's too)
  OpData data;                                  // inputs, and the outputs as the host wrote them
  std::vector<std::vector<unsigned char>> got;  // the CUDA outputs by spec index (empty for inputs)
};

// Selects a CUDA plan (optionally forcing a SKU) and runs it with args.grad_accumulate =
// `accumulate`. Outputs start poisoned; `prepare` may set outputs or change inputs on the host
// first (copied to the device before the run). r.data keeps the inputs (and outputs as prepared).
inline CudaAndHost run_cuda(const mhc_desc_t& desc, uint64_t seed, mhc_sku_t forced = MHC_SKU_NONE,
                            mhc_guarantee_flags_t required = 0, bool with_optional = false, uint32_t accumulate = 0,
                            const std::function<void(OpData&)>& prepare = nullptr) {
  mhc_preference_t pref = cuda_only();
  pref.forced_sku = forced;
  pref.required = required;
  PlanHolder cuda;
  REQUIRE_OK(mhc_plan_select(&desc, &pref, &cuda.plan));
  CudaAndHost r{resolved_desc(cuda.plan), {}, {}};
  r.data = make_op_data(r.resolved, seed, with_optional);
  OpData& data = r.data;
  if (prepare) prepare(data);
  RawDevice dev(data);
  mhc_args_t dargs = data.args(dev.ptrs);
  dargs.grad_accumulate = accumulate;
  REQUIRE_OK(mhc_plan_can_implement(cuda.plan, &dargs));
  REQUIRE_OK(mhc_plan_run(cuda.plan, nullptr, nullptr, 0, &dargs));
  CUDA_REQUIRE(cudaDeviceSynchronize());
  r.got.resize(data.specs.size());
  for (size_t i = 0; i < data.specs.size(); ++i)
    if (data.specs[i].role == mhc::Role::kOutput) r.got[i] = dev.download(i);
  return r;
}

// run_cuda, then the host plan of the resolved descriptor on the same inputs (r.data's outputs
// are then the host's).
inline CudaAndHost run_cuda_and_host(const mhc_desc_t& desc, uint64_t seed, mhc_sku_t forced = MHC_SKU_NONE,
                                     mhc_guarantee_flags_t required = 0, bool with_optional = false,
                                     uint32_t accumulate = 0,
                                     const std::function<void(OpData&)>& prepare = nullptr) {
  CudaAndHost r = run_cuda(desc, seed, forced, required, with_optional, accumulate, prepare);
  PlanHolder host;
  mhc_preference_t hp = host_only();
  hp.required = required;
  mhc_desc_t host_desc = r.resolved;
  REQUIRE_OK(mhc_plan_select(&host_desc, &hp, &host.plan));
  mhc_args_t hargs = r.data.args(r.data.host_ptrs());
  hargs.grad_accumulate = accumulate;
  REQUIRE_OK(mhc_plan_run(host.plan, nullptr, nullptr, 0, &hargs));
  return r;
}

// run_cuda_and_host, then REQUIREs every output within tolerance (docs/numerics.md). Returns the
// CUDA outputs for further checks.
inline std::vector<std::vector<unsigned char>> check_against_host(const mhc_desc_t& desc, uint64_t seed,
                                                                  mhc_sku_t forced = MHC_SKU_NONE,
                                                                  mhc_guarantee_flags_t required = 0,
                                                                  bool with_optional = false) {
  CudaAndHost r = run_cuda_and_host(desc, seed, forced, required, with_optional);
  const mhc_desc_t& resolved = r.resolved;
  const OpData& data = r.data;
  std::vector<std::vector<unsigned char>> outs;
  for (size_t i = 0; i < data.specs.size(); ++i) {
    if (data.specs[i].role != mhc::Role::kOutput) continue;
    const Mismatch m = compare(data.specs[i], r.got[i].data(), data.host[i].data(), fp32_tolerance(data.problem),
                               bf16_ulps(data.problem, data.specs[i]));
    INFO(m.describe(data.specs[i].name) << " | op " << mhc::op_name(resolved.op) << " T=" << resolved.tokens
                                        << " n=" << resolved.n << " C=" << resolved.hidden
                                        << " S=" << resolved.num_splits << " w=" << resolved.weight_precision
                                        << " flags=" << resolved.flags);
    CHECK(m.bad == 0);
    outs.push_back(std::move(r.got[i]));
  }
  return outs;
}

}  // namespace mhc_test
