// The CUDA side of a plan's contract beyond numerics: the application's CUDA error state is left
// as it was, launch limits are refused at select, a scratch that cannot be allocated is a status,
// destroy waits for the plan's own work only (not the device: another thread's global-mode
// capture survives it), and a plan refuses another device's current device, stream or memory.
#include <atomic>
#include <thread>

#include "dynamic_harness.hpp"

using namespace mhc_test;

namespace {

int device_count() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
}

}  // namespace

TEST_CASE("CUDA error state: an error the application left pending is neither read nor cleared",
          "[cuda][errors]") {
  // A non-sticky error of the application's own: an invalid device ordinal.
  REQUIRE(cudaSetDevice(9999) != cudaSuccess);
  REQUIRE(cudaPeekAtLastError() != cudaSuccess);
  const cudaError_t pending = cudaPeekAtLastError();
  {
    mhc_desc_t d = make_desc(MHC_OP_PRE, 64, 4, 1024);
    mhc_preference_t pref = cuda_only();
    PlanHolder plan;
    REQUIRE_OK(mhc_plan_select(&d, &pref, &plan.plan));
    OpData data = make_op_data(resolved_desc(plan.plan), 5);
    RawDevice dev(data);
    CHECK(cudaPeekAtLastError() == pending);
    const mhc_args_t a = data.args(dev.ptrs);
    REQUIRE_OK(mhc_plan_can_implement(plan.plan, &a));
    REQUIRE_OK(mhc_plan_run(plan.plan, nullptr, nullptr, 0, &a));
    CHECK(cudaPeekAtLastError() == pending);
    REQUIRE(cudaStreamSynchronize(nullptr) == cudaSuccess);
    REQUIRE_OK(mhc_plan_destroy(plan.plan));
    plan.plan = nullptr;
    CHECK(cudaPeekAtLastError() == pending);
  }
  CHECK(cudaGetLastError() == pending);  // still the application's to clear
  CHECK(cudaPeekAtLastError() == cudaSuccess);
}

TEST_CASE("CUDA error state: the library's own failed calls leave nothing pending", "[cuda][errors]") {
  REQUIRE(cudaGetLastError() == cudaSuccess);
  // A split-K GEMM whose partials workspace (64 x 2^26 tokens x 25 floats, ~430 GB) cannot fit.
  mhc_desc_t d = make_desc(MHC_OP_PRENORM_GEMM, int64_t{1} << 26, 4, 1024);
  d.num_splits = 64;
  mhc_preference_t pref = cuda_only();
  mhc_plan_t plan = nullptr;
  REQUIRE_STATUS(mhc_plan_select(&d, &pref, &plan), MHC_STATUS_INTERNAL_DEVICE_ALLOC_FAILED, "cudaMalloc");
  CHECK(plan == nullptr);
  CHECK(cudaPeekAtLastError() == cudaSuccess);
}

TEST_CASE("launch limits are refused at select, with the reason", "[cuda][limits]") {
  mhc_preference_t pref = cuda_only();
  mhc_plan_t plan = nullptr;
  // The fuse pass covers C in CTAs of 1024 columns, at most 65535 of them.
  mhc_desc_t fuse = make_desc(MHC_OP_PRE_FUSE, 1, 1, int64_t{65536} * 1024);
  REQUIRE_STATUS(mhc_plan_select(&fuse, &pref, &plan), MHC_STATUS_NOT_SUPPORTED, "fuse pass");
  CHECK(plan == nullptr);
  // The GEMM launches one CTA column per split partial, at most 65535.
  mhc_desc_t gemm = make_desc(MHC_OP_PRENORM_GEMM, 1, 8, 600000);  // K = 4.8M: 75000 granules
  gemm.flags = MHC_DESC_FLAG_SPLIT_PARTIALS;
  gemm.num_splits = 70000;
  REQUIRE_STATUS(mhc_plan_select(&gemm, &pref, &plan), MHC_STATUS_NOT_SUPPORTED, "split partials");
  CHECK(plan == nullptr);
  gemm.num_splits = 65535;  // at the limit: a plan
  REQUIRE_OK(mhc_plan_select(&gemm, &pref, &plan));
  REQUIRE_OK(mhc_plan_destroy(plan));
  // The host backend has no launch limits: ANY falls back to it.
  mhc_preference_t any;
  mhc_preference_init(&any);
  gemm.num_splits = 70000;
  REQUIRE_OK(mhc_plan_select(&gemm, &any, &plan));
  mhc_sku_t sku = 0;
  REQUIRE_OK(mhc_plan_get_sku(plan, &sku));
  CHECK(sku == MHC_SKU_HOST_PRENORM_GEMM);
  REQUIRE_OK(mhc_plan_destroy(plan));
}

// destroy must not synchronize the device: that would block unrelated streams and break another
// thread's global-mode stream capture.
TEST_CASE("destroy waits for the plan's own runs only", "[cuda][destroy]") {
  mhc_desc_t d = make_desc(MHC_OP_PRE, 4096, 4, 7168);
  mhc_preference_t pref = cuda_only();
  PlanHolder plan;
  REQUIRE_OK(mhc_plan_select(&d, &pref, &plan.plan));
  size_t ws = 0;
  REQUIRE_OK(mhc_plan_workspace_size(plan.plan, &ws));
  REQUIRE(ws > 0);  // the plan owns scratch
  OpData data = make_op_data(resolved_desc(plan.plan), 9);
  RawDevice dev(data);
  const mhc_args_t a = data.args(dev.ptrs);
  cudaStream_t s;
  REQUIRE(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) == cudaSuccess);

  // Another thread captures a graph in global mode while this one runs and destroys the plan.
  std::atomic<int> stage{0};
  cudaError_t begin = cudaErrorUnknown, end = cudaErrorUnknown;
  cudaGraph_t graph = nullptr;
  std::thread capturer([&] {
    cudaStream_t cs;
    cudaStreamCreateWithFlags(&cs, cudaStreamNonBlocking);
    void* scratch = nullptr;
    cudaMalloc(&scratch, 1 << 20);
    begin = cudaStreamBeginCapture(cs, cudaStreamCaptureModeGlobal);
    cudaMemsetAsync(scratch, 0, 1 << 20, cs);
    stage = 1;
    while (stage.load() != 2) std::this_thread::yield();
    end = cudaStreamEndCapture(cs, &graph);
    if (graph) cudaGraphDestroy(graph);
    cudaFree(scratch);
    cudaStreamDestroy(cs);
  });
  while (stage.load() != 1) std::this_thread::yield();
  REQUIRE_OK(mhc_plan_run(plan.plan, s, nullptr, 0, &a));  // uses the plan's scratch
  REQUIRE_OK(mhc_plan_destroy(plan.plan));                 // waits for that run only
  plan.plan = nullptr;
  stage = 2;
  capturer.join();
  CHECK(begin == cudaSuccess);
  CHECK(end == cudaSuccess);  // the other thread's capture was not invalidated
  // The run had finished before destroy returned: its outputs are complete and right.
  REQUIRE(cudaStreamSynchronize(s) == cudaSuccess);
  cudaStreamDestroy(s);
  CHECK(cudaGetLastError() == cudaSuccess);
}

TEST_CASE("a plan refuses another device's current device, stream and memory", "[cuda][device]") {
  if (device_count() < 2) {
    WARN("one CUDA device: the wrong-device cases need two (checked on a two-GPU machine)");
    return;
  }
  REQUIRE(cudaSetDevice(0) == cudaSuccess);
  mhc_desc_t d = make_desc(MHC_OP_POST, 8, 4, 256);
  mhc_preference_t pref = cuda_only();
  PlanHolder plan;
  REQUIRE_OK(mhc_plan_select(&d, &pref, &plan.plan));
  OpData data = make_op_data(resolved_desc(plan.plan), 3);
  RawDevice dev0(data);
  const mhc_args_t a = data.args(dev0.ptrs);
  // Current device 1.
  REQUIRE(cudaSetDevice(1) == cudaSuccess);
  REQUIRE_STATUS(mhc_plan_run(plan.plan, nullptr, nullptr, 0, &a), MHC_STATUS_BAD_PARAM_DEVICE, "current device");
  cudaStream_t s1;
  REQUIRE(cudaStreamCreateWithFlags(&s1, cudaStreamNonBlocking) == cudaSuccess);
  RawDevice dev1(data);  // memory of device 1
  REQUIRE(cudaSetDevice(0) == cudaSuccess);
  REQUIRE_STATUS(mhc_plan_run(plan.plan, s1, nullptr, 0, &a), MHC_STATUS_BAD_PARAM_DEVICE, "stream");
  const mhc_args_t b = data.args(dev1.ptrs);
  REQUIRE_STATUS(mhc_plan_can_implement(plan.plan, &b), MHC_STATUS_BAD_PARAM_DEVICE, "device 1");
  REQUIRE_OK(mhc_plan_run(plan.plan, nullptr, nullptr, 0, &a));
  REQUIRE(cudaDeviceSynchronize() == cudaSuccess);
  cudaSetDevice(1);
  cudaStreamDestroy(s1);
  cudaSetDevice(0);
}
