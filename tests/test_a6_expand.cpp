// a6_expand on the host reference: the embedding copied into every stream as bits.
#include "test_numerics_oracle.hpp"

using namespace mhc_test;

TEST_CASE("A6: expand copies the embedding into every stream bit for bit", "[numerics][A6]") {
  const int64_t T = 3, C = 13;
  const int n = 5;
  auto E = random_bf16(T * C);
  // special values travel as bits: -0, subnormals, the largest finite, infinities, a NaN payload
  const uint16_t specials[] = {0x8000, 0x0001, 0x807f, 0x7f7f, 0x7f80, 0xff80, 0x7fc1, 0xffff};
  for (size_t i = 0; i < sizeof specials / sizeof specials[0]; ++i) E[3 * i + 1] = specials[i];
  std::vector<uint16_t> out(T * n * C);
  poison(out);
  mhc_args_t a = oracle::args();
  a.embedding = E.data(), a.out_residual = out.data();
  oracle::run_host(make_desc(MHC_OP_EXPAND, T, n, C), a);
  for (int64_t t = 0; t < T; ++t)
    for (int i = 0; i < n; ++i)
      for (int64_t x = 0; x < C; ++x) {
        INFO("t " << t << " stream " << i << " x " << x);
        REQUIRE(out[(t * n + i) * C + x] == E[t * C + x]);
      }
}
