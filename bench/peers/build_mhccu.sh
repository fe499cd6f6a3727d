#!/usr/bin/env bash
# Builds bench/peers/mhccu_static_backward.cu against a checkout of mHC.cu's public sources
# (https://github.com/AndreSlavescu/mHC.cu; the src/csrc folder is enough).
# Usage: bench/peers/build_mhccu.sh MHCCU_DIR OUT_BINARY [ARCH, default sm_90a]
set -euo pipefail
src=$1/src/csrc; out=$2; arch=${3:-sm_90a}
here=$(cd "$(dirname "$0")" && pwd)
nvcc -O3 -std=c++17 -arch="$arch" --expt-relaxed-constexpr -DMHC_ENABLE_PDL -I"$src/include" -I"$src/kernels" \
  "$here/mhccu_static_backward.cu" -lcublasLt -o "$out"
