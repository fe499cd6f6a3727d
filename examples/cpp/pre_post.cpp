// pre_post: a stack of mHC layers through the C++ RAII layer (mhc.hpp), checked against the
// fp64 host reference.
//
// One mhc::Plan for pre (MHC_OP_PRE) and one for post (MHC_OP_POST) are selected once and reused
// for every layer, each layer with its own weights:
//
//   pre(R_l, fn_l, scale_l, base_l) -> post_mix, comb_mix, layer_input
//   layer_output = layer_input                  (the "layer": identity, to keep the example small)
//   post(layer_output, R_l, post_mix, comb_mix) -> R_{l+1}
//
// Plans are selected with MHC_BACKEND_ANY. When both are CUDA SKUs the tensors live in device
// memory (cudaMalloc) and the runs go on one CUDA stream; otherwise both plans run on the host
// backend with host memory. The example prints what each plan runs and, for every run, compares
// each output with the fp64 host backend on the same inputs (examples/common/check.h, tolerances
// from docs/numerics.md).
//
// Usage: pre_post [T] [C] [layers]     (defaults T = 16, C = 1024, layers = 4; n = 4)
// Exit status 0 when every output passes; 1 on a FAIL or an error.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <mhc/mhc.hpp>

#include "../common/buffers.hpp"
#include "../common/check.h"

#ifdef MHC_EXAMPLE_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

namespace {

using example::Buffer;
using example::Random;
using example::random_f32;
#ifdef MHC_EXAMPLE_WITH_CUDA
using example::cuda_check;
#endif

int run(int64_t T, int64_t C, int layers) {
  const int32_t n = 4;
  const int64_t K = n * C, N = int64_t{n} * (n + 2);
  std::printf("libmhc %s, CUDA devices: %d\n", mhc_get_version_string(), mhc::cuda_device_count());
  mhc::check(mhc_check_abi(MHC_ABI_VERSION));

  // Select once: the plans are immutable and are reused for every layer.
  const mhc::Desc pre_desc(MHC_OP_PRE, T, n, C);
  const mhc::Desc post_desc(MHC_OP_POST, T, n, C);
  mhc::Plan pre(pre_desc, mhc::Preference().backends(MHC_BACKEND_ANY));
  mhc::Plan post(post_desc, mhc::Preference().backends(MHC_BACKEND_ANY));
  bool gpu = !ex_is_host_sku(pre.sku()) && !ex_is_host_sku(post.sku());
#ifndef MHC_EXAMPLE_WITH_CUDA
  gpu = false;  // no CUDA runtime in this build of the example to allocate device memory
#endif
  if (!gpu && (!ex_is_host_sku(pre.sku()) || !ex_is_host_sku(post.sku()))) {
    // One plan got a CUDA SKU and the other did not (or no CUDA here): keep both on the host.
    pre = mhc::Plan(pre_desc, mhc::Preference().backends(MHC_BACKEND_HOST));
    post = mhc::Plan(post_desc, mhc::Preference().backends(MHC_BACKEND_HOST));
  }
  std::printf("T = %lld, n = %d, C = %lld, %d layers: two plans, selected once, reused for every layer\n",
              static_cast<long long>(T), n, static_cast<long long>(C), layers);
  if (!ex_describe_plan(pre.get()) || !ex_describe_plan(post.get())) return 1;

  void* stream = nullptr;  // host SKUs run on the calling thread; CUDA SKUs on this stream
#ifdef MHC_EXAMPLE_WITH_CUDA
  cudaStream_t cuda_stream = nullptr;
  if (gpu) {
    cuda_check(cudaStreamCreate(&cuda_stream), "cudaStreamCreate");
    stream = cuda_stream;
  }
#endif

  // Both plans run in order on one stream, so they can share one workspace.
  const size_t ws_bytes = std::max(pre.workspace_size(), post.workspace_size());
  std::unique_ptr<Buffer> workspace;
  void* ws = nullptr;  // NULL with 0 bytes: each plan uses its own scratch (runs ordered on one stream)
  if (ws_bytes > 0) {  // the contract: at least workspace_size() bytes, 256-byte aligned
    workspace = std::make_unique<Buffer>(ws_bytes + 256, gpu);
    const uintptr_t p = reinterpret_cast<uintptr_t>(workspace->data());
    ws = reinterpret_cast<void*>((p + 255) & ~uintptr_t{255});
  }

  // Inputs: a random residual and per-layer weights.
  Random rng;
  std::vector<uint16_t> r0(T * K);
  for (auto& x : r0) x = ex_to_bf16(rng.uniform(-2.0f, 2.0f));
  Buffer residual_a(T * K * 2, gpu), residual_b(T * K * 2, gpu);
  residual_a.upload(r0);
  std::vector<Buffer> fn, scale, base;
  fn.reserve(layers), scale.reserve(layers), base.reserve(layers);
  for (int l = 0; l < layers; ++l) {
    fn.emplace_back(N * K * 4, gpu);
    fn.back().upload(random_f32(rng, N * K, -0.05f, 0.05f));
    scale.emplace_back(3 * 4, gpu);
    scale.back().upload(random_f32(rng, 3, 0.5f, 1.5f));
    base.emplace_back(N * 4, gpu);
    base.back().upload(random_f32(rng, N, -1.0f, 1.0f));
  }
  Buffer post_mix(T * n * 4, gpu), comb_mix(T * n * n * 4, gpu), layer_input(T * C * 2, gpu);

  // Every run is checked: poison its outputs (so that one the run never writes fails), run,
  // wait, then compare each output with the fp64 host backend on the same inputs. The copies
  // are synchronous cudaMemcpy calls, ordered with the runs on our (blocking) stream.
  const ex_copy_fn copy = gpu ? ex_copy_cuda : ex_copy_host;
  const auto wait = [&] {
#ifdef MHC_EXAMPLE_WITH_CUDA
    if (gpu) cuda_check(cudaStreamSynchronize(cuda_stream), "cudaStreamSynchronize");
#endif
  };
  auto run_checked = [&](const mhc::Plan& plan, const mhc::Args& args, const std::string& label) {
    return example::run_checked(plan, args, stream, ws, ws ? ws_bytes : 0, copy, wait, label);
  };

  bool pre_ok = true, post_ok = true;
  Buffer* cur = &residual_a;
  Buffer* next = &residual_b;
  for (int l = 0; l < layers; ++l) {
    mhc::Args a;  // pre: R -> post_mix, comb_mix, layer_input
    a.residual = cur->data();
    a.fn = fn[l].data();
    a.scale = scale[l].data();
    a.base = base[l].data();
    a.out_post_mix = post_mix.data();
    a.out_comb_mix = comb_mix.data();
    a.out_layer_input = layer_input.data();
    pre_ok &= run_checked(pre, a, "layer " + std::to_string(l));

    mhc::Args b;  // the layer is the identity: layer_output = layer_input
    b.layer_output = layer_input.data();
    b.residual = cur->data();
    b.post_mix = post_mix.data();
    b.comb_mix = comb_mix.data();
    b.out_residual = next->data();
    post_ok &= run_checked(post, b, "layer " + std::to_string(l));
    std::swap(cur, next);
  }
#ifdef MHC_EXAMPLE_WITH_CUDA
  if (gpu) cuda_check(cudaStreamDestroy(cuda_stream), "cudaStreamDestroy");
#endif

  std::string failed;
  if (!pre_ok) failed += std::string(" ") + ex_op_word(MHC_OP_PRE);
  if (!post_ok) failed += std::string(" ") + ex_op_word(MHC_OP_POST);
  std::printf("pre_post: 2 plans checked against the fp64 host reference: %s\n",
              failed.empty() ? "all PASS" : ("FAIL:" + failed).c_str());
  return failed.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) { return example::example_main(argc, argv, "pre_post", "layers", 4, run); }
