// A CMake consumer of an installed libmhc (find_package(mhc) -> mhc::mhc), on the host backend:
// expand an embedding into n streams (A6), then post with comb = I and post = 0 (A4), which must
// give the residual back bit for bit.
#include <cstdint>
#include <cstdio>
#include <vector>

#include <mhc/mhc.hpp>

int main() {
  try {
    mhc::check(mhc_check_abi(MHC_ABI_VERSION));
    const int64_t T = 3, C = 40;
    const int32_t n = 4;
    const auto host = mhc::Preference().backends(MHC_BACKEND_HOST);
    mhc::Plan expand(mhc::Desc(MHC_OP_EXPAND, T, n, C), host);
    mhc::Plan post(mhc::Desc(MHC_OP_POST, T, n, C), host);

    std::vector<uint16_t> embedding(T * C), residual(T * n * C), out(T * n * C);
    for (size_t i = 0; i < embedding.size(); ++i) embedding[i] = static_cast<uint16_t>(0x3f80u + i % 97);  // ~1..1.75
    std::vector<uint16_t> layer_output(T * C, 0x4000u);  // 2.0
    std::vector<float> post_mix(T * n, 0.0f), comb_mix(T * n * n, 0.0f);
    for (int64_t t = 0; t < T; ++t)
      for (int i = 0; i < n; ++i) comb_mix[(t * n + i) * n + i] = 1.0f;

    mhc::Args e;
    e.embedding = embedding.data();
    e.out_residual = residual.data();
    expand.run(nullptr, e);

    mhc::Args p;
    p.layer_output = layer_output.data();
    p.residual = residual.data();
    p.post_mix = post_mix.data();
    p.comb_mix = comb_mix.data();
    p.out_residual = out.data();
    post.run(nullptr, p);

    for (int64_t t = 0; t < T; ++t)
      for (int i = 0; i < n; ++i)
        for (int64_t x = 0; x < C; ++x)
          if (out[(t * n + i) * C + x] != embedding[t * C + x]) {
            std::fprintf(stderr, "consumer: mismatch at t=%lld i=%d x=%lld\n", static_cast<long long>(t), i,
                         static_cast<long long>(x));
            return 1;
          }
    std::printf("consumer (CMake, libmhc %s): %s + %s OK\n", mhc_get_version_string(), expand.sku_name().c_str(),
                post.sku_name().c_str());
    return 0;
  } catch (const mhc::Error& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 1;
  }
}
