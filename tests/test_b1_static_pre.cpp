// b1_static_pre on the host reference: the optional rms output.
#include "static_harness.hpp"

using namespace mhc_test;

TEST_CASE("B1: the optional rms output does not change the layer input", "[numerics][B]") {
  const Layer L(4, 4, 24, MHC_DTYPE_FP32);
  std::vector<float> rms;
  const Act with = run_b1(L, &rms), without = run_b1(L);
  CHECK(oracle::same_bits(with.f, without.f));
}
