// The static-H backward SKUs (B1', B2', B3'): host-side configuration, workspace and launches.
// The kernels are in ../kernels/sm80_f32acc_static_bwd.cuh (design notes there) and
// ../kernels/sm80_f32acc_static_bwd_finalize.cu; each op registers its SKU (b*_backward.cu).
//
// What fixes the bits of a run: the thread mapping (tpr, rpc: functions of C, the dtype and the n
// bucket) and the reduction tree (row step -> 16 steps -> ascending; for n > 4, blocks of 16 rows
// -> ascending). What only changes the speed: the grid (resident CTAs), whether a CTA writes one
// partial per row step or folds 16 steps itself, the row buffers (none, one or two per row slot),
// dw's fold accumulator (shared or global memory), vector or element-wise access.
#include <algorithm>

#include "../../common/error.hpp"
#include "../kernels/sm80_f32acc_static_bwd.cuh"
#include "../workspace_section.hpp"
#include "skus.hpp"
#include "static_backward.hpp"
#include "static_rowfused.hpp"  // static_guarantee, static_supports, blocks_per_sm, aligned

namespace mhc::cuda {
static_assert(kStaticPreBackwardMode == static_hc::kPre && kStaticPostBackwardMode == static_hc::kPost &&
                  kStaticLayerBackwardMode == static_hc::kLayer,
              "static_backward.hpp's modes are the kernels' modes");

namespace {

using static_bwd::FinalizeParams;
using static_bwd::kFold;
using static_bwd::kThreads;
using static_bwd::kTileRows;
using static_bwd::RowKernelFn;
using static_bwd::RowParams;
using static_bwd::TileKernelFn;
using static_bwd::TileParams;

constexpr int kMaxTprLog2 = 8;  // at most the whole CTA per row
// A run writes one partial per row step (every step its own unit of work: the most parallelism)
// only while those partials stay below this; else CTAs fold 16 steps each.
constexpr int64_t kStepPartialBytes = int64_t{16} << 20;
// dw's fold accumulator lives in shared memory up to this size, else in its partial row (global).
constexpr int64_t kAccSmemMax = int64_t{64} << 10;

int act_bytes(const Problem& p) { return p.desc.act_dtype == MHC_DTYPE_BF16 ? 2 : 4; }
int nb_bucket(int n) { return n <= 4 ? 4 : n <= 8 ? 8 : n <= 16 ? 16 : 32; }
int64_t up16(int64_t b) { return (b + 15) / 16 * 16; }
size_t up_section(int64_t b) { return workspace_section(static_cast<size_t>(b)); }
int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Everything the plan's (C, dtype, n) fix: the thread mapping, hence every reduction order.
struct Shape {
  bool pre, post;
  int n, nb, ab, gs;
  int tpr_log2, rpc;
  int E;          // coefficient entries per partial
  bool reg_coef;  // n <= 4: the row kernel forms the coefficient partials
  int64_t step_bytes;  // partial bytes of one row step
  int64_t step_cap;    // most row steps a run writes one partial each for
};

Shape shape_of(const Problem& p, int mode) {
  Shape s{};
  s.pre = mode != static_hc::kPost;
  s.post = mode != static_hc::kPre;
  s.n = p.n;
  s.nb = nb_bucket(p.n);
  s.ab = act_bytes(p);
  s.gs = static_bwd::group_elems(s.ab, s.nb);
  // Threads per row: about four groups per thread, a power of two, at most 256 (the forward's rule).
  const int64_t groups = ceil_div(p.C, s.gs), want = ceil_div(groups, 4);
  int l = 0;
  while ((int64_t{1} << l) < want && l < kMaxTprLog2) ++l;
  s.tpr_log2 = l;
  s.rpc = kThreads >> l;
  s.E = static_bwd::entries(p.n);
  s.reg_coef = s.nb == 4;
  s.step_bytes = ((s.pre ? p.C : 0) + (s.reg_coef ? s.E : 0)) * 8;
  s.step_cap = s.step_bytes > 0 ? std::max<int64_t>(1, kStepPartialBytes / s.step_bytes) : INT64_MAX;
  return s;
}

// The workspace: coefficient partials, dw partials, (rms, k) per row (n > 4 with the pre part),
// the Sinkhorn's record (finalize_record_bytes). Sized for the plan's T: covers every run.
struct Sections {
  size_t coef = 0, dw = 0, rk = 0, trace = 0;
  size_t total() const { return coef + dw + rk + trace; }
};

int64_t max_row_parts(const Shape& s, int64_t T) {
  const int64_t steps = ceil_div(T, s.rpc);
  return std::max(std::min(steps, s.step_cap), ceil_div(steps, kFold));
}

Sections sections(const Problem& plan, const Shape& s) {
  Sections w;
  const int64_t parts = max_row_parts(s, plan.T);
  const int64_t coef_parts = s.reg_coef ? parts : ceil_div(plan.T, kTileRows);
  w.coef = up_section(coef_parts * s.E * 8);
  if (s.pre) w.dw = up_section(parts * plan.C * 8);
  if (s.pre && !s.reg_coef) w.rk = up_section(plan.T * 2 * 8);
  if (s.post) w.trace = up_section(static_bwd::finalize_record_bytes(s.n, plan.desc.sinkhorn_repeat));
  return w;
}

struct Config {
  bool fold16 = false;
  bool resident = false;
  int stages = 1;
  bool acc_smem = false;
  int64_t off_stage = 0, off_acc = -1, off_rows = 0, xbuf = 0, gbuf = 0;
  size_t smem = 0;
};

// Shared memory for a fold choice, without row buffers (phase 2 reads the row from global memory
// again) or with `stages` row buffers per row slot (B1', B3'; 0: none).
Config layout(const Shape& s, const Problem& p, const DeviceInfo& dev, bool fold16, int stages) {
  Config c;
  c.fold16 = fold16;
  int64_t off = static_bwd::fixed_bytes(s.nb);
  c.off_stage = off;
  if (s.pre && s.rpc > 1) off += up16(int64_t{s.rpc} * p.C * 8);
  c.acc_smem = s.pre && fold16 && p.C * 8 <= kAccSmemMax &&
               off + up16(p.C * 8) <= static_cast<int64_t>(dev.smem_optin / 2);
  if (c.acc_smem) {
    c.off_acc = off;
    off += up16(p.C * 8);
  }
  c.off_rows = off;
  c.xbuf = up16(int64_t{s.n} * p.C * s.ab);
  c.gbuf = up16((s.post ? int64_t{s.n} : 1) * p.C * s.ab);
  c.resident = stages > 0;
  c.stages = stages > 0 ? stages : 1;
  c.smem = static_cast<size_t>(off + (stages > 0 ? int64_t{s.rpc} * stages * (c.xbuf + c.gbuf) : 0));
  return c;
}

RowKernelFn row_kernel(const Shape& s, int mode, bool vec, bool res, bool refill) {
  return s.ab == 2 ? static_bwd::rows_kernel_bf16(mode, s.nb, vec, res, refill)
                   : static_bwd::rows_kernel_f32(mode, s.nb, vec, res, refill);
}

void run_static_backward(const RunContext& ctx, int mode, bool streamed) {
  const Problem& p = ctx.problem;
  const mhc_args_t& a = ctx.args;
  const Shape s = shape_of(p, mode);
  const Sections ws = sections(ctx.plan_problem, s);
  char* base = static_cast<char*>(ctx.workspace);
  double* coef_parts = reinterpret_cast<double*>(base);
  double* dw_parts = reinterpret_cast<double*>(base + ws.coef);
  double* rk = reinterpret_cast<double*>(base + ws.coef + ws.dw);
  double* trace = reinterpret_cast<double*>(base + ws.coef + ws.dw + ws.rk);
  const bool pdl = ctx.device.cc >= 90;

  const void* grad = s.post ? a.grad_residual : a.grad_layer_input;
  // GS-element vectors when C and every pointer allow; element by element otherwise (same bits).
  bool vec = p.C % s.gs == 0;
  const void* const acts[] = {a.residual, grad, a.layer_output, a.out_grad_residual, a.out_grad_layer_output};
  for (const void* ptr : acts) vec = vec && (ptr == nullptr || aligned(ptr, static_cast<size_t>(s.gs) * s.ab));
  vec = vec && (a.norm_weight == nullptr || aligned(a.norm_weight, 2 * static_cast<size_t>(s.gs)));
  // The row copy: whole 16-byte (or 4-byte) granules when x, the gradient and the rows allow.
  const int64_t xrow = int64_t{s.n} * p.C * s.ab, grow = (s.post ? int64_t{s.n} : 1) * p.C * s.ab;
  auto granule_ok = [&](int g) { return aligned(a.residual, g) && aligned(grad, g) && xrow % g == 0 && grow % g == 0; };
  const int copy_bytes = granule_ok(16) ? 16 : granule_ok(4) ? 4 : 2;
  // The streamed SKUs, one row buffer per slot: each thread copies the groups it reads (GS elements
  // of every stream) and refills them with the next row's during phase 2; the granule must also
  // divide a group's bytes and every stream's start (C x bytes). Where none does (e.g. bf16 at
  // n > 8, or odd C in bf16) the one buffer is refilled after the step, behind a block barrier.
  int refill_bytes = 0;
  for (int q : {16, 8, 4})
    if (refill_bytes == 0 && granule_ok(q) && (s.gs * s.ab) % q == 0 && (p.C * s.ab) % q == 0) refill_bytes = q;
  auto refills = [&](int stages) { return streamed && stages == 1 && refill_bytes > 0; };

  // One partial per row step while there are too few 16-step units to fill the GPU and the
  // partials stay small; else each CTA folds 16 steps. The same bits either way.
  const int64_t steps = ceil_div(p.T, s.rpc);
  const int64_t units16 = ceil_div(steps, kFold);
  // The row buffers: of the layouts that fit (two buffers per row slot, one), the one with the most
  // row buffers per SM (occupancy: shared memory and registers), then the most CTAs; none fits: the
  // row is read from global memory again in phase 2.
  auto configure = [&](bool fold) {
    Config best = layout(s, p, ctx.device, fold, 0);
    int best_score = -1, best_blocks = 0;
    if (s.pre) {
      for (int stages = 2; stages >= 1; --stages) {
        const RowKernelFn f = row_kernel(s, mode, vec, true, refills(stages));
        const Config c = layout(s, p, ctx.device, fold, stages);
        if (f == nullptr || c.smem > ctx.device.smem_optin) continue;
        const int blocks = blocks_per_sm(reinterpret_cast<const void*>(f), ctx.device, kThreads, c.smem);
        if (blocks * stages > best_score || (blocks * stages == best_score && blocks > best_blocks))
          best = c, best_score = blocks * stages, best_blocks = blocks;
      }
    }
    return best;
  };
  auto kernel_of = [&](const Config& c) {
    const RowKernelFn f = row_kernel(s, mode, vec, c.resident, c.resident && refills(c.stages));
    if (f == nullptr) fail(MHC_STATUS_INTERNAL, "no static-H backward kernel for mode {}, n bucket {}", mode, s.nb);
    return f;
  };
  Config cfg = configure(true);
  RowKernelFn fn = kernel_of(cfg);
  int64_t resident_ctas =
      int64_t{ctx.device.sm_count} * blocks_per_sm(reinterpret_cast<const void*>(fn), ctx.device, kThreads, cfg.smem);
  const bool fold16 = s.step_bytes > 0 && !(steps <= s.step_cap && units16 * 4 < resident_ctas * 3);
  if (!fold16) {
    cfg = configure(false);
    fn = kernel_of(cfg);
    resident_ctas = int64_t{ctx.device.sm_count} * blocks_per_sm(reinterpret_cast<const void*>(fn), ctx.device, kThreads, cfg.smem);
  }
  const int64_t units = fold16 ? units16 : steps;

  RowParams rp{};
  rp.x = a.residual;
  rp.g = grad;
  rp.f = a.layer_output;
  rp.w = static_cast<const uint16_t*>(a.norm_weight);
  rp.h_pre = static_cast<const float*>(a.h_pre);
  rp.h_post = static_cast<const float*>(a.h_post);
  rp.h_res = static_cast<const float*>(a.h_res);
  rp.dx = a.out_grad_residual;
  rp.df = a.out_grad_layer_output;
  rp.coef_parts = coef_parts;
  rp.dw_parts = dw_parts;
  rp.rk = rk;
  rp.rows = p.T;
  rp.steps = steps;
  rp.C = static_cast<int>(p.C);
  rp.n = p.n;
  rp.iters = p.desc.sinkhorn_repeat;
  rp.eps = p.desc.static_eps;
  rp.tpr_log2 = s.tpr_log2;
  rp.rpc = s.rpc;
  rp.stages = cfg.stages;
  rp.copy_bytes = copy_bytes;
  rp.refill_bytes = cfg.resident && refills(cfg.stages) ? refill_bytes : 0;
  rp.fold = fold16 ? kFold : 1;
  rp.acc_dx = (a.grad_accumulate & MHC_GRAD_ACCUMULATE_RESIDUAL) != 0;
  rp.acc_df = (a.grad_accumulate & MHC_GRAD_ACCUMULATE_LAYER_OUTPUT) != 0;
  rp.xbuf_bytes = cfg.xbuf;
  rp.gbuf_bytes = cfg.gbuf;
  rp.off_stage = cfg.off_stage;
  rp.off_acc = cfg.off_acc;
  rp.off_rows = cfg.off_rows;
  const unsigned grid = static_cast<unsigned>(std::max<int64_t>(1, std::min(units, resident_ctas)));
  launch("sm80_static_bwd_rows", fn, dim3(grid), dim3(kThreads), cfg.smem, ctx.stream, pdl, rp);

  if (!s.reg_coef) {
    TileParams tp{};
    tp.x = a.residual;
    tp.g = grad;
    tp.f = a.layer_output;
    tp.w = rp.w;
    tp.h_pre = rp.h_pre;
    tp.h_post = rp.h_post;
    tp.rk = rk;
    tp.coef_parts = coef_parts;
    tp.rows = p.T;
    tp.blocks = ceil_div(p.T, kTileRows);
    tp.C = rp.C;
    tp.n = p.n;
    const TileKernelFn tf = s.ab == 2 ? static_bwd::tile_kernel_bf16(mode) : static_bwd::tile_kernel_f32(mode);
    if (tf == nullptr) fail(MHC_STATUS_INTERNAL, "no static-H backward tile kernel for mode {}", mode);
    // Units of work: a block of rows and a slice of 256 coefficient entries (the kernel's split).
    const int64_t slices = ceil_div((s.post ? s.E : s.n) - (s.pre ? 0 : s.n), kThreads);
    const int64_t tgrid = std::min<int64_t>(tp.blocks * slices, int64_t{ctx.device.sm_count} * 8);
    launch("sm80_static_bwd_tile", tf, dim3(static_cast<unsigned>(tgrid)), dim3(kThreads), 0, ctx.stream, pdl, tp);
  }

  FinalizeParams fp{};
  fp.coef_parts = coef_parts;
  fp.coef_count = s.reg_coef ? (fold16 ? units16 : steps) : ceil_div(p.T, kTileRows);
  fp.coef_group = s.reg_coef && !fold16 ? kFold : 1;
  fp.dw_parts = dw_parts;
  fp.dw_count = fold16 ? units16 : steps;
  fp.dw_group = fold16 ? 1 : kFold;
  fp.trace = trace;
  fp.h_pre = rp.h_pre;
  fp.h_post = rp.h_post;
  fp.h_res = rp.h_res;
  fp.dh_pre = static_cast<float*>(a.out_grad_h_pre);
  fp.dh_post = static_cast<float*>(a.out_grad_h_post);
  fp.dh_res = static_cast<float*>(a.out_grad_h_res);
  fp.dw = static_cast<float*>(a.out_grad_norm_weight);
  fp.C = p.C;
  fp.n = p.n;
  fp.iters = p.desc.sinkhorn_repeat;
  fp.eps = p.desc.static_eps;
  fp.pre = s.pre;
  fp.post = s.post;
  fp.acc_pre = (a.grad_accumulate & MHC_GRAD_ACCUMULATE_H_PRE) != 0;
  fp.acc_post = (a.grad_accumulate & MHC_GRAD_ACCUMULATE_H_POST) != 0;
  fp.acc_res = (a.grad_accumulate & MHC_GRAD_ACCUMULATE_H_RES) != 0;
  fp.acc_w = (a.grad_accumulate & MHC_GRAD_ACCUMULATE_NORM_WEIGHT) != 0;
  fp.warp_reverse = streamed;
  static_bwd::launch_static_bwd_finalize(fp, ctx.stream, pdl);
}

}  // namespace

Sku static_backward_sku(const OpCard& card, mhc_sku_t id, const char* name, int mode, bool streamed) {
  Sku s = cuda_sku(card, id, name, 80);
  s.guarantee = static_guarantee;
  s.supports = static_supports;
  s.workspace_bytes = [mode](const Problem& plan) { return sections(plan, shape_of(plan, mode)).total(); };
  s.run = [mode, streamed](const RunContext& ctx) { run_static_backward(ctx, mode, streamed); };
  return s;
}

}  // namespace mhc::cuda
