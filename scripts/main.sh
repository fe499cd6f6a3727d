#!/usr/bin/env bash
# The main job: install what is missing, build libmhc and its examples, run them.
# The examples run a real plan: on the GPU when the library has a CUDA SKU for it, else on the
# host fp64 backend; each says which SKU it ran and where.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mhc_install_packages
mhc_configure -DMHC_BUILD_EXAMPLES=ON
mhc_build mhc_example_pre_post mhc_example_pre_c

mhc_log "run: examples/pre_post (pre -> layer -> post over 4 layers, one plan each, reused)"
"$MHC_BUILD_DIR/examples/pre_post"
mhc_log "run: examples/pre_c (MHC_OP_PRE through the C ABI)"
"$MHC_BUILD_DIR/examples/pre_c"
