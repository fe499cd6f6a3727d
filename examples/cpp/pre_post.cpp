// pre_post: a stack of mHC layers through the C++ RAII layer (mhc.hpp).
//
// One mhc::Plan for pre (MHC_OP_PRE, MATH.md A3) and one for post (MHC_OP_POST, A4) are selected
// once and reused for every layer, each layer with its own weights:
//
//   pre(R_l, fn_l, scale_l, base_l) -> post_mix, comb_mix, layer_input
//   layer_output = layer_input                  (the "layer": identity, to keep the example small)
//   post(layer_output, R_l, post_mix, comb_mix) -> R_{l+1}
//
// Plans are selected with MHC_BACKEND_ANY. When both are CUDA SKUs the tensors live in device
// memory (cudaMalloc) and the runs go on one CUDA stream; otherwise both plans run on the host
// backend with host memory. The example prints the SKUs, a few values per layer and a checksum
// of the final residual (bit-exact and the same on every machine for the host backend).
//
// Usage: pre_post [T] [C] [layers]     (defaults T = 16, C = 1024, layers = 4; n = 4)
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <mhc/mhc.hpp>

#ifdef MHC_EXAMPLE_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

namespace {

#ifdef MHC_EXAMPLE_WITH_CUDA
void cuda_check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}
#endif

// SKU ids are (backend/arch << 16) | (op << 8) | variant; backend 1 is the host.
bool is_host_sku(mhc_sku_t sku) { return (sku >> 16) == 1; }

// A tensor in host memory or in device memory, with copies to and from host vectors.
class Buffer {
 public:
  Buffer(size_t bytes, bool gpu) : bytes_(bytes), gpu_(gpu) {
    if (gpu_) {
#ifdef MHC_EXAMPLE_WITH_CUDA
      cuda_check(cudaMalloc(&dev_, bytes_), "cudaMalloc");
#else
      throw std::runtime_error("device buffers need the example built with CUDA");
#endif
    } else {
      host_.resize((bytes_ + 7) / 8);  // 8-byte aligned storage
    }
  }
  ~Buffer() {
#ifdef MHC_EXAMPLE_WITH_CUDA
    if (dev_) cudaFree(dev_);
#endif
  }
  Buffer(Buffer&& o) noexcept
      : bytes_(o.bytes_), gpu_(o.gpu_), dev_(std::exchange(o.dev_, nullptr)), host_(std::move(o.host_)) {}
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer& operator=(Buffer&&) = delete;

  void* data() { return gpu_ ? dev_ : static_cast<void*>(host_.data()); }

  template <typename T>
  void upload(const std::vector<T>& src) {
    if (src.size() * sizeof(T) != bytes_) throw std::logic_error("upload: size mismatch");
    if (gpu_) {
#ifdef MHC_EXAMPLE_WITH_CUDA
      cuda_check(cudaMemcpy(dev_, src.data(), bytes_, cudaMemcpyHostToDevice), "cudaMemcpy H2D");
#endif
    } else {
      std::memcpy(host_.data(), src.data(), bytes_);
    }
  }

  template <typename T>
  std::vector<T> download() const {
    std::vector<T> dst(bytes_ / sizeof(T));
    if (gpu_) {
#ifdef MHC_EXAMPLE_WITH_CUDA
      cuda_check(cudaMemcpy(dst.data(), dev_, bytes_, cudaMemcpyDeviceToHost), "cudaMemcpy D2H");
#endif
    } else {
      std::memcpy(dst.data(), host_.data(), bytes_);
    }
    return dst;
  }

 private:
  size_t bytes_;
  bool gpu_;
  void* dev_ = nullptr;
  std::vector<uint64_t> host_;
};

// xorshift64*: the same data on every machine.
class Random {
 public:
  float uniform(float lo, float hi) {
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return lo + (hi - lo) * static_cast<float>((s_ * 0x2545f4914f6cdd1dull) >> 40) / 16777216.0f;
  }

 private:
  uint64_t s_ = 0x243f6a8885a308d3ull;
};

uint16_t to_bf16(float f) {  // round to nearest even (finite inputs)
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

float from_bf16(uint16_t b) {
  const uint32_t u = uint32_t{b} << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

std::vector<float> random_f32(Random& r, size_t count, float lo, float hi) {
  std::vector<float> v(count);
  for (auto& x : v) x = r.uniform(lo, hi);
  return v;
}

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
  bool gpu = !is_host_sku(pre.sku()) && !is_host_sku(post.sku());
#ifndef MHC_EXAMPLE_WITH_CUDA
  gpu = false;  // no CUDA runtime in this build of the example to allocate device memory
#endif
  if (!gpu && (!is_host_sku(pre.sku()) || !is_host_sku(post.sku()))) {
    // One plan got a CUDA SKU and the other did not (or no CUDA here): keep both on the host.
    pre = mhc::Plan(pre_desc, mhc::Preference().backends(MHC_BACKEND_HOST));
    post = mhc::Plan(post_desc, mhc::Preference().backends(MHC_BACKEND_HOST));
  }
  const mhc_precision_guarantee_t g = pre.precision_guarantee();
  std::printf("T=%lld n=%d C=%lld layers=%d: pre %s (num_splits %d, guarantees 0x%x), post %s\n",
              static_cast<long long>(T), n, static_cast<long long>(C), layers, pre.sku_name().c_str(),
              pre.desc().num_splits, g.flags, post.sku_name().c_str());

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
  for (auto& x : r0) x = to_bf16(rng.uniform(-2.0f, 2.0f));
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
    pre.run(stream, a, ws, ws ? ws_bytes : 0);

    mhc::Args b;  // the layer is the identity: layer_output = layer_input
    b.layer_output = layer_input.data();
    b.residual = cur->data();
    b.post_mix = post_mix.data();
    b.comb_mix = comb_mix.data();
    b.out_residual = next->data();
    post.run(stream, b, ws, ws ? ws_bytes : 0);
    std::swap(cur, next);

    if (l == 0 || l == layers - 1) {  // peek at the first and the last layer
#ifdef MHC_EXAMPLE_WITH_CUDA
      if (gpu) cuda_check(cudaStreamSynchronize(cuda_stream), "cudaStreamSynchronize");
#endif
      const auto pm = post_mix.download<float>();
      const auto cm = comb_mix.download<float>();
      const auto li = layer_input.download<uint16_t>();
      std::printf("layer %d, token 0: post_mix = %.6f %.6f %.6f %.6f, comb_mix[0][:] = %.6f %.6f %.6f %.6f, "
                  "layer_input[0] = %.5f\n",
                  l, pm[0], pm[1], pm[2], pm[3], cm[0], cm[1], cm[2], cm[3], from_bf16(li[0]));
    }
  }
#ifdef MHC_EXAMPLE_WITH_CUDA
  if (gpu) {
    cuda_check(cudaStreamSynchronize(cuda_stream), "cudaStreamSynchronize");
    cuda_check(cudaStreamDestroy(cuda_stream), "cudaStreamDestroy");
  }
#endif

  // Checksum of the final residual: the sum of its values and an FNV-1a hash of its bits.
  const auto out = cur->download<uint16_t>();
  double sum = 0.0;
  uint64_t hash = 0xcbf29ce484222325ull;
  for (uint16_t v : out) {
    sum += from_bf16(v);
    hash = (hash ^ (v & 0xffu)) * 0x100000001b3ull;
    hash = (hash ^ (v >> 8)) * 0x100000001b3ull;
  }
  std::printf("checksum: sum = %.6f, fnv1a64 = %016llx\n", sum, static_cast<unsigned long long>(hash));
  std::printf("ran %s, %s on %s\n", pre.sku_name().c_str(), post.sku_name().c_str(), gpu ? "GPU" : "host");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t T = argc > 1 ? std::atoll(argv[1]) : 16;
  const int64_t C = argc > 2 ? std::atoll(argv[2]) : 1024;
  const int layers = argc > 3 ? std::atoi(argv[3]) : 4;
  if (T < 1 || C < 1 || layers < 1) {
    std::fprintf(stderr, "usage: pre_post [T >= 1] [C >= 1] [layers >= 1]\n");
    return 1;
  }
  try {
    return run(T, C, layers);
  } catch (const mhc::Error& e) {  // what() is "<mhc_status_string>: <mhc_get_last_error>"
    std::fprintf(stderr, "pre_post: libmhc error %d: %s\n", static_cast<int>(e.status()), e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pre_post: %s\n", e.what());
  }
  return 1;
}
