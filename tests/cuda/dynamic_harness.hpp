// Runs one family-A/B problem on a CUDA plan and on the host reference with the same inputs.
#pragma once

#include <memory>

#include "../common/op_data.hpp"
#include "cuda_support.hpp"

namespace mhc_test {

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

// Selects a CUDA plan (optionally forcing a SKU), runs it and the host plan on the same random
// inputs and REQUIREs every output within tolerance. Returns the CUDA outputs for further checks.
inline std::vector<std::vector<unsigned char>> check_against_host(const mhc_desc_t& desc, uint64_t seed,
                                                                  mhc_sku_t forced = MHC_SKU_NONE,
                                                                  mhc_guarantee_flags_t required = 0,
                                                                  bool with_optional = false) {
  mhc_preference_t pref = cuda_only();
  pref.forced_sku = forced;
  pref.required = required;
  PlanHolder cuda, host;
  REQUIRE_OK(mhc_plan_select(&desc, &pref, &cuda.plan));
  const mhc_desc_t resolved = resolved_desc(cuda.plan);
  mhc_preference_t hp = host_only();
  hp.required = required;
  mhc_desc_t host_desc = resolved;
  REQUIRE_OK(mhc_plan_select(&host_desc, &hp, &host.plan));

  OpData data = make_op_data(resolved, seed, with_optional);
  RawDevice dev(data);
  const mhc_args_t dargs = data.args(dev.ptrs);
  REQUIRE_OK(mhc_plan_can_implement(cuda.plan, &dargs));
  REQUIRE_OK(mhc_plan_run(cuda.plan, nullptr, nullptr, 0, &dargs));
  CUDA_REQUIRE(cudaDeviceSynchronize());
  const mhc_args_t hargs = data.args(data.host_ptrs());
  REQUIRE_OK(mhc_plan_run(host.plan, nullptr, nullptr, 0, &hargs));

  std::vector<std::vector<unsigned char>> outs;
  for (size_t i = 0; i < data.specs.size(); ++i) {
    if (data.specs[i].role != mhc::Role::kOutput) continue;
    auto got = dev.download(i);
    const Mismatch m = compare(data.specs[i], got.data(), data.host[i].data(), fp32_tolerance(data.problem),
                               bf16_ulps(data.problem, data.specs[i]));
    INFO(m.describe(data.specs[i].name) << " | op " << mhc::op_name(resolved.op) << " T=" << resolved.tokens
                                        << " n=" << resolved.n << " C=" << resolved.hidden
                                        << " S=" << resolved.num_splits << " w=" << resolved.weight_precision
                                        << " flags=" << resolved.flags);
    CHECK(m.bad == 0);
    outs.push_back(std::move(got));
  }
  return outs;
}

}  // namespace mhc_test
