#!/usr/bin/env bash
# The whole test suite: install what is missing, build libmhc with its tests and examples, run
# ctest. Exits with ctest's status (non-zero when a test fails). CUDA tests compile wherever nvcc
# is found and report Skipped on a machine without a GPU.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mhc_install_packages
mhc_configure -DMHC_BUILD_TESTS=ON -DMHC_BUILD_EXAMPLES=ON
mhc_build

mhc_log "ctest (-j $MHC_JOBS)"
cd "$MHC_BUILD_DIR"
ctest --output-on-failure -j "$MHC_JOBS"
