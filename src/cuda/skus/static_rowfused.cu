// The static-H row-fused SKUs (B1, B2, B3): host-side heuristics and launch. The kernels are in
// ../kernels/sm80_f32acc_static_hc.cuh; this file picks a configuration per run and launches one kernel.
// Each op registers its SKUs (b*_static_*.cu) with its kernel mode bound.
#include <algorithm>
#include <map>
#include <mutex>
#include <tuple>

#include "../../common/error.hpp"
#include "../kernels/sm80_f32acc_static_hc.cuh"
#include "../smem_optin.hpp"
#include "skus.hpp"
#include "static_rowfused.hpp"

namespace mhc::cuda {
static_assert(kStaticPreMode == static_hc::kPre && kStaticPostMode == static_hc::kPost &&
                  kStaticLayerMode == static_hc::kLayer,
              "static_rowfused.hpp's modes are the kernels' modes");

namespace {

using static_hc::KernelFn;
using static_hc::Params;

constexpr int kMaxTprLog2 = 9;       // at most 512 threads per row
constexpr int kTargetThreads = 256;  // CTA size when rows are small
constexpr int64_t kMaxHidden = int64_t{1} << 30;

int act_bytes(const Problem& p) { return p.desc.act_dtype == MHC_DTYPE_BF16 ? 2 : 4; }
int nb_bucket(int n) { return n <= 4 ? 4 : n <= 8 ? 8 : n <= 16 ? 16 : 32; }

// Threads per row (log2): about four groups per thread, a power of two, at most 512. A function
// of (C, dtype, n bucket) alone: it fixes the order of the row's sum of squares, so B1 and B3
// agree bit for bit and no row depends on B, the grid or the pointers.
int tpr_log2_for(const Problem& p) {
  const int64_t G = static_hc::group_elems(act_bytes(p), nb_bucket(p.n));
  const int64_t groups = (p.C + G - 1) / G;
  const int64_t want = (groups + 3) / 4;
  int l = 0;
  while ((int64_t{1} << l) < want && l < kMaxTprLog2) ++l;
  return l;
}

struct Config {
  int tpr_log2;
  int rpc;
  int stages;     // B3 resident: 1 or 2 row buffers per row slot
  bool resident;  // B1: y [C] in shared memory; B3: x [n, C] in shared memory
  size_t smem;
  int threads() const { return rpc << tpr_log2; }
};

// Rows per CTA, and whether (and how many) row buffers live in shared memory. Buffers of at
// most half the opt-in shared memory per CTA keep two CTAs per SM where rows allow; B3 takes two
// stages (copy of the next row overlapping this one) when they fit, unless `single_stage`.
Config configure(const Problem& p, const DeviceInfo& dev, int mode, bool single_stage) {
  Config c{};
  c.tpr_log2 = tpr_log2_for(p);
  const int nb = nb_bucket(p.n);
  const size_t coef = static_cast<size_t>(static_hc::coef_floats(nb)) * 4;
  const int base_rpc = std::max(1, kTargetThreads >> c.tpr_log2);
  const int min_rpc = std::max(1, 32 >> c.tpr_log2);  // whole warps
  c.rpc = base_rpc;
  c.stages = 1;
  c.smem = coef;
  c.resident = false;
  if (mode == static_hc::kPost) return c;
  const size_t row = static_cast<size_t>(static_hc::row_buffer_bytes(mode, act_bytes(p), p.n, p.C));
  const size_t half = dev.smem_optin / 2;
  for (int stages = (mode == static_hc::kLayer && !single_stage) ? 2 : 1; stages >= 1; --stages) {
    int rpc = base_rpc;
    while (rpc > min_rpc && coef + static_cast<size_t>(rpc) * stages * row > half) rpc >>= 1;
    const size_t smem = coef + static_cast<size_t>(rpc) * stages * row;
    if (smem <= dev.smem_optin) {
      c.rpc = rpc;
      c.stages = stages;
      c.resident = true;
      c.smem = smem;
      return c;
    }
  }
  return c;
}


const char* kernel_name(int mode) {
  return mode == static_hc::kPre ? "sm80_static_pre" : mode == static_hc::kPost ? "sm80_static_post"
                                                                                  : "sm80_static_layer";
}

void run_static(const RunContext& ctx, int mode, bool single_stage) {
  const Problem& p = ctx.problem;
  const mhc_args_t& a = ctx.args;
  const int ab = act_bytes(p);
  const int nb = nb_bucket(p.n);
  const int GS = static_hc::group_elems(ab, nb);
  const Config cfg = configure(p, ctx.device, mode, single_stage);

  Params prm{};
  prm.x = a.residual;
  prm.w = static_cast<const uint16_t*>(a.norm_weight);
  prm.h_pre = static_cast<const float*>(a.h_pre);
  prm.h_post = static_cast<const float*>(a.h_post);
  prm.h_res = static_cast<const float*>(a.h_res);
  prm.f = a.layer_output;
  prm.out = a.out_residual;
  prm.out_li = a.out_layer_input;
  prm.out_rms = static_cast<float*>(a.out_rms);
  prm.rows = p.T;
  prm.C = static_cast<int>(p.C);
  prm.n = p.n;
  prm.iters = p.desc.sinkhorn_repeat;
  prm.eps = p.desc.static_eps;
  prm.tpr_log2 = cfg.tpr_log2;
  prm.rpc = cfg.rpc;
  prm.stages = cfg.stages;
  // The B3 row copy: whole 16-byte (or 4-byte) granules when x and the row length allow.
  const size_t row_bytes = static_cast<size_t>(p.K) * ab;
  prm.copy_bytes = (aligned(a.residual, 16) && row_bytes % 16 == 0) ? 16
                   : (aligned(a.residual, 4) && row_bytes % 4 == 0) ? 4
                                                                     : 2;

  // GS-element vectors when C and every pointer allow; element by element otherwise (same bits).
  bool vec = p.C % GS == 0;
  const void* const acts[] = {a.residual, a.layer_output, a.out_residual, a.out_layer_input};
  for (const void* ptr : acts) vec = vec && (ptr == nullptr || aligned(ptr, static_cast<size_t>(GS) * ab));
  vec = vec && (a.norm_weight == nullptr || aligned(a.norm_weight, 2 * static_cast<size_t>(GS)));

  const KernelFn fn = ab == 2 ? static_hc::static_kernel_bf16(mode, nb, vec, cfg.resident)
                              : static_hc::static_kernel_f32(mode, nb, vec, cfg.resident);
  if (fn == nullptr)
    fail(MHC_STATUS_INTERNAL, "no static-H kernel for mode {}, n bucket {}, vec {}, resident {}", mode, nb, vec,
         cfg.resident);
  const int threads = cfg.threads();
  const int64_t row_blocks = (p.T + cfg.rpc - 1) / cfg.rpc;
  const int64_t resident_blocks =
      int64_t{ctx.device.sm_count} * blocks_per_sm(reinterpret_cast<const void*>(fn), ctx.device, threads, cfg.smem);
  const unsigned grid = static_cast<unsigned>(std::max<int64_t>(1, std::min(row_blocks, resident_blocks)));
  launch(kernel_name(mode), fn, dim3(grid), dim3(threads), cfg.smem, ctx.stream, ctx.device.cc >= 90, prm);
}

}  // namespace

int blocks_per_sm(const void* f, const DeviceInfo& dev, int threads, size_t smem) {
  static std::mutex mu;
  static std::map<std::tuple<const void*, int, int, size_t>, int> cache;
  const auto key = std::make_tuple(f, dev.ordinal, threads, smem);
  std::lock_guard<std::mutex> lock(mu);
  const auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  if (!opt_in_dynamic_smem(f, dev.smem_optin, dev, "cudaFuncSetAttribute(MaxDynamicSharedMemorySize) for a static-H kernel"))
    fail(MHC_STATUS_INTERNAL, "device {} gives less than its reported {} bytes of shared memory",
         dev.ordinal, dev.smem_optin);
  int blocks = 0;
  check_cuda(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, f, threads, smem),
             "cudaOccupancyMaxActiveBlocksPerMultiprocessor for a static-H kernel");
  if (blocks < 1)
    fail(MHC_STATUS_EXECUTION_FAILED_LAUNCH,
         "a static-H kernel cannot be resident with {} threads and {} bytes of shared memory", threads, smem);
  cache.emplace(key, blocks);
  return blocks;
}

mhc_precision_guarantee_t static_guarantee(const Problem&) {
  return {sizeof(mhc_precision_guarantee_t), MHC_DTYPE_FP32, MHC_DTYPE_FP32,
          MHC_GUARANTEE_DETERMINISTIC | MHC_GUARANTEE_BIT_STABLE | MHC_GUARANTEE_BATCH_INVARIANT |
              MHC_GUARANTEE_NO_ATOMICS};
}

std::string static_supports(const Problem& p, const DeviceInfo&) {
  if (p.family != Family::kStatic) return "not a static-H op";
  if (p.n < 1 || p.n > 32) return fmt::format("n = {}: this SKU runs n = 1..32", p.n);
  if (p.C > kMaxHidden) return fmt::format("C = {}: this SKU runs C <= 2^30", p.C);
  if (p.desc.act_dtype != MHC_DTYPE_FP32 && p.desc.act_dtype != MHC_DTYPE_BF16)
    return "activations must be fp32 or bf16";
  return {};
}

Sku static_sku(const OpCard& card, mhc_sku_t id, const char* name, int mode, bool single_stage) {
  Sku s = cuda_sku(card, id, name, 80);
  s.guarantee = static_guarantee;
  s.supports = static_supports;
  s.run = [mode, single_stage](const RunContext& ctx) { run_static(ctx, mode, single_stage); };
  return s;
}

}  // namespace mhc::cuda
