// The one-pass SKUs (see onepass.hpp).
#include <algorithm>

#include "../../common/error.hpp"
#include "../launch.cuh"
#include "../workspace_section.hpp"

#include "../kernels/sm90_tf32_pre_onepass.cuh"
#include "dynamic_glue.hpp"
#include "onepass.hpp"
#include "splitk_heuristics.hpp"

namespace mhc::cuda {
namespace {

int32_t splits(const Problem& plan, const OnepassSettings& s) {
  return s.kind == OnepassKind::kHead ? k_only_splits(plan) : plan.S;
}
int32_t sub_splits(const Problem& plan, const OnepassSettings& s) {
  return s.decode_subsplit ? decode_sub_splits(plan) : 1;
}
int tile(const Problem& plan, const OnepassSettings& s) {
  return s.tile_tokens ? s.tile_tokens : onepass_tile_tokens(plan.T);
}
// A1 with partials out writes the caller's tensors: no workspace, no tickets.
bool partials_out(const Problem& plan, const OnepassSettings& s) {
  return s.kind == OnepassKind::kGemm && (plan.partials || plan.S == 1);
}

// Tokens per launch: the slot partials of a chunk stay under 32 MiB of workspace.
int64_t chunk(const Problem& plan, const OnepassSettings& s) {
  constexpr int64_t kMaxBytes = int64_t{32} << 20, kMaxTokens = 16384;
  const int64_t per_token = int64_t{splits(plan, s)} * sub_splits(plan, s) * (plan.N + 1) * 4;
  const int64_t tokens = std::clamp<int64_t>(kMaxBytes / per_token / 32 * 32, 32, kMaxTokens);
  return std::min(tokens, plan.T);
}

struct Workspace {
  size_t partial_bytes, ticket_bytes;
  size_t total() const { return partial_bytes + ticket_bytes; }
};
Workspace workspace(const Problem& plan, const OnepassSettings& s) {
  if (partials_out(plan, s)) return {0, 0};
  const size_t partial = partials_bytes(int64_t{splits(plan, s)} * sub_splits(plan, s), chunk(plan, s), plan.N);
  const size_t tickets = static_cast<size_t>((plan.T + 15) / 16 + 1) * sizeof(int);
  return {partial, workspace_section(tickets)};
}

std::string supports(const Problem& plan, const DeviceInfo& dev, const OnepassSettings& s) {
  if (plan.K % 8 != 0 || plan.C % 8 != 0)
    return fmt::format("K = {}, C = {}: the one-pass kernel needs multiples of 8 (16-byte rows)", plan.K, plan.C);
  const int32_t S = splits(plan, s), U = sub_splits(plan, s);
  const size_t smem = onepass_smem_bytes(int(plan.N), onepass_max_slot_k(plan.G, S, U), split_weights(plan), tile(plan, s));
  if (smem > dev.smem_optin)
    return fmt::format("a K slot of fn needs {} bytes of shared memory, the device has {} (more splits fit)", smem,
                       dev.smem_optin);
  return {};
}

void run(const RunContext& c, const OnepassSettings& s) {
  const Problem& p = c.problem;
  const Problem& plan = c.plan_problem;
  const int32_t S = splits(plan, s), U = sub_splits(plan, s), slots = S * U;
  const int tb = tile(plan, s);
  const bool head = s.kind == OnepassKind::kHead;
  const auto* A = static_cast<const uint16_t*>(c.args.residual);
  const auto* fn = static_cast<const float*>(c.args.fn);

  OnepassParams op{};
  op.A = A, op.fn = fn, op.K = p.K, op.G = p.G, op.N = int(p.N), op.S = S, op.U = U;
  if (partials_out(plan, s)) {
    op.D = static_cast<float*>(c.args.out_gemm), op.Q = static_cast<float*>(c.args.out_sqrsum);
    op.d_split_stride = p.T * p.N, op.q_split_stride = p.T, op.T = p.T, op.mode = OnepassMode::kPartials;
    launch_onepass(op, p.n, split_weights(p), tb, c.device, c.stream);
    return;
  }
  const Workspace ws = workspace(plan, s);
  const int64_t Tc = chunk(plan, s);
  auto* D = static_cast<float*>(c.workspace);
  float* Q = D + int64_t{slots} * Tc * p.N;
  int* tickets = reinterpret_cast<int*>(static_cast<char*>(c.workspace) + ws.partial_bytes);
  check_cuda(cudaMemsetAsync(tickets, 0, static_cast<size_t>((p.T + tb - 1) / tb + 1) * sizeof(int),
                             static_cast<cudaStream_t>(c.stream)),
             "cudaMemsetAsync(one-pass tickets)");
  PreFuseParams base{};
  if (s.kind != OnepassKind::kGemm) {
    base = fuse_params(c, head);
  } else {  // A1: only the reduced D and Q
    base.D_out = static_cast<float*>(c.args.out_gemm);
    base.Q_out = static_cast<float*>(c.args.out_sqrsum);
  }
  for (int64_t t0 = 0; t0 < p.T; t0 += Tc) {
    const int64_t tc = std::min(Tc, p.T - t0);
    op.A = A + t0 * p.K;
    op.D = D, op.Q = Q, op.d_split_stride = Tc * p.N, op.q_split_stride = Tc, op.T = tc;
    op.tickets = tickets + t0 / tb;
    op.mode = s.kind == OnepassKind::kGemm ? OnepassMode::kReduce : OnepassMode::kFuse;
    PreFuseParams f = base;
    f.D = D, f.Q = Q, f.S = slots, f.d_split_stride = Tc * p.N, f.q_split_stride = Tc;
    f.T = tc, f.K = p.K, f.C = p.C, f.n = p.n, f.N = int(p.N);
    if (s.kind != OnepassKind::kGemm) {
      f.R = A + t0 * p.K;
      f.layer_input += t0 * p.C;
      if (f.post_mix) f.post_mix += t0 * p.n;
      if (f.comb_mix) f.comb_mix += t0 * p.n * p.n;
    }
    if (f.D_out) f.D_out += t0 * p.N;
    if (f.Q_out) f.Q_out += t0;
    op.fuse = f;
    launch_onepass(op, p.n, split_weights(p), tb, c.device, c.stream);
  }
}

// The 16-byte path: every tensor the kernel reads or writes in rows.
bool vector_path(const RunContext& c, const OnepassSettings& s) {
  if (!aligned(c.args.residual, 16) || !aligned(c.args.fn, 16)) return false;
  return s.kind == OnepassKind::kGemm || aligned(c.args.out_layer_input, 16);
}

}  // namespace

Sku onepass_sku(const OpCard& card, mhc_sku_t id, const char* name, OnepassSettings settings, Sku fallback) {
  Sku sku = dynamic_sku(card, id, name, 90, /*gemm=*/true);
  sku.workspace_bytes = [settings](const Problem& plan) { return workspace(plan, settings).total(); };
  sku.supports = [settings](const Problem& plan, const DeviceInfo& dev) { return supports(plan, dev, settings); };
  sku.run = [settings](const RunContext& c) { run(c, settings); };
  return with_fallback(std::move(sku), std::move(fallback),
                       [settings](const RunContext& c) { return vector_path(c, settings); });
}

}  // namespace mhc::cuda
