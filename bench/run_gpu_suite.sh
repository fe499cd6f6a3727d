#!/usr/bin/env bash
# On the GPU machine: the CUDA test suites, compute-sanitizer on a quick subset, then the
# benchmark suites. Logs go to $OUT (or ./gpu-out). Usage: bench/run_gpu_suite.sh BUILD_DIR [tests|sanitize|bench]...
set -uo pipefail
build=${1:-build}; shift || true
out=${OUT:-gpu-out}; mkdir -p "$out"
steps=${*:-tests sanitize bench}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
status=0
for step in $steps; do
  case $step in
    tests)
      for t in "$build"/tests/cuda/test_cuda_*; do
        [ -x "$t" ] || continue
        echo "== $t"; "$t" 2>&1 | tail -n 25 | tee -a "$out/tests.log" || status=1
      done ;;
    sanitize)
      for tool in memcheck racecheck synccheck; do
        for spec in "test_cuda_runtime [determinism]" "test_cuda_dynamic [a5]"; do
          set -- $spec
          echo "== compute-sanitizer --tool $tool $1 $2"
          compute-sanitizer --tool "$tool" --error-exitcode 3 "$build/tests/cuda/$1" "$2" 2>&1 | tail -n 6 \
            | tee -a "$out/sanitize.log" || status=1
        done
      done ;;
    bench)
      "$build/bench/mhc-bench" --suite perf --json "$out/bench.json" 2>&1 | tee "$out/bench.log" || status=1 ;;
  esac
done
exit $status
