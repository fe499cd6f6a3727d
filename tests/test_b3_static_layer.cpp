// b3_static_layer on the host reference: B3 equals B2 after B1.
#include "static_harness.hpp"

using namespace mhc_test;

TEST_CASE("B3 equals B2 after B1 with F = B1's layer_input", "[numerics][B]") {
  for (mhc_dtype_t dt : kDtypes)
    for (int n : {1, 4, 17, 32}) {
      INFO("act dtype " << dt << " n " << n);
      const Layer L(3, n, 40, dt);
      const Act y = run_b1(L);
      const Act chain = run_b2(L, y), direct = run_b3(L);
      const oracle::Static c = L.coeffs();
      size_t bad = 0, same = 0;
      for (int64_t b = 0; b < L.B; ++b)
        for (int i = 0; i < n; ++i)
          for (int64_t x = 0; x < L.C; ++x) {
            const size_t k = (b * n + i) * L.C + x;
            const double u = chain.get(k), v = direct.get(k), f = y.get(b * L.C + x);
            double bound;
            if (dt == MHC_DTYPE_FP32) {
              bound = 1e-6 * std::max(1.0, std::fabs(v));  // F is yn rounded to fp32
            } else {
              // each output rounded once (half an ulp each) and F = bf16(yn) (half an ulp of F)
              const double mag = std::max(std::fabs(u), std::fabs(v));
              bound = oracle::bf16_ulp_at(mag) + c.s_post[i] * 0.5 * oracle::bf16_ulp_at(f);
            }
            bad += std::fabs(u - v) > bound;
            same += u == v;
          }
      CHECK(bad == 0);
      CHECK(same > static_cast<size_t>(L.B * n * L.C / 2));
    }
}
