#!/usr/bin/env bash
# The main job: install what is missing, build libmhc and its examples, run them.
# The examples run real plans: on the GPU when the library has a CUDA SKU for them, else on the
# host fp64 backend. Each prints, per plan, the op, where it ran, the SKU and its guarantees,
# checks every output of every run against the fp64 host backend (PASS or FAIL per output) and
# ends with "<example>: N plans checked against the fp64 host reference: all PASS" (or
# "...: FAIL: <ops>"). This script adds them up in one last line and exits non-zero on a FAIL.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mhc_install_packages
mhc_configure -DMHC_BUILD_EXAMPLES=ON
mhc_build mhc_example_pre_post mhc_example_pre_c mhc_example_v41_chain

checked=0
failures=()
# run_example NAME DESCRIPTION: runs examples/NAME and reads its last line.
run_example() {
  local name="$1" rc=0 out summary
  mhc_log "run: examples/$name ($2)"
  out="$(mktemp)"
  "$MHC_BUILD_DIR/examples/$name" | tee "$out" || rc=$?
  summary="$(grep -E "^$name: [0-9]+ plans? checked" "$out" | tail -n 1 || true)"
  rm -f "$out"
  if [[ -z "$summary" ]]; then
    failures+=("$name (exit status $rc before its check)")
    return 0
  fi
  checked=$((checked + $(sed -E 's/^[^:]*: ([0-9]+) .*/\1/' <<<"$summary")))
  if [[ "$summary" == *": FAIL: "* ]]; then
    failures+=("$name (${summary##*: FAIL: })")
  elif [[ "$rc" != 0 || "$summary" != *": all PASS" ]]; then
    failures+=("$name (exit status $rc)")
  fi
}

run_example pre_post "pre -> layer -> post over 4 layers, one plan each, reused; C++ through mhc.hpp"
run_example pre_c "MHC_OP_PRE through the C ABI, one plan run on T_max tokens and on fewer"
run_example v41_chain "DeepSeek-V4.1 shifted boundaries over 8 sublayers, the mix part on a second stream"

if ((${#failures[@]} == 0)); then
  echo "main: $checked plans checked against the fp64 reference: all PASS"
else
  printf -v failed '%s, ' "${failures[@]}"
  echo "main: $checked plans checked against the fp64 reference: FAIL in ${failed%, }"
  exit 1
fi
