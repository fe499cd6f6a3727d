// The alignment of every section of a CUDA SKU's workspace: each layout rounds its sections up to
// 256 bytes, so every carved pointer is aligned for vector and cp.async loads whatever the section
// sizes before it.
#pragma once

#include <cstddef>

namespace mhc::cuda {

constexpr size_t kWorkspaceSection = 256;

constexpr size_t workspace_section(size_t bytes) {
  return (bytes + kWorkspaceSection - 1) / kWorkspaceSection * kWorkspaceSection;
}

}  // namespace mhc::cuda
