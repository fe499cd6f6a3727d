// Backward (training) CUDA SKUs against the fp64 host reference on random inputs with outputs
// poisoned (or, for the accumulate bits, pre-filled with the same values on both sides), over
// shapes that straddle the vector width and the CTA's column loop.
#include <random>

#include "dynamic_harness.hpp"

using namespace mhc_test;

namespace {

// Every output starts from the same random finite values on both sides (the accumulate bits
// add to them).
void prefill_outputs(OpData& data, uint64_t seed) {
  std::mt19937_64 rng(seed ^ 0x5eedu);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (size_t i = 0; i < data.specs.size(); ++i) {
    if (data.specs[i].role != mhc::Role::kOutput) continue;
    auto& h = data.host[i];
    if (data.specs[i].dtype == MHC_DTYPE_BF16) {
      for (size_t e = 0; e + 2 <= h.size(); e += 2) {
        const uint16_t b = mhc::num::double_to_bf16(u(rng));
        std::memcpy(&h[e], &b, 2);
      }
    } else {
      for (size_t e = 0; e + 4 <= h.size(); e += 4) {
        const float f = u(rng);
        std::memcpy(&h[e], &f, 4);
      }
    }
  }
}

// bf16 gradients of A4' and A6' are n-term fp64 sums of exact products, rounded once in the
// reference's order: bit-identical to the host (exact_bf16). A3' and A5' form dR in fp32 (1 bf16
// ulp). fp32 gradients within `rel` of (|reference| + mean |reference|).
void check_backward(const mhc_desc_t& desc, uint64_t seed, uint32_t accumulate = 0, bool exact_bf16 = true,
                    double rel = 1e-5) {
  std::function<void(OpData&)> prefill;
  if (accumulate != 0) prefill = [seed](OpData& d) { prefill_outputs(d, seed); };
  const CudaAndHost r = run_cuda_and_host(desc, seed, MHC_SKU_NONE, 0, false, accumulate, prefill);
  for (size_t i = 0; i < r.data.specs.size(); ++i) {
    const mhc::TensorSpec& s = r.data.specs[i];
    if (s.role != mhc::Role::kOutput) continue;
    INFO(mhc::op_name(desc.op) << " T=" << desc.tokens << " n=" << desc.n << " C=" << desc.hidden << " w="
                               << desc.weight_precision << " accumulate=" << accumulate << " " << s.name);
    if (s.dtype == MHC_DTYPE_BF16 && exact_bf16) {
      CHECK(std::memcmp(r.got[i].data(), r.data.host[i].data(), r.got[i].size()) == 0);
    } else {
      const Mismatch m = compare(s, r.got[i].data(), r.data.host[i].data(), rel);
      INFO(m.describe(s.name));
      CHECK(m.bad == 0);
    }
  }
}

mhc_desc_t weights(mhc_desc_t d, mhc_dtype_t w) {
  d.weight_precision = w;
  return d;
}

}  // namespace

TEST_CASE("A4' post backward and A6' expand backward against the host", "[cuda][backward]") {
  uint64_t seed = 1;
  for (mhc_op_t op : {MHC_OP_POST_BACKWARD, MHC_OP_EXPAND_BACKWARD})
    for (int n : {1, 2, 3, 4, 8})
      for (int64_t C : {int64_t{8}, int64_t{13}, int64_t{1280}, int64_t{4100}, int64_t{7168}})
        for (int64_t T : {int64_t{1}, int64_t{2}, int64_t{65}}) check_backward(make_desc(op, T, n, C), seed++);
  check_backward(make_desc(MHC_OP_POST_BACKWARD, 2048, 4, 7168), seed++);
  check_backward(make_desc(MHC_OP_EXPAND_BACKWARD, 2048, 4, 7168), seed++);
}

TEST_CASE("A4' and A6' add into existing gradients where a bit says so", "[cuda][backward]") {
  uint64_t seed = 500;
  const uint32_t post_bits[] = {MHC_GRAD_ACCUMULATE_RESIDUAL,
                                MHC_GRAD_ACCUMULATE_LAYER_OUTPUT | MHC_GRAD_ACCUMULATE_COMB_MIX,
                                MHC_GRAD_ACCUMULATE_POST_MIX,
                                MHC_GRAD_ACCUMULATE_RESIDUAL | MHC_GRAD_ACCUMULATE_LAYER_OUTPUT |
                                    MHC_GRAD_ACCUMULATE_POST_MIX | MHC_GRAD_ACCUMULATE_COMB_MIX};
  for (uint32_t bits : post_bits)
    for (int64_t C : {int64_t{13}, int64_t{4096}}) check_backward(make_desc(MHC_OP_POST_BACKWARD, 33, 4, C), seed++, bits);
  for (int64_t C : {int64_t{13}, int64_t{4096}})
    check_backward(make_desc(MHC_OP_EXPAND_BACKWARD, 33, 4, C), seed++, MHC_GRAD_ACCUMULATE_EMBEDDING);
}

TEST_CASE("A3' pre backward and A5' head backward against the host", "[cuda][backward][pre]") {
  uint64_t seed = 900;
  // C = 13: the FMA column kernel; 1288 (n x C not a multiple of the 64-column tile) and the others:
  // the tensor-core one.
  for (mhc_op_t op : {MHC_OP_PRE_BACKWARD, MHC_OP_HEAD_BACKWARD})
    for (int n : {1, 2, 3, 4, 8})
      for (int64_t C : {int64_t{13}, int64_t{1280}, int64_t{1288}, int64_t{4096}})
        for (int64_t T : {int64_t{1}, int64_t{3}, int64_t{65}})
          for (mhc_dtype_t w : {MHC_DTYPE_TF32, MHC_DTYPE_FP32, MHC_DTYPE_TF32X3})
            check_backward(weights(make_desc(op, T, n, C), w), seed++, 0, /*exact_bf16=*/false, 1e-4);
  check_backward(make_desc(MHC_OP_PRE_BACKWARD, 1000, 4, 7168), seed++, 0, false, 1e-4);
  check_backward(make_desc(MHC_OP_HEAD_BACKWARD, 1000, 4, 7168), seed++, 0, false, 1e-4);
  // Sinkhorn repeats 1 and 2, and the largest n at the default 20.
  for (int repeat : {1, 2}) {
    mhc_desc_t d = make_desc(MHC_OP_PRE_BACKWARD, 17, 4, 1280);
    d.sinkhorn_repeat = repeat;
    check_backward(d, seed++, 0, false, 1e-4);
  }
}

TEST_CASE("A3' and A5' add into existing gradients where a bit says so", "[cuda][backward][pre]") {
  uint64_t seed = 1500;
  const uint32_t all = MHC_GRAD_ACCUMULATE_RESIDUAL | MHC_GRAD_ACCUMULATE_FN | MHC_GRAD_ACCUMULATE_SCALE |
                       MHC_GRAD_ACCUMULATE_BASE;
  for (mhc_op_t op : {MHC_OP_PRE_BACKWARD, MHC_OP_HEAD_BACKWARD})
    for (uint32_t bits : {MHC_GRAD_ACCUMULATE_RESIDUAL, MHC_GRAD_ACCUMULATE_FN, all})
      check_backward(make_desc(op, 40, 4, 1280), seed++, bits, false, 1e-4);
}

namespace {

// Runs `desc` on the CUDA plan forcing `sku` (MHC_SKU_NONE: the default) over the same inputs and
// prefilled outputs (seeded), returning every output.
std::vector<std::vector<unsigned char>> run_outputs(const mhc_desc_t& desc, uint64_t seed, mhc_sku_t sku,
                                                    uint32_t accumulate) {
  std::function<void(OpData&)> prefill = [seed](OpData& d) { prefill_outputs(d, seed); };
  return run_cuda(desc, seed, sku, 0, false, accumulate, prefill).got;
}

}  // namespace

// The chunked schedule (token and column kernels per block of 256 tokens, chained): one block, a
// partial last block, more blocks than lanes (the dfn partial carried through the workspace),
// against the host and bit for bit against the default SKU (gradients that accumulate too).
TEST_CASE("A3' and A5' chunked: the same bits as the default SKU", "[cuda][backward][pre][chunked]") {
  if (!have_sm90()) {
    WARN("the chunked SKUs need sm_90: not run");
    return;
  }
  uint64_t seed = 2100;
  for (mhc_op_t op : {MHC_OP_PRE_BACKWARD, MHC_OP_HEAD_BACKWARD}) {
    const mhc_sku_t chunked =
        op == MHC_OP_PRE_BACKWARD ? MHC_SKU_SM90_PRE_BACKWARD_CHUNKED : MHC_SKU_SM90_HEAD_BACKWARD_CHUNKED;
    for (int n : {1, 4, 8})
      for (int64_t T : {int64_t{1}, int64_t{256}, int64_t{257}, int64_t{2304}, int64_t{2311}})
        for (int64_t C : {int64_t{1280}, int64_t{4096}}) {
          if (n == 8 && T > 257) continue;  // the host reference's cost
          const mhc_desc_t d = make_desc(op, T, n, C);
          INFO(mhc::op_name(op) << " T=" << T << " n=" << n << " C=" << C);
          const auto base = run_outputs(d, seed, MHC_SKU_NONE, 0);
          const auto got = run_outputs(d, seed, chunked, 0);
          CHECK(got == base);
          ++seed;
        }
    const mhc_desc_t big = weights(make_desc(op, 4100, 4, 7168), MHC_DTYPE_FP32);
    CHECK(run_outputs(big, seed, chunked, 0) == run_outputs(big, seed, MHC_SKU_NONE, 0));
    const uint32_t all = MHC_GRAD_ACCUMULATE_RESIDUAL | MHC_GRAD_ACCUMULATE_FN | MHC_GRAD_ACCUMULATE_SCALE |
                         MHC_GRAD_ACCUMULATE_BASE;
    const mhc_desc_t acc = make_desc(op, 2500, 4, 1280);
    CHECK(run_outputs(acc, seed + 1, chunked, all) == run_outputs(acc, seed + 1, MHC_SKU_NONE, all));
    seed += 2;
  }
  // Against the host directly (a forced run), with the column kernel's alignment and without it
  // (C = 13: the unchunked schedule's FMA column kernel).
  for (int64_t C : {int64_t{4096}, int64_t{13}}) {
    const CudaAndHost r = run_cuda_and_host(make_desc(MHC_OP_PRE_BACKWARD, 600, 4, C), 2199 + C,
                                            MHC_SKU_SM90_PRE_BACKWARD_CHUNKED);
    for (size_t i = 0; i < r.data.specs.size(); ++i) {
      const mhc::TensorSpec& s = r.data.specs[i];
      if (s.role != mhc::Role::kOutput) continue;
      const Mismatch m = compare(s, r.got[i].data(), r.data.host[i].data(), 1e-4);
      INFO("C=" << C << " " << m.describe(s.name));
      CHECK(m.bad == 0);
    }
  }
}

TEST_CASE("the chunked backward on small shapes (the sanitizers' subset)", "[cuda][sanitize-chunked]") {
  if (!have_sm90()) {
    WARN("the chunked SKUs need sm_90: not run");
    return;
  }
  for (mhc_op_t op : {MHC_OP_PRE_BACKWARD, MHC_OP_HEAD_BACKWARD}) {
    const mhc_sku_t chunked =
        op == MHC_OP_PRE_BACKWARD ? MHC_SKU_SM90_PRE_BACKWARD_CHUNKED : MHC_SKU_SM90_HEAD_BACKWARD_CHUNKED;
    const mhc_desc_t d = make_desc(op, 600, 4, 1280);  // three blocks
    CHECK(run_outputs(d, 2300, chunked, 0) == run_outputs(d, 2300, MHC_SKU_NONE, 0));
  }
}
