// Family B (static hyper-connections: B1 static_pre, B2 static_post, B3 static_layer) on the
// host reference, fp32 and bf16 activations: hand cases, M read out through a one-hot residual
// (doubly stochastic, the `only if sum > eps` guard), the fp64 oracle for n up to 32, and
// B3 == B2 after B1.
#include "test_numerics_oracle.hpp"

using namespace mhc_test;

namespace {

// An activation tensor in either storage dtype.
struct Act {
  mhc_dtype_t dt;
  std::vector<float> f;
  std::vector<uint16_t> b;
  Act(mhc_dtype_t d, size_t count) : dt(d) {
    if (d == MHC_DTYPE_FP32) f.resize(count);
    else b.resize(count);
  }
  static Act random(mhc_dtype_t d, size_t count, double lo = -2.0, double hi = 2.0) {
    Act a(d, count);
    if (d == MHC_DTYPE_FP32) a.f = random_f32(count, lo, hi);
    else a.b = random_bf16(count, lo, hi);
    return a;
  }
  size_t size() const { return dt == MHC_DTYPE_FP32 ? f.size() : b.size(); }
  void* data() { return dt == MHC_DTYPE_FP32 ? static_cast<void*>(f.data()) : static_cast<void*>(b.data()); }
  const void* data() const { return dt == MHC_DTYPE_FP32 ? static_cast<const void*>(f.data()) : b.data(); }
  double get(size_t i) const { return dt == MHC_DTYPE_FP32 ? static_cast<double>(f[i]) : oracle::from_bf16(b[i]); }
  void set(size_t i, double v) {
    if (dt == MHC_DTYPE_FP32) f[i] = static_cast<float>(v);
    else b[i] = oracle::to_bf16(v);
  }
  std::vector<double> values() const {
    std::vector<double> v(size());
    for (size_t i = 0; i < size(); ++i) v[i] = get(i);
    return v;
  }
  void poison_all() {
    if (dt == MHC_DTYPE_FP32) poison(f);
    else poison(b);
  }
  bool poisoned() const { return dt == MHC_DTYPE_FP32 ? any_poison(f) : any_poison(b); }
};

struct Layer {
  int64_t B;
  int n;
  int64_t C;
  mhc_dtype_t dt;
  Act x;
  std::vector<uint16_t> w;
  std::vector<float> h_pre, h_post, h_res;
  int iters = 20;
  float eps = 1e-5f;
  Layer(int64_t B_, int n_, int64_t C_, mhc_dtype_t dt_)
      : B(B_), n(n_), C(C_), dt(dt_), x(Act::random(dt_, B_ * n_ * C_)), w(random_bf16(C_, 0.5, 1.5)),
        h_pre(random_f32(n_, -2.0, 2.0)), h_post(random_f32(n_, -2.0, 2.0)), h_res(random_f32(n_ * n_, -2.0, 2.0)) {}
  mhc_desc_t desc(mhc_op_t op) const {
    mhc_desc_t d = make_desc(op, B, n, C);
    d.act_dtype = dt;
    d.sinkhorn_repeat = iters;
    d.static_eps = eps;
    return d;
  }
  oracle::Static coeffs() const { return oracle::static_coeffs(n, h_pre, h_post, h_res, iters, eps); }
};

Act run_b1(const Layer& L, std::vector<float>* rms = nullptr) {
  Act y(L.dt, L.B * L.C);
  y.poison_all();
  if (rms) rms->assign(L.B, 0.0f), poison(*rms);
  mhc_args_t a = oracle::args();
  a.residual = L.x.data(), a.norm_weight = L.w.data(), a.h_pre = L.h_pre.data();
  a.out_layer_input = y.data();
  if (rms) a.out_rms = rms->data();
  oracle::run_host(L.desc(MHC_OP_STATIC_PRE), a);
  REQUIRE_FALSE(y.poisoned());
  if (rms) REQUIRE_FALSE(any_poison(*rms));
  return y;
}

Act run_b2(const Layer& L, const Act& F) {
  Act out(L.dt, L.B * L.n * L.C);
  out.poison_all();
  mhc_args_t a = oracle::args();
  a.residual = L.x.data(), a.layer_output = F.data(), a.h_post = L.h_post.data(), a.h_res = L.h_res.data();
  a.out_residual = out.data();
  oracle::run_host(L.desc(MHC_OP_STATIC_POST), a);
  REQUIRE_FALSE(out.poisoned());
  return out;
}

Act run_b3(const Layer& L) {
  Act out(L.dt, L.B * L.n * L.C);
  out.poison_all();
  mhc_args_t a = oracle::args();
  a.residual = L.x.data(), a.norm_weight = L.w.data(), a.h_pre = L.h_pre.data(), a.h_post = L.h_post.data();
  a.h_res = L.h_res.data(), a.out_residual = out.data();
  oracle::run_host(L.desc(MHC_OP_STATIC_LAYER), a);
  REQUIRE_FALSE(out.poisoned());
  return out;
}

// Oracle B1 (yn for all rows; rms per row), B2 (given F values), B3.
std::vector<double> ref_b1(const Layer& L, std::vector<double>* rms = nullptr) {
  const oracle::Static c = L.coeffs();
  const auto xv = L.x.values();
  std::vector<double> out;
  for (int64_t b = 0; b < L.B; ++b) {
    double r = 0.0;
    const auto y = oracle::static_pre_row(c, &xv[b * L.n * L.C], L.n, L.C, L.w, L.eps, &r);
    out.insert(out.end(), y.begin(), y.end());
    if (rms) rms->push_back(r);
  }
  return out;
}
std::vector<double> ref_b2(const Layer& L, const std::vector<double>& F) {
  const oracle::Static c = L.coeffs();
  const auto xv = L.x.values();
  std::vector<double> out;
  for (int64_t b = 0; b < L.B; ++b) {
    const auto o = oracle::static_post_row(c, &xv[b * L.n * L.C], &F[b * L.C], L.n, L.C);
    out.insert(out.end(), o.begin(), o.end());
  }
  return out;
}
std::vector<double> ref_b3(const Layer& L) { return ref_b2(L, ref_b1(L)); }

// The reference against the oracle: fp32 within fp32 rounding, bf16 one correct rounding.
void check_act(const Act& got, const std::vector<double>& ref) {
  if (got.dt == MHC_DTYPE_FP32) {
    CHECK(oracle::max_static_err(got.f, ref) <= 1e-6);
  } else {
    std::string why;
    CHECK(oracle::bf16_mismatches(got.b, ref, &why) == 0);
    INFO(why);
  }
}

// M and s_post through B2 with a one-hot residual: C = n + 1, x[0, j, c] = (j == c) for c < n,
// x[0, j, n] = 0, F[0, c] = (c == n). Then out[0, i, c] = M[i][c] and out[0, i, n] = s_post[i].
struct Readout {
  std::vector<double> M, s_post;
};
Readout read_out_M(int n, mhc_dtype_t dt, const std::vector<float>& h_res, const std::vector<float>& h_post,
                   int iters, float eps) {
  Layer L(1, n, n + 1, dt);
  L.h_res = h_res, L.h_post = h_post, L.iters = iters, L.eps = eps;
  for (int j = 0; j < n; ++j)
    for (int c = 0; c <= n; ++c) L.x.set(j * (n + 1) + c, j == c ? 1.0 : 0.0);
  Act F(dt, n + 1);
  for (int c = 0; c <= n; ++c) F.set(c, c == n ? 1.0 : 0.0);
  const Act out = run_b2(L, F);
  Readout r;
  for (int i = 0; i < n; ++i) {
    for (int c = 0; c < n; ++c) r.M.push_back(out.get(i * (n + 1) + c));
    r.s_post.push_back(out.get(i * (n + 1) + n));
  }
  return r;
}

const mhc_dtype_t kDtypes[] = {MHC_DTYPE_FP32, MHC_DTYPE_BF16};

}  // namespace

TEST_CASE("B: n = 1 by hand (B1, B2, B3, rms)", "[numerics][B]") {
  for (mhc_dtype_t dt : kDtypes) {
    INFO("act dtype " << dt);
    Layer L(1, 1, 2, dt);
    L.x.set(0, 6.0), L.x.set(1, 8.0);
    L.w = {oracle::to_bf16(1.0), oracle::to_bf16(2.0)};
    L.h_pre = {0.0f};    // s_pre = 0.5: y = [3, 4]
    L.h_post = {0.0f};   // s_post = 1
    L.h_res = {0.3f};    // M = [[1]]
    L.eps = 3.5f;        // mean(y^2) + eps = 12.5 + 3.5 = 16: rms = 0.25, yn = [0.75, 2]
    std::vector<float> rms;
    const Act y = run_b1(L, &rms);
    CHECK(y.get(0) == 0.75);
    CHECK(y.get(1) == 2.0);
    CHECK(rms[0] == 0.25f);
    const Act out3 = run_b3(L);  // x + yn
    CHECK(out3.get(0) == 6.75);
    CHECK(out3.get(1) == 10.0);
    Act F(dt, 2);
    F.set(0, 1.0), F.set(1, -1.0);
    const Act out2 = run_b2(L, F);  // x + F
    CHECK(out2.get(0) == 7.0);
    CHECK(out2.get(1) == 7.0);
  }
}

TEST_CASE("B: M and s_post by hand for n = 2, one and two Sinkhorn iterations", "[numerics][B]") {
  const std::vector<float> h_res = {0.5f, -0.25f, 1.0f, 0.75f}, h_post = {0.3f, -1.2f};
  // exp(h - rowmax): row 0 [1, a], row 1 [1, b]
  const double a = std::exp(-0.75), b = std::exp(-0.25);
  double m[2][2] = {{1.0, a}, {1.0, b}};
  auto step = [&m] {
    for (auto& row : m) {
      const double s = row[0] + row[1];
      row[0] /= s, row[1] /= s;
    }
    for (int j = 0; j < 2; ++j) {
      const double s = m[0][j] + m[1][j];
      m[0][j] /= s, m[1][j] /= s;
    }
  };
  step();
  const std::vector<double> M1 = {m[0][0], m[0][1], m[1][0], m[1][1]};
  step();
  const std::vector<double> M2 = {m[0][0], m[0][1], m[1][0], m[1][1]};
  const std::vector<double> s_post = {2.0 / (1.0 + std::exp(-0.3)), 2.0 / (1.0 + std::exp(1.2))};
  for (mhc_dtype_t dt : kDtypes)
    for (int iters : {1, 2}) {
      INFO("act dtype " << dt << " iters " << iters);
      const Readout r = read_out_M(2, dt, h_res, h_post, iters, 1e-5f);
      const auto& want = iters == 1 ? M1 : M2;
      for (int i = 0; i < 4; ++i) CHECK(std::fabs(r.M[i] - want[i]) <= (dt == MHC_DTYPE_FP32 ? 1e-7 : 4e-3) * want[i]);
      for (int i = 0; i < 2; ++i)
        CHECK(std::fabs(r.s_post[i] - s_post[i]) <= (dt == MHC_DTYPE_FP32 ? 1e-7 : 4e-3) * s_post[i]);
    }
  CHECK(std::fabs(M1[0] - M2[0]) > 1e-3);  // the two iteration counts are told apart
}

TEST_CASE("B: M is doubly stochastic after 20 iterations, n up to 32", "[numerics][B]") {
  for (int n : {2, 4, 17, 32}) {
    INFO("n " << n);
    const auto h_res = random_f32(n * n, -2.0, 2.0), h_post = random_f32(n, -2.0, 2.0);
    const Readout r = read_out_M(n, MHC_DTYPE_FP32, h_res, h_post, 20, 1e-5f);
    const oracle::Static c = oracle::static_coeffs(n, {}, h_post, h_res, 20, 1e-5);
    double col_worst = 0.0, row_worst = 0.0, rel = 0.0;
    for (int i = 0; i < n; ++i) {
      double row = 0.0, col = 0.0;
      for (int j = 0; j < n; ++j) {
        row += r.M[i * n + j], col += r.M[j * n + i];
        rel = std::max(rel, std::fabs(r.M[i * n + j] - c.M[i * n + j]) / c.M[i * n + j]);
      }
      row_worst = std::max(row_worst, std::fabs(row - 1.0));
      col_worst = std::max(col_worst, std::fabs(col - 1.0));
      CHECK(std::fabs(r.s_post[i] - c.s_post[i]) <= 1e-7 * c.s_post[i]);
    }
    INFO("row error " << row_worst << " column error " << col_worst << " M vs oracle " << rel);
    CHECK(rel <= 1e-6);
    CHECK(col_worst <= 1e-5);  // the last step is a column step (no eps: exact up to fp32 storage)
    CHECK(row_worst <= 1e-4);
  }
}

TEST_CASE("B: the Sinkhorn guard normalizes only sums > eps", "[numerics][B]") {
  SECTION("a column far below eps is left alone") {
    // h = [[0, -40], [0, -40]]: column 1 sums to ~2 e^-40 << eps on every pass and is skipped;
    // without the guard it would become [0.5, 0.5].
    const Readout r = read_out_M(2, MHC_DTYPE_FP32, {0.0f, -40.0f, 0.0f, -40.0f}, {1.0f, 1.0f}, 20, 1e-5f);
    const oracle::Static c = oracle::static_coeffs(2, {}, {1.0f, 1.0f}, {0.0f, -40.0f, 0.0f, -40.0f}, 20, 1e-5);
    for (int i = 0; i < 2; ++i) {
      CHECK(std::fabs(r.M[i * 2] - 0.5) <= 1e-7);
      CHECK(r.M[i * 2 + 1] > 0.0);
      CHECK(r.M[i * 2 + 1] < 1e-9);
      CHECK(std::fabs(r.M[i * 2 + 1] - c.M[i * 2 + 1]) <= 1e-6 * c.M[i * 2 + 1]);
    }
  }
  SECTION("sums equal to eps are not normalized (strict >)") {
    // h = 0: exp gives ones; every row and column sums to 2.
    const std::vector<float> h0 = {0.0f, 0.0f, 0.0f, 0.0f}, hp = {0.5f, 0.5f};
    const Readout at = read_out_M(2, MHC_DTYPE_FP32, h0, hp, 3, 2.0f);
    for (double v : at.M) CHECK(v == 1.0);
    const Readout below = read_out_M(2, MHC_DTYPE_FP32, h0, hp, 3, 1.99f);
    for (double v : below.M) CHECK(v == 0.5);
  }
  SECTION("M starts from exp(h - rowmax): a row of very negative h is still normalized") {
    // MATH.md: exp(h - rowmax). Row 0 = [-40, -40] starts as [1, 1], not [4e-18, 4e-18], whose
    // sum is below eps on every one of the 20 passes (it doubles per pass), so unshifted exp would
    // leave row 0 near 0. With the shift, M is 0.5 everywhere.
    const Readout r = read_out_M(2, MHC_DTYPE_FP32, {-40.0f, -40.0f, 0.0f, 0.0f}, {0.5f, 0.5f}, 20, 1e-5f);
    for (double v : r.M) CHECK(v == 0.5);
  }
  SECTION("row sums below eps are skipped too") {
    // eps = 1.5, h = [[0, -1], [-1, 0]]: every row and column sums to 1 + e^-1 < 1.5, so M stays
    // exp(h - rowmax).
    const Readout r = read_out_M(2, MHC_DTYPE_FP32, {0.0f, -1.0f, -1.0f, 0.0f}, {0.5f, 0.5f}, 20, 1.5f);
    const double e = std::exp(-1.0);
    const std::vector<double> want = {1.0, e, e, 1.0};
    for (int i = 0; i < 4; ++i) CHECK(std::fabs(r.M[i] - want[i]) <= 1e-7 * want[i]);
  }
}

TEST_CASE("B: random inputs against the fp64 oracle (n = 1..32, fp32 and bf16)", "[numerics][B]") {
  struct Case {
    int64_t B;
    int n;
    int64_t C;
  };
  const Case cases[] = {{1, 1, 24}, {3, 4, 24}, {2, 4, 7}, {2, 17, 24}, {1, 32, 33}, {2, 31, 5}};
  for (mhc_dtype_t dt : kDtypes)
    for (const Case& cs : cases) {
      INFO("act dtype " << dt << " B " << cs.B << " n " << cs.n << " C " << cs.C);
      const Layer L(cs.B, cs.n, cs.C, dt);
      std::vector<float> rms;
      std::vector<double> rms_ref;
      const Act y = run_b1(L, &rms);
      const auto yref = ref_b1(L, &rms_ref);
      check_act(y, yref);
      CHECK(oracle::max_rel_err(rms, rms_ref) <= 1e-6);
      const Act F = Act::random(dt, cs.B * cs.C);
      check_act(run_b2(L, F), ref_b2(L, F.values()));
      check_act(run_b3(L), ref_b3(L));
    }
}

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

TEST_CASE("B1: the optional rms output does not change the layer input", "[numerics][B]") {
  const Layer L(4, 4, 24, MHC_DTYPE_FP32);
  std::vector<float> rms;
  const Act with = run_b1(L, &rms), without = run_b1(L);
  CHECK(oracle::same_bits(with.f, without.f));
}
