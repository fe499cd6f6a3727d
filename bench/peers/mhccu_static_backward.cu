// Times mHC.cu's static-H layer backward (MHCLayer::backward: aggregate, RMSNorm, distribute and
// mix, guarded Sinkhorn, all reversed) on the shapes mhc-bench --suite static_backward measures,
// so the two can be compared from one session on one GPU. Built against mHC.cu's public sources by
// bench/peers/build_mhccu.sh; nothing of mHC.cu is part of libmhc.
//
// Method: forward once, then the backward captured in a CUDA graph (when its launches allow) and
// replayed; each timed replay is preceded by a write of 200 MB so that its inputs come from DRAM.
// Median of --reps. Prints one line: B C n us method.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "mhc_layer.cuh"

#define CK(x)                                                                                   \
  do {                                                                                          \
    cudaError_t e_ = (x);                                                                       \
    if (e_ != cudaSuccess) {                                                                    \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
      std::exit(1);                                                                             \
    }                                                                                           \
  } while (0)

static double time_backward(int B, int C, int n, int reps, const char** method) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> x(size_t(B) * n * C), dy(size_t(B) * n * C), h_pre(n), h_post(n), h_res(size_t(n) * n);
  std::vector<mhc::floatX> w(C);
  for (auto& v : x) v = u(rng);
  for (auto& v : dy) v = u(rng);
  for (auto& v : w) v = mhc::floatX(0.75f + 0.25f * u(rng));
  for (auto& v : h_pre) v = 0.1f * u(rng);
  for (auto& v : h_post) v = 0.1f * u(rng);
  for (auto& v : h_res) v = 0.01f * u(rng);

  float *d_x, *d_dy, *flush;
  const size_t flush_bytes = size_t(200) << 20;
  CK(cudaMalloc(&d_x, x.size() * 4));
  CK(cudaMalloc(&d_dy, dy.size() * 4));
  CK(cudaMalloc(&flush, flush_bytes));
  CK(cudaMemcpy(d_x, x.data(), x.size() * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(d_dy, dy.data(), dy.size() * 4, cudaMemcpyHostToDevice));

  mhc::MHCLayerConfig cfg;
  cfg.batch_size = B;
  cfg.hidden_dim = C;
  cfg.expansion_rate = n;
  cfg.sinkhorn_iters = 20;
  cfg.eps = 1e-5f;
  cfg.use_pdl = true;
  cfg.use_dynamic_h = false;
  mhc::MHCLayer layer;
  layer.init(cfg, nullptr, /*enable_backward=*/true);
  layer.set_weights(w.data(), h_pre.data(), h_post.data(), h_res.data());
  layer.forward_device(d_x);
  for (int i = 0; i < 3; ++i) layer.backward(d_dy);
  CK(cudaStreamSynchronize(layer.stream));
  CK(cudaGetLastError());

  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  *method = "eager";
  if (cudaStreamBeginCapture(layer.stream, cudaStreamCaptureModeThreadLocal) == cudaSuccess) {
    layer.backward(d_dy);
    if (cudaStreamEndCapture(layer.stream, &graph) == cudaSuccess &&
        cudaGraphInstantiate(&exec, graph, 0) == cudaSuccess)
      *method = "graph";
    cudaGetLastError();
  }
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  std::vector<float> ms;
  for (int r = 0; r < reps + 3; ++r) {
    CK(cudaMemsetAsync(flush, r & 0xff, flush_bytes, layer.stream));
    CK(cudaEventRecord(e0, layer.stream));
    if (exec)
      CK(cudaGraphLaunch(exec, layer.stream));
    else
      layer.backward(d_dy);
    CK(cudaEventRecord(e1, layer.stream));
    CK(cudaEventSynchronize(e1));
    float t;
    CK(cudaEventElapsedTime(&t, e0, e1));
    if (r >= 3) ms.push_back(t);
  }
  CK(cudaGetLastError());
  std::sort(ms.begin(), ms.end());
  if (exec) cudaGraphExecDestroy(exec);
  if (graph) cudaGraphDestroy(graph);
  layer.destroy();
  cudaFree(d_x), cudaFree(d_dy), cudaFree(flush);
  return ms[ms.size() / 2] * 1e3;
}

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 50;
  const int shapes[][3] = {{8192, 4096, 4}, {320, 1280, 4}, {4096, 7168, 4}, {1024, 4096, 4}};
  for (const auto& s : shapes) {
    const char* method = "";
    const double us = time_backward(s[0], s[1], s[2], reps, &method);
    std::printf("mHC.cu MHCLayer::backward B=%d C=%d n=%d fp32: %.2f us (%s, median of %d)\n", s[0], s[1], s[2], us,
                method, reps);
  }
  return 0;
}
