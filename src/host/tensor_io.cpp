#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
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

void store_grad(void* base, mhc_dtype_t dtype, int64_t i, double g, bool accumulate) {
  store(base, dtype, i, accumulate ? load(base, dtype, i) + g : g);
}

void parallel_for(int64_t count, double work_per_item, const std::function<void(int64_t)>& body) {
  const double total = work_per_item * static_cast<double>(count);
  const int64_t hw = std::max(1u, std::thread::hardware_concurrency());
  const int64_t threads = std::min<int64_t>({hw, count, 1 + static_cast<int64_t>(total / 4e6)});
  if (threads <= 1) {
    for (int64_t t = 0; t < count; ++t) body(t);
    return;
  }
  // Items are handed out in chunks from a shared counter, and the calling thread takes part: a
  // worker that cannot start (thread limit, out of memory) costs speed, never items. Each item is
  // independent, so how they are split never changes a result.
  const int64_t chunk = std::max<int64_t>(1, count / (threads * 8));
  std::atomic<int64_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex error_mutex;
  std::exception_ptr error;  // the one of the lowest failing item: the same for any split
  int64_t error_item = count;
  auto work = [&]() noexcept {
    while (!stop.load(std::memory_order_relaxed)) {
      const int64_t begin = next.fetch_add(chunk, std::memory_order_relaxed);
      if (begin >= count) return;
      const int64_t end = std::min(count, begin + chunk);
      for (int64_t t = begin; t < end; ++t) {
        try {
          body(t);
        } catch (...) {
          std::lock_guard<std::mutex> lock(error_mutex);
          if (t < error_item) {
            error_item = t;
            error = std::current_exception();
          }
          stop.store(true, std::memory_order_relaxed);
          return;
        }
      }
    }
  };

  // Nothing that can throw runs between the first start and the last join: a joinable
  // std::thread destroyed by unwinding would call std::terminate.
  std::vector<std::thread> pool;
  try {
    pool.reserve(static_cast<size_t>(threads - 1));
  } catch (...) {
    // No room for the pool: everything runs on this thread.
  }
  while (static_cast<int64_t>(pool.size()) + 1 < threads && pool.size() < pool.capacity()) {
    try {
      pool.emplace_back(work);
    } catch (...) {
      break;  // std::system_error (EAGAIN: thread limit) or std::bad_alloc: go on with those started
    }
  }
  work();
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace mhc::host
