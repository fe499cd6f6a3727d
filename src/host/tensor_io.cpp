#include <algorithm>
#include <exception>
#include <thread>
#include <vector>

#include "host_ops.hpp"
#include "numeric.hpp"

namespace mhc::host {

double load(const void* base, mhc_dtype_t dtype, int64_t i) {
  if (dtype == MHC_DTYPE_BF16) return num::bf16_to_double(static_cast<const uint16_t*>(base)[i]);
  return static_cast<const float*>(base)[i];
}

void store(void* base, mhc_dtype_t dtype, int64_t i, double v) {
  if (dtype == MHC_DTYPE_BF16)
    static_cast<uint16_t*>(base)[i] = num::double_to_bf16(v);
  else
    static_cast<float*>(base)[i] = static_cast<float>(v);
}

void parallel_for(int64_t count, double work_per_item, const std::function<void(int64_t)>& body) {
  const double total = work_per_item * static_cast<double>(count);
  const int64_t hw = std::max(1u, std::thread::hardware_concurrency());
  const int64_t threads = std::min<int64_t>({hw, count, 1 + static_cast<int64_t>(total / 4e6)});
  if (threads <= 1) {
    for (int64_t t = 0; t < count; ++t) body(t);
    return;
  }
  std::vector<std::thread> pool;
  std::vector<std::exception_ptr> errors(threads);
  for (int64_t w = 0; w < threads; ++w)
    pool.emplace_back([&, w] {
      try {
        for (int64_t t = w; t < count; t += threads) body(t);
      } catch (...) {
        errors[w] = std::current_exception();
      }
    });
  for (auto& th : pool) th.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace mhc::host
