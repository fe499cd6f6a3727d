// Determinism and batch invariance of the host plans (docs/numerics.md, "Tolerances"): two runs of one
// plan and runs of two plans are bit-identical, and a token's rows are the same bits whether it
// runs alone (T = 1), in a small batch or in a large, multi-threaded one.
#include "test_numerics_oracle.hpp"

#include <cstddef>

using namespace mhc_test;

namespace {

// One tensor of a run: an mhc_args_t field, [blocks, T, row] bytes when per_token, else shared.
struct Tensor {
  size_t offset;
  bool output;
  bool per_token;
  int blocks;
  size_t row_bytes;
  std::vector<uint8_t> data;  // inputs: all T rows (or the shared tensor)
};

struct Job {
  const char* name;
  mhc_desc_t desc;
  mhc_guarantee_flags_t required;
  std::vector<Tensor> tensors;
};

template <typename T>
std::vector<uint8_t> bytes(const std::vector<T>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(T));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

Tensor in_rows(size_t off, std::vector<uint8_t> data, size_t row, int blocks = 1) {
  return {off, false, true, blocks, row, std::move(data)};
}
Tensor in_shared(size_t off, std::vector<uint8_t> data) { return {off, false, false, 1, 0, std::move(data)}; }
Tensor out_rows(size_t off, size_t row, int blocks = 1) { return {off, true, true, blocks, row, {}}; }

// Runs job on the given tokens (in that order) with one plan, twice; the two runs must give
// the same bits. Returns the outputs in tensor order.
std::vector<std::vector<uint8_t>> run_rows(const Job& job, const std::vector<int64_t>& tokens) {
  const int64_t T = job.desc.tokens, Tn = static_cast<int64_t>(tokens.size());
  mhc_desc_t d = job.desc;
  d.tokens = Tn;
  mhc_plan_t plan = oracle::host_plan(d, job.required);
  std::vector<std::vector<uint8_t>> ins, outs[2];
  mhc_args_t a[2] = {oracle::args(), oracle::args()};
  for (const Tensor& t : job.tensors) {
    if (t.output) {
      for (auto& o : outs) o.emplace_back(t.blocks * Tn * t.row_bytes, uint8_t{0xff});  // NaN in bf16 and fp32
      for (int r = 0; r < 2; ++r)
        *reinterpret_cast<void**>(reinterpret_cast<char*>(&a[r]) + t.offset) = outs[r].back().data();
      continue;
    }
    if (!t.per_token) {
      ins.push_back(t.data);
    } else {
      std::vector<uint8_t> sub;
      for (int b = 0; b < t.blocks; ++b)
        for (int64_t tok : tokens) {
          const auto* row = t.data.data() + (b * T + tok) * t.row_bytes;
          sub.insert(sub.end(), row, row + t.row_bytes);
        }
      ins.push_back(std::move(sub));
    }
    for (auto& args : a) *reinterpret_cast<const void**>(reinterpret_cast<char*>(&args) + t.offset) = ins.back().data();
  }
  for (int r = 0; r < 2; ++r) {
    const mhc_status_t st = mhc_plan_run(plan, nullptr, nullptr, 0, &a[r]);
    INFO(job.name << ": " << mhc_status_string(st) << ": " << last_error());
    REQUIRE(st == MHC_STATUS_SUCCESS);
  }
  mhc_plan_destroy(plan);
  for (size_t i = 0; i < outs[0].size(); ++i) {
    INFO(job.name << ": output " << i << " differs between two runs of one plan");
    REQUIRE(outs[0][i] == outs[1][i]);
    size_t ff = 0;  // a 4-byte word still all 0xff is unwritten (a NaN no op makes, fp32 or bf16)
    for (size_t k = 0; k + 3 < outs[0][i].size(); k += 4) {
      uint32_t word;
      std::memcpy(&word, &outs[0][i][k], 4);
      ff += word == 0xffffffffu;
    }
    REQUIRE(ff == 0);
  }
  return outs[0];
}

// The rows of `tokens` taken out of a full-batch output (tensor of job.tensors[k]).
std::vector<uint8_t> pick(const Job& job, size_t k, const std::vector<uint8_t>& full, const std::vector<int64_t>& tokens) {
  size_t outs_seen = 0;
  const Tensor* t = nullptr;
  for (const Tensor& x : job.tensors)
    if (x.output && outs_seen++ == k) t = &x;
  std::vector<uint8_t> sub;
  for (int b = 0; b < t->blocks; ++b)
    for (int64_t tok : tokens) {
      const auto* row = full.data() + (b * job.desc.tokens + tok) * t->row_bytes;
      sub.insert(sub.end(), row, row + t->row_bytes);
    }
  return sub;
}

#define ARG(f) offsetof(mhc_args_t, f)

std::vector<Job> jobs(int64_t T) {
  std::vector<Job> v;
  const int n = 4;
  const int64_t C = 100, K = n * C, N = 24;  // K = 400: 7 granules, the last short
  const auto R = bytes(random_bf16(T * K)), fn = bytes(random_f32(N * K, -0.1, 0.1));
  const auto scale = bytes(random_f32(3, 0.5, 2.0)), base = bytes(random_f32(N));
  const size_t rowR = K * 2, rowC = C * 2;

  for (int S : {1, 5, 7}) {
    for (bool partials : {false, true}) {
      Job j{partials ? "A1 partials" : "A1 reduced", make_desc(MHC_OP_PRENORM_GEMM, T, n, C), 0, {}};
      j.desc.num_splits = S;
      if (partials) j.desc.flags = MHC_DESC_FLAG_SPLIT_PARTIALS;
      const int blocks = partials ? S : 1;
      j.tensors = {in_rows(ARG(residual), R, rowR), in_shared(ARG(fn), fn), out_rows(ARG(out_gemm), N * 4, blocks),
                   out_rows(ARG(out_sqrsum), 4, blocks)};
      v.push_back(j);
    }
  }
  {
    Job j{"A1 batch-invariant default S", make_desc(MHC_OP_PRENORM_GEMM, T, n, C), MHC_GUARANTEE_BATCH_INVARIANT, {}};
    j.tensors = {in_rows(ARG(residual), R, rowR), in_shared(ARG(fn), fn), out_rows(ARG(out_gemm), N * 4),
                 out_rows(ARG(out_sqrsum), 4)};
    v.push_back(j);
  }
  for (mhc_dtype_t w : {MHC_DTYPE_TF32, MHC_DTYPE_FP32}) {
    Job j{"A3", make_desc(MHC_OP_PRE, T, n, C), 0, {}};
    j.desc.num_splits = 3;
    j.desc.weight_precision = w;
    j.tensors = {in_rows(ARG(residual), R, rowR), in_shared(ARG(fn), fn), in_shared(ARG(scale), scale),
                 in_shared(ARG(base), base), out_rows(ARG(out_post_mix), n * 4), out_rows(ARG(out_comb_mix), n * n * 4),
                 out_rows(ARG(out_layer_input), rowC), out_rows(ARG(out_gemm), N * 4), out_rows(ARG(out_sqrsum), 4)};
    v.push_back(j);
    j.name = "A3 batch-invariant default S";
    j.desc.num_splits = 0;
    j.required = MHC_GUARANTEE_BATCH_INVARIANT;
    v.push_back(j);
  }
  for (int S : {0, 3}) {
    Job j{S ? "A2 partials" : "A2 reduced", make_desc(MHC_OP_PRE_FUSE, T, n, C), 0, {}};
    const int blocks = S ? S : 1;
    if (S) j.desc.flags = MHC_DESC_FLAG_SPLIT_PARTIALS, j.desc.num_splits = S;
    j.tensors = {in_rows(ARG(gemm_out), bytes(random_f32(blocks * T * N, -2.0, 2.0)), N * 4, blocks),
                 in_rows(ARG(sqrsum), bytes(random_f32(blocks * T, 50.0, 300.0)), 4, blocks),
                 in_shared(ARG(scale), scale), in_shared(ARG(base), base), in_rows(ARG(residual), R, rowR),
                 out_rows(ARG(out_post_mix), n * 4), out_rows(ARG(out_comb_mix), n * n * 4),
                 out_rows(ARG(out_layer_input), rowC)};
    v.push_back(j);
  }
  {
    Job j{"A4", make_desc(MHC_OP_POST, T, n, C), 0, {}};
    j.tensors = {in_rows(ARG(layer_output), bytes(random_bf16(T * C)), rowC), in_rows(ARG(residual), R, rowR),
                 in_rows(ARG(post_mix), bytes(random_f32(T * n, 0.0, 2.0)), n * 4),
                 in_rows(ARG(comb_mix), bytes(random_f32(T * n * n, 0.0, 1.0)), n * n * 4),
                 out_rows(ARG(out_residual), rowR)};
    v.push_back(j);
  }
  {
    Job j{"A5", make_desc(MHC_OP_HEAD, T, n, C), 0, {}};
    j.tensors = {in_rows(ARG(residual), R, rowR), in_shared(ARG(fn), bytes(random_f32(n * K, -0.1, 0.1))),
                 in_shared(ARG(scale), bytes(random_f32(1, 0.5, 2.0))), in_shared(ARG(base), bytes(random_f32(n))),
                 out_rows(ARG(out_layer_input), rowC)};
    v.push_back(j);
  }
  {
    Job j{"A6", make_desc(MHC_OP_EXPAND, T, n, C), 0, {}};
    j.tensors = {in_rows(ARG(embedding), bytes(random_bf16(T * C)), rowC), out_rows(ARG(out_residual), rowR)};
    v.push_back(j);
  }
  for (mhc_dtype_t dt : {MHC_DTYPE_FP32, MHC_DTYPE_BF16}) {
    const int nb = 17;
    const size_t es = dt == MHC_DTYPE_FP32 ? 4 : 2;
    const auto x = dt == MHC_DTYPE_FP32 ? bytes(random_f32(T * nb * C, -2.0, 2.0)) : bytes(random_bf16(T * nb * C));
    const auto F = dt == MHC_DTYPE_FP32 ? bytes(random_f32(T * C, -2.0, 2.0)) : bytes(random_bf16(T * C));
    const auto w = bytes(random_bf16(C, 0.5, 1.5));
    const auto hp = bytes(random_f32(nb)), hq = bytes(random_f32(nb)), hr = bytes(random_f32(nb * nb));
    auto desc = [&](mhc_op_t op) {
      mhc_desc_t d = make_desc(op, T, nb, C);
      d.act_dtype = dt;
      return d;
    };
    Job b1{"B1", desc(MHC_OP_STATIC_PRE), 0, {}};
    b1.tensors = {in_rows(ARG(residual), x, nb * C * es), in_shared(ARG(norm_weight), w), in_shared(ARG(h_pre), hp),
                  out_rows(ARG(out_layer_input), C * es), out_rows(ARG(out_rms), 4)};
    Job b2{"B2", desc(MHC_OP_STATIC_POST), 0, {}};
    b2.tensors = {in_rows(ARG(residual), x, nb * C * es), in_rows(ARG(layer_output), F, C * es),
                  in_shared(ARG(h_post), hq), in_shared(ARG(h_res), hr), out_rows(ARG(out_residual), nb * C * es)};
    Job b3{"B3", desc(MHC_OP_STATIC_LAYER), 0, {}};
    b3.tensors = {in_rows(ARG(residual), x, nb * C * es), in_shared(ARG(norm_weight), w), in_shared(ARG(h_pre), hp),
                  in_shared(ARG(h_post), hq), in_shared(ARG(h_res), hr), out_rows(ARG(out_residual), nb * C * es)};
    v.push_back(b1), v.push_back(b2), v.push_back(b3);
  }
  return v;
}

#undef ARG

void check_invariance(const Job& job, const std::vector<std::vector<int64_t>>& subsets) {
  std::vector<int64_t> all(job.desc.tokens);
  for (int64_t t = 0; t < job.desc.tokens; ++t) all[t] = t;
  const auto full = run_rows(job, all);
  const auto again = run_rows(job, all);  // a second plan
  for (size_t k = 0; k < full.size(); ++k) {
    INFO(job.name << ": output " << k << " differs between two plans");
    REQUIRE(full[k] == again[k]);
  }
  for (const auto& sub : subsets) {
    const auto part = run_rows(job, sub);
    for (size_t k = 0; k < full.size(); ++k) {
      INFO(job.name << " (S " << job.desc.num_splits << ", precision " << job.desc.weight_precision << "): output "
                    << k << " of tokens starting at " << sub[0] << " (" << sub.size() << " tokens) differs from the batch");
      REQUIRE(pick(job, k, full[k], sub) == part[k]);
    }
  }
}

}  // namespace

TEST_CASE("determinism: every host op is bit-identical across runs, plans and batch sizes", "[numerics][determinism]") {
  const int64_t T = 67;  // straddles 64
  const std::vector<std::vector<int64_t>> subsets = {{0}, {1}, {66}, {33}, {5, 6, 7, 8, 9}, {64, 2, 40}};
  for (const Job& job : jobs(T)) check_invariance(job, subsets);
}

TEST_CASE("determinism: multi-threaded large batches equal single-token runs", "[numerics][determinism]") {
  // Large enough (T K (N+1) > 4e6) for the host to spread tokens over threads.
  const int64_t T = 160, C = 256;
  const int n = 4;
  const int64_t K = n * C, N = 24;
  Job j{"A3 large", make_desc(MHC_OP_PRE, T, n, C), 0, {}};
  j.desc.num_splits = 4;
  j.tensors = {in_rows(offsetof(mhc_args_t, residual), bytes(random_bf16(T * K)), K * 2),
               in_shared(offsetof(mhc_args_t, fn), bytes(random_f32(N * K, -0.05, 0.05))),
               in_shared(offsetof(mhc_args_t, scale), bytes(random_f32(3, 0.5, 2.0))),
               in_shared(offsetof(mhc_args_t, base), bytes(random_f32(N))),
               out_rows(offsetof(mhc_args_t, out_post_mix), n * 4),
               out_rows(offsetof(mhc_args_t, out_comb_mix), n * n * 4),
               out_rows(offsetof(mhc_args_t, out_layer_input), C * 2)};
  check_invariance(j, {{0}, {159}, {77}, {3, 150}});
}

TEST_CASE("determinism: batch-invariance guarantees follow how S was chosen", "[numerics][determinism]") {
  auto flags_and_S = [](mhc_desc_t d, mhc_guarantee_flags_t required, int32_t* S) {
    mhc_plan_t plan = oracle::host_plan(d, required);
    mhc_precision_guarantee_t g{};
    g.struct_size = sizeof g;
    REQUIRE_OK(mhc_plan_get_precision_guarantee(plan, &g));
    mhc_desc_t got{};
    got.struct_size = sizeof got;
    REQUIRE_OK(mhc_plan_get_desc(plan, &got));
    *S = got.num_splits;
    mhc_plan_destroy(plan);
    return g.flags;
  };
  int32_t S = 0;
  for (mhc_op_t op : {MHC_OP_PRENORM_GEMM, MHC_OP_PRE}) {
    INFO("op " << op);
    mhc_desc_t d = make_desc(op, 65, 4, 4096);  // K = 16384: G = 256
    CHECK((flags_and_S(d, 0, &S) & MHC_GUARANTEE_BATCH_INVARIANT) == 0);  // S from T
    CHECK(S == 16);
    CHECK((flags_and_S(d, MHC_GUARANTEE_BATCH_INVARIANT, &S) & MHC_GUARANTEE_BATCH_INVARIANT) != 0);
    CHECK(S == 32);  // from K alone: clamp(G / 8, 1, 64)
    d.tokens = 1;
    CHECK(flags_and_S(d, MHC_GUARANTEE_BATCH_INVARIANT, &S) != 0);
    CHECK(S == 32);
    d.num_splits = 9;
    CHECK((flags_and_S(d, 0, &S) & MHC_GUARANTEE_BATCH_INVARIANT) != 0);
    CHECK(S == 9);
    CHECK((flags_and_S(d, 0, &S) & MHC_GUARANTEE_DETERMINISTIC) != 0);
  }
}
