// v41_chain: a DeepSeek-V4.1 stack of sublayers with the shifted mHC boundary, through the C++
// RAII layer (mhc.hpp), every run checked against the fp64 host reference.
//
// V4.1 collapses each boundary's residual with the pre of the PREVIOUS boundary, so the mix
// (GEMM + Sinkhorn) of a boundary is not on the critical path: it runs on a second stream while
// the sublayer runs on the first.
//
//   first:    E -> H_0, x_0 (= E, RMS-normalized), post_0, comb_0, pre_0      (BOUNDARY_FIRST, shifted)
//   s = 1..:  stream A: Y_{s-1} = sublayer(x_{s-1})                           (here: Y = x, identity)
//             stream A: H_s, x_s = collapse(Y_{s-1}, H_{s-1}, post, comb, pre of s-1)  (BOUNDARY_COLLAPSE)
//             stream B: post_s, comb_s, pre_s = mix(H_s)        (BOUNDARY_MIX; overlaps the next sublayer)
//   head:     x = collapse with the last pre and the final norm, no new residual (BOUNDARY_COLLAPSE)
//
// Plans are selected once (MHC_BACKEND_ANY) and reused for every sublayer with its own weights.
// The example checks every run, so it waits for both streams after each one; without the checks
// the events alone order the streams and the mix overlaps the next sublayer.
// On a machine without a GPU every plan runs on the host backend and the two "streams" are the
// calling thread. Usage: v41_chain [T] [C] [sublayers]   (defaults 16, 1024, 8; n = 4)
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include <mhc/mhc.hpp>

#include "../common/buffers.hpp"
#include "../common/check.h"

namespace {

using example::Buffer;
using example::Random;
using example::random_f32;
#ifdef MHC_EXAMPLE_WITH_CUDA
using example::cuda_check;
#endif

// V4.1-Flash constants: eps 1e-20 in the mix RMS and in the RMSNorm.
mhc::Desc v41_desc(mhc_op_t op, int64_t T, int32_t n, int64_t C, uint32_t flags) {
  mhc::Desc d(op, T, n, C);
  d->flags = flags;
  d->rms_eps = 1e-20f;
  d->norm_eps = 1e-20f;
  return d;
}

int run(int64_t T, int64_t C, int sublayers) {
  const int32_t n = 4;
  const int64_t K = n * C, N = int64_t{n} * (n + 2);
  std::printf("libmhc %s, CUDA devices: %d\n", mhc_get_version_string(), mhc::cuda_device_count());
  mhc::check(mhc_check_abi(MHC_ABI_VERSION));

  const uint32_t norm = MHC_DESC_FLAG_NORM;
  const mhc::Desc first_d = v41_desc(MHC_OP_BOUNDARY_FIRST, T, n, C, MHC_DESC_FLAG_SHIFTED | norm);
  const mhc::Desc collapse_d = v41_desc(MHC_OP_BOUNDARY_COLLAPSE, T, n, C, norm);
  const mhc::Desc mix_d = v41_desc(MHC_OP_BOUNDARY_MIX, T, n, C, 0);
  mhc::Plan first(first_d, mhc::Preference().backends(MHC_BACKEND_ANY));
  mhc::Plan collapse(collapse_d, mhc::Preference().backends(MHC_BACKEND_ANY));
  mhc::Plan mix(mix_d, mhc::Preference().backends(MHC_BACKEND_ANY));
  bool gpu = !ex_is_host_sku(first.sku()) && !ex_is_host_sku(collapse.sku()) && !ex_is_host_sku(mix.sku());
#ifndef MHC_EXAMPLE_WITH_CUDA
  gpu = false;
#endif
  if (!gpu) {  // keep every plan on one backend
    first = mhc::Plan(first_d, mhc::Preference().backends(MHC_BACKEND_HOST));
    collapse = mhc::Plan(collapse_d, mhc::Preference().backends(MHC_BACKEND_HOST));
    mix = mhc::Plan(mix_d, mhc::Preference().backends(MHC_BACKEND_HOST));
  }
  std::printf("T = %lld, n = %d, C = %lld, %d sublayers: shifted boundaries, the mix on a second stream\n",
              static_cast<long long>(T), n, static_cast<long long>(C), sublayers);
  if (!ex_describe_plan(first.get()) || !ex_describe_plan(collapse.get()) || !ex_describe_plan(mix.get())) return 1;

  void* stream_a = nullptr;  // the critical path
  void* stream_b = nullptr;  // the mix part
#ifdef MHC_EXAMPLE_WITH_CUDA
  cudaStream_t sa = nullptr, sb = nullptr;
  cudaEvent_t h_ready = nullptr, mix_done = nullptr;
  if (gpu) {
    cuda_check(cudaStreamCreate(&sa), "cudaStreamCreate");
    cuda_check(cudaStreamCreate(&sb), "cudaStreamCreate");
    cuda_check(cudaEventCreateWithFlags(&h_ready, cudaEventDisableTiming), "cudaEventCreate");
    cuda_check(cudaEventCreateWithFlags(&mix_done, cudaEventDisableTiming), "cudaEventCreate");
    stream_a = sa, stream_b = sb;
  }
#endif
  // Plans on different streams at once each use their own scratch (workspace NULL).

  Random rng;
  std::vector<uint16_t> e(T * C);
  for (auto& x : e) x = ex_to_bf16(rng.uniform(-2.0f, 2.0f));
  Buffer E(T * C * 2, gpu);
  E.upload(e);
  std::vector<Buffer> fn, scale, base, w;
  for (int s = 0; s <= sublayers; ++s) {  // one mix site per sublayer; w[sublayers] is the final norm
    fn.emplace_back(N * K * 4, gpu), fn.back().upload(random_f32(rng, N * K, -0.05f, 0.05f));
    scale.emplace_back(3 * 4, gpu), scale.back().upload(random_f32(rng, 3, 0.5f, 1.5f));
    base.emplace_back(N * 4, gpu), base.back().upload(random_f32(rng, N, -1.0f, 1.0f));
    std::vector<uint16_t> wv(C);
    for (auto& x : wv) x = ex_to_bf16(rng.uniform(0.5f, 1.5f));
    w.emplace_back(C * 2, gpu), w.back().upload(wv);
  }
  // Two of each carried tensor: boundary s reads set (s-1) % 2 while its mix writes set s % 2.
  std::vector<Buffer> H, post, comb, pre;
  for (int i = 0; i < 2; ++i) {
    H.emplace_back(T * K * 2, gpu), post.emplace_back(T * n * 4, gpu);
    comb.emplace_back(T * n * n * 4, gpu), pre.emplace_back(T * n * 4, gpu);
  }
  Buffer x(T * C * 2, gpu);

  const ex_copy_fn copy = gpu ? ex_copy_cuda : ex_copy_host;
  auto sync = [&] {
#ifdef MHC_EXAMPLE_WITH_CUDA
    if (gpu) cuda_check(cudaStreamSynchronize(sa), "sync"), cuda_check(cudaStreamSynchronize(sb), "sync");
#endif
  };
  bool ok = true;
  // Checked runs: outputs poisoned first, compared with the host backend after the run.
  auto checked = [&](const mhc::Plan& plan, const mhc::Args& a, void* stream, const std::string& label) {
    ok &= example::run_checked(plan, a, stream, nullptr, 0, copy, sync, label);
  };

  mhc::Args a0;  // the first boundary: u = E (the carried pre is e_0), H_0 = E in every stream
  a0.embedding = E.data(), a0.fn = fn[0].data(), a0.scale = scale[0].data(), a0.base = base[0].data();
  a0.norm_weight = w[0].data();
  a0.out_residual = H[0].data(), a0.out_layer_input = x.data();
  a0.out_post_mix = post[0].data(), a0.out_comb_mix = comb[0].data(), a0.out_pre_mix = pre[0].data();
  checked(first, a0, stream_a, "boundary 0 (first)");

  for (int s = 1; s <= sublayers; ++s) {
    const int prev = (s - 1) % 2, cur = s % 2;
    // The sublayer: identity here (Y = x), so x is the collapse's layer_output.
    mhc::Args c;
    c.residual = H[prev].data();
    c.post_mix = post[prev].data(), c.comb_mix = comb[prev].data(), c.pre_mix = pre[prev].data();
    c.norm_weight = w[s].data();
    const bool head = s == sublayers;  // the head: no new residual, the final norm
    if (!head) c.out_residual = H[cur].data();
    Buffer y(T * C * 2, gpu);  // the collapse reads Y = x while writing the new x: separate buffers
    if (!(gpu ? ex_copy_cuda : ex_copy_host)(y.data(), x.data(), T * C * 2)) throw std::runtime_error("copy");
    c.layer_output = y.data();
    c.out_layer_input = x.data();
    checked(collapse, c, stream_a, head ? "head" : "boundary " + std::to_string(s) + " critical part");
    if (head) break;

    mhc::Args m;  // the mix part on stream B, after the new residual exists
    m.residual = H[cur].data(), m.fn = fn[s].data(), m.scale = scale[s].data(), m.base = base[s].data();
    m.out_post_mix = post[cur].data(), m.out_comb_mix = comb[cur].data(), m.out_pre_mix = pre[cur].data();
#ifdef MHC_EXAMPLE_WITH_CUDA
    if (gpu) {
      cuda_check(cudaEventRecord(h_ready, sa), "cudaEventRecord");
      cuda_check(cudaStreamWaitEvent(sb, h_ready, 0), "cudaStreamWaitEvent");
    }
#endif
    checked(mix, m, stream_b, "boundary " + std::to_string(s) + " mix part");
#ifdef MHC_EXAMPLE_WITH_CUDA
    if (gpu) {  // the next collapse reads this mix's post, comb and pre
      cuda_check(cudaEventRecord(mix_done, sb), "cudaEventRecord");
      cuda_check(cudaStreamWaitEvent(sa, mix_done, 0), "cudaStreamWaitEvent");
    }
#endif
  }
#ifdef MHC_EXAMPLE_WITH_CUDA
  if (gpu) {
    cudaEventDestroy(h_ready), cudaEventDestroy(mix_done);
    cudaStreamDestroy(sa), cudaStreamDestroy(sb);
  }
#endif
  std::printf("v41_chain: 3 plans checked against the fp64 host reference (%d boundaries and the head): %s\n",
              sublayers, ok ? "all PASS" : "FAIL: a boundary output");
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) { return example::example_main(argc, argv, "v41_chain", "sublayers", 8, run); }
