#include <map>
#include <mutex>
#include <tuple>

#include "cluster_occupancy.hpp"
#include "launch.cuh"
#include "smem_optin.hpp"

namespace mhc::cuda {

int resident_clusters(const void* kernel, unsigned ranks, unsigned threads, size_t smem, const DeviceInfo& dev,
                      const char* name) {
  static std::mutex mu;
  static std::map<std::tuple<const void*, int, unsigned, unsigned, size_t>, int> resident;
  std::lock_guard<std::mutex> lock(mu);
  const auto key = std::make_tuple(kernel, dev.ordinal, ranks, threads, smem);
  if (const auto found = resident.find(key); found != resident.end()) return found->second;
  if (!opt_in_dynamic_smem(kernel, smem, dev, name)) return resident[key] = 0;
  const RelaxedCaptureMode relaxed;
  if (ranks > 8) check_cuda(cudaFuncSetAttribute(kernel, cudaFuncAttributeNonPortableClusterSizeAllowed, 1), name);
  const LaunchConfig one(dim3(ranks), dim3(threads), smem, nullptr, false, ranks);
  int have = 0;
  check_cuda(cudaOccupancyMaxActiveClusters(&have, kernel, &one.cfg), name);
  return resident[key] = have;
}

}  // namespace mhc::cuda
