// Host results do not depend on the caller's floating-point environment: every op, run under each
// rounding mode (and with flush-to-zero / denormals-are-zero where the CPU has them), gives the
// bits of a run in the default environment, on shapes large enough to use worker threads; the
// caller's environment is as it was after the run.
#include <cfenv>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

#include "op_buffers.hpp"

using namespace mhc_test;

namespace {

std::vector<std::vector<uint32_t>> run_outputs(mhc_plan_t plan, OpCase& c) {
  c.poison_outputs();
  const mhc_args_t a = c.args();
  REQUIRE_OK(mhc_plan_run(plan, nullptr, nullptr, 0, &a));
  std::vector<std::vector<uint32_t>> outs;
  for (const Tensor& t : c.tensors)
    if (t.output) outs.push_back(t.storage);
  return outs;
}

struct Mode {
  const char* name;
  int round;
  bool ftz_daz;
};

}  // namespace

TEST_CASE("fp environment: host results are the default environment's bits", "[numerics][fenv]") {
  std::vector<Mode> modes = {{"upward", FE_UPWARD, false}, {"downward", FE_DOWNWARD, false},
                             {"toward zero", FE_TOWARDZERO, false}};
#if defined(__x86_64__) || defined(__i386__)
  modes.push_back({"nearest + FTZ/DAZ", FE_TONEAREST, true});
  modes.push_back({"upward + FTZ/DAZ", FE_UPWARD, true});
#endif
  for (const OpVariant& v : all_variants()) {
    DYNAMIC_SECTION(v.name) {
      // T * n * C large enough that parallel_for starts worker threads.
      mhc_desc_t d = v.desc(96);
      d.hidden = v.C * 8;
      mhc_preference_t pref = host_only();
      mhc_plan_t plan = nullptr;
      REQUIRE_OK(mhc_plan_select(&d, &pref, &plan));
      OpCase c = make_case(plan_desc(plan));
      c.fill_inputs();
      const auto want = run_outputs(plan, c);
      for (const Mode& m : modes) {
        INFO(m.name);
        REQUIRE(std::fesetround(m.round) == 0);
#if defined(__x86_64__) || defined(__i386__)
        const unsigned csr = _mm_getcsr();
        if (m.ftz_daz) _mm_setcsr(csr | 0x8040u);  // FTZ | DAZ
#endif
        const auto got = run_outputs(plan, c);
        CHECK(std::fegetround() == m.round);  // the caller's mode is back
#if defined(__x86_64__) || defined(__i386__)
        CHECK(_mm_getcsr() == (m.ftz_daz ? (csr | 0x8040u) : csr));
        _mm_setcsr(csr);
#endif
        std::fesetround(FE_TONEAREST);
        CHECK(got == want);
      }
      REQUIRE_OK(mhc_plan_destroy(plan));
    }
  }
}
