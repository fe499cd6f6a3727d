// a6_expand_backward (A6') on the host reference: dE = sum_i dR_i rounded once (a hand case that
// a bf16 running sum fails), against the fp64 sum and finite differences, the accumulate bit.
#include "test_backward_oracle.hpp"

using namespace mhc_test;

namespace {

std::vector<uint16_t> run_a6b(int64_t T, int n, int64_t C, const std::vector<uint16_t>& G, uint32_t accumulate = 0,
                              const std::vector<uint16_t>* init = nullptr) {
  std::vector<uint16_t> dE(T * C);
  if (init) dE = *init;
  else poison(dE);
  mhc_args_t a = oracle::args();
  a.grad_residual = G.data(), a.out_grad_embedding = dE.data(), a.grad_accumulate = accumulate;
  oracle::run_host(make_desc(MHC_OP_EXPAND_BACKWARD, T, n, C), a);
  REQUIRE_FALSE(any_poison(dE));
  return dE;
}

std::vector<double> stream_sums(int64_t T, int n, int64_t C, const std::vector<uint16_t>& G) {
  std::vector<double> s(T * C, 0.0);
  for (int64_t t = 0; t < T; ++t)
    for (int i = 0; i < n; ++i)
      for (int64_t x = 0; x < C; ++x) s[t * C + x] += oracle::from_bf16(G[(t * n + i) * C + x]);
  return s;
}

}  // namespace

TEST_CASE("A6': the streams' gradients summed in fp64 and rounded once", "[backward][A6]") {
  // 1 + 3 2^-10 + 3 2^-10 = 1 + 0.75 ulp: one rounding gives 1 + 2^-7; a bf16 running sum stays
  // at 1 (each partial 1 + 0.375 ulp rounds down).
  const double u = 3.0 * std::ldexp(1.0, -10);
  std::vector<uint16_t> G;
  for (double v : {1.0, u, u}) G.push_back(oracle::to_bf16(v));
  CHECK(run_a6b(1, 3, 1, G)[0] == oracle::to_bf16(1.0 + std::ldexp(1.0, -7)));
}

TEST_CASE("A6': against the fp64 sum and finite differences of sum dR . expand(E)", "[backward][A6][fd]") {
  const bwd::Shape shapes[] = {{1, 1, 3, 0}, {3, 2, 16, 0}, {5, 4, 7, 0}, {2, 8, 33, 0}};
  for (const bwd::Shape& s : shapes) {
    INFO("T " << s.T << " n " << s.n << " C " << s.C);
    const auto G = random_bf16(s.T * s.n * s.C, -1, 1);
    const auto dE = run_a6b(s.T, s.n, s.C, G);
    CHECK(oracle::bf16_mismatches(dE, stream_sums(s.T, s.n, s.C, G)) == 0);
    std::vector<double> E = bwd::values(random_bf16(s.T * s.C));
    const std::vector<double> g = bwd::values(G);
    const auto fd = bwd::central_differences(E, [&] {
      double L = 0.0;  // expand: R[t,i,x] = E[t,x]
      for (int64_t t = 0; t < s.T; ++t)
        for (int i = 0; i < s.n; ++i)
          for (int64_t x = 0; x < s.C; ++x) L += g[(t * s.n + i) * s.C + x] * E[t * s.C + x];
      return L;
    });
    CHECK(oracle::bf16_mismatches(dE, fd) == 0);
  }
}

TEST_CASE("A6': accumulate adds to the contents, overwrite ignores them", "[backward][A6][accumulate]") {
  const int64_t T = 4, C = 21;
  const int n = 4;
  const auto G = random_bf16(T * n * C, -1, 1);
  const auto old = random_bf16(T * C, -3, 3);
  const auto acc = run_a6b(T, n, C, G, MHC_GRAD_ACCUMULATE_EMBEDDING, &old);
  CHECK(oracle::bf16_mismatches(acc, bwd::plus(old, stream_sums(T, n, C, G))) == 0);
  const std::vector<uint16_t> zeros(T * C, 0);
  CHECK(run_a6b(T, n, C, G, MHC_GRAD_ACCUMULATE_EMBEDDING, &zeros) == run_a6b(T, n, C, G));
}
