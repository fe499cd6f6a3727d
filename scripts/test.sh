#!/usr/bin/env bash
# The whole test suite: install what is missing, build libmhc with its tests and examples, run
# ctest. Exits with ctest's status (non-zero when a test fails). CUDA tests compile wherever nvcc
# is found and report Skipped on a machine without a GPU. The Rust, Go and Python bindings are
# built and tested too (their toolchains are installed when missing; MHC_BINDINGS below).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The FFI bindings (bindings/rust, bindings/go, bindings/python; ctest labels rust, go, python)
# need their toolchains: installed here like the build packages. MHC_BINDINGS=OFF, or a subset
# such as rust,python, leaves bindings out (neither installed nor tested).
MHC_BINDINGS="${MHC_BINDINGS:-ON}"
declare -A mhc_binding_packages=([rust]="rustc cargo librust-pkg-config-dev" [go]="golang-go"
                                  [python]="python3 python3-numpy python3-venv")
for lang in rust go python; do
  if [[ ",${MHC_BINDINGS,,}," =~ ,(on|$lang), ]]; then
    # shellcheck disable=SC2206
    MHC_APT_PACKAGES+=(${mhc_binding_packages[$lang]})
  fi
done

mhc_install_packages
# The Python package's test (ctest binding_python_package) runs mhc.torch with the pinned torch:
# MHC_TORCH=OFF leaves torch out (its tests then skip).
torch_args=()
if [[ ",${MHC_BINDINGS,,}," =~ ,(on|python), && "${MHC_TORCH:-ON}" != OFF ]]; then
  if venv="$(mhc_torch_venv)"; then
    torch_args=(-DMHC_TORCH_VENV="$venv")
  else
    mhc_log "could not install torch $MHC_TORCH_VERSION: the mhc.torch tests will skip"
    torch_args=(-DMHC_TORCH_VENV=)
  fi
fi
mhc_configure -DMHC_BUILD_TESTS=ON -DMHC_BUILD_EXAMPLES=ON -DMHC_BINDINGS="$MHC_BINDINGS" "${torch_args[@]}"
mhc_build

mhc_log "ctest (-j $MHC_JOBS)"
cd "$MHC_BUILD_DIR"
ctest --output-on-failure -j "$MHC_JOBS"
