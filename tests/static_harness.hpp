// Static H (B1 static_pre, B2 static_post, B3 static_layer) on the host reference: activations in
// either dtype, one layer's parameters, runners of the three ops, the fp64 oracle and M read out
// through a one-hot residual. Shared by the static-H test files.
#pragma once

#include "test_numerics_oracle.hpp"

namespace mhc_test {

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

inline Act run_b1(const Layer& L, std::vector<float>* rms = nullptr) {
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

inline Act run_b2(const Layer& L, const Act& F) {
  Act out(L.dt, L.B * L.n * L.C);
  out.poison_all();
  mhc_args_t a = oracle::args();
  a.residual = L.x.data(), a.layer_output = F.data(), a.h_post = L.h_post.data(), a.h_res = L.h_res.data();
  a.out_residual = out.data();
  oracle::run_host(L.desc(MHC_OP_STATIC_POST), a);
  REQUIRE_FALSE(out.poisoned());
  return out;
}

inline Act run_b3(const Layer& L) {
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
inline std::vector<double> ref_b1(const Layer& L, std::vector<double>* rms = nullptr) {
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
inline std::vector<double> ref_b2(const Layer& L, const std::vector<double>& F) {
  const oracle::Static c = L.coeffs();
  const auto xv = L.x.values();
  std::vector<double> out;
  for (int64_t b = 0; b < L.B; ++b) {
    const auto o = oracle::static_post_row(c, &xv[b * L.n * L.C], &F[b * L.C], L.n, L.C);
    out.insert(out.end(), o.begin(), o.end());
  }
  return out;
}
inline std::vector<double> ref_b3(const Layer& L) { return ref_b2(L, ref_b1(L)); }

// The reference against the oracle: fp32 within fp32 rounding, bf16 one correct rounding.
inline void check_act(const Act& got, const std::vector<double>& ref) {
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
inline Readout read_out_M(int n, mhc_dtype_t dt, const std::vector<float>& h_res, const std::vector<float>& h_post,
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

}  // namespace mhc_test
