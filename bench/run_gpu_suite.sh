#!/usr/bin/env bash
# On the GPU machine: the CUDA test suites, compute-sanitizer (memcheck, racecheck, synccheck,
# initcheck) on every CUDA suite, then the benchmark. Logs go to $OUT (or ./gpu-out).
# Usage: bench/run_gpu_suite.sh BUILD_DIR [tests|sanitize|bench|engine|boundary|backward|static_backward|ncu|ncu-gemm|head-cluster|cluster-decode|static-streamed|backward-chunked|new-skus|python|compare]...
#   engine: the pre engine before/after (mhc-bench --suite engine); boundary, backward,
#   static_backward: those suites;
#   ncu: DRAM and L2 throughput of each kernel of pre at T = 16384, C = 7168 on the default and the
#   earlier SKU; ncu-gemm: what bounds the GEMM pass (A1, T = 16384, C = 7168: the staged wide-token
#   kernel and the register-pipelined one): throughput, occupancy, stall reasons;
#   head-cluster: the head's two-pass SKU, the cluster kernel and the pipelined one (forced) at each T and C;
#   cluster-decode: pre (C = 7168, 5120, 4096; T = 1 .. 128) and the boundary (V4 and shifted,
#   with the norm) on the two-pass SKUs against the decode cluster ones (forced);
#   static-streamed: the static-H backward's default SKUs against the streamed ones (forced);
#   backward-chunked: the pre and head backward's default SKUs against the chunked ones (forced);
#   new-skus: the tests of the SKUs selected only when forced (the four above), then memcheck and
#   racecheck on their sanitizer subsets;
#   python: the Python package's torch tests on this GPU (mhc.torch, the CUDA-graph training step);
#   compare: A3', A4', A5' as training steps against PyTorch eager and torch.compile, in one process
#   (bench/compare_torch.py, libmhc's rows from mhc-bench at T = 4096, C = 7168).
set -uo pipefail
build=${1:-build}; shift || true
out=${OUT:-gpu-out}; mkdir -p "$out"
steps=${*:-tests sanitize bench}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
status=0

# What each suite runs under a sanitizer (they are 10-100x slower there): the whole suite where it
# is short, else a subset that still launches every kernel family of the suite.
declare -A sanitize_args=(
  [test_cuda_device]=""
  [test_cuda_tokens]=""
  [test_cuda_runtime]="[determinism],[graph],[threads],[validation]"
  [test_cuda_dynamic]="[a2],[a4],[a5],[sanitize-onepass],[sanitize-staged],[sanitize-cluster]"
  [test_cuda_boundary]="[sanitize],[sanitize-cluster]"
  [test_cuda_static]="[sanitize],[guard]"
  [test_cuda_static_backward]="[sanitize]"
  [test_cuda_backward]="~[chunked]"
)
# test_cuda_device provokes CUDA API errors on purpose (an invalid device, a scratch too large to
# allocate): memcheck would list them as errors, so API-error reports are off for that suite.
declare -A sanitize_flags=([test_cuda_device]="--report-api-errors no")

for step in $steps; do
  case $step in
    tests)
      for t in "$build"/tests/cuda/test_cuda_*; do
        [ -x "$t" ] || continue
        echo "== $t"; "$t" 2>&1 | tail -n 25 | tee -a "$out/tests.log" || status=1
      done ;;
    sanitize)
      for suite in "${!sanitize_args[@]}"; do
        for tool in memcheck racecheck synccheck initcheck; do
          echo "== compute-sanitizer --tool $tool $suite ${sanitize_args[$suite]}"
          # shellcheck disable=SC2086
          compute-sanitizer --tool "$tool" ${sanitize_flags[$suite]:-} --error-exitcode 3 "$build/tests/cuda/$suite" \
            ${sanitize_args[$suite]} 2>&1 \
            | tail -n 4 | tee -a "$out/sanitize.log" || status=1
        done
      done ;;
    bench)
      "$build/bench/mhc-bench" --suite perf --json "$out/bench.json" 2>&1 | tee "$out/bench.log" || status=1 ;;
    engine)
      "$build/bench/mhc-bench" --suite engine --json "$out/engine.json" 2>&1 | tee "$out/engine.log" || status=1 ;;
    boundary|backward|static_backward)
      "$build/bench/mhc-bench" --suite "$step" --json "$out/$step.json" 2>&1 | tee "$out/$step.log" || status=1 ;;
    head-cluster)
      for C in 7168 5120 4096; do
        for T in 1 16 64 128 256 512 1024 4096 16384; do
          for sku in 0x00900500 0x00900502 0x00900503; do
            "$build/bench/mhc-bench" --op head --T "$T" --C "$C" --sku "$sku" 2>&1 | tail -n 1 | tee -a "$out/head_cluster.log" || status=1
          done
        done
      done ;;
    static-streamed)
      for c in "static_layer_backward 8192 4096 4 fp32 0x00505201" "static_layer_backward 8192 4096 4 bf16 0x00505201" \
               "static_layer_backward 320 1280 4 fp32 0x00505201" "static_layer_backward 4096 7168 4 bf16 0x00505201" \
               "static_pre_backward 8192 4096 4 fp32 0x00505001" "static_pre_backward 8192 7168 4 bf16 0x00505001"; do
        set -- $c
        for sku in 0 "$6"; do
          "$build/bench/mhc-bench" --op "$1" --T "$2" --C "$3" --n "$4" --dtype "$5" --sku "$sku" 2>&1 | tail -n 1 \
            | tee -a "$out/static_streamed.log" || status=1
        done
      done ;;
    cluster-decode)
      for C in 7168 5120 4096; do
        for T in 1 4 16 64 128; do
          for sku in 0x00900300 0x00900304; do
            "$build/bench/mhc-bench" --op pre --T "$T" --C "$C" --sku "$sku" 2>&1 | tail -n 1 | tee -a "$out/cluster_decode.log" || status=1
          done
        done
      done
      for a in "--T 1 --C 7168 --norm" "--T 16 --C 7168 --norm" "--T 64 --C 7168 --norm" "--T 1 --C 5120 --shifted --norm" \
               "--T 16 --C 5120 --shifted --norm"; do
        for sku in 0x00500700 0x00900700; do
          # shellcheck disable=SC2086
          "$build/bench/mhc-bench" --op boundary $a --sku "$sku" 2>&1 | tail -n 1 | tee -a "$out/cluster_decode.log" || status=1
        done
      done ;;
    backward-chunked)
      for c in "pre_backward 0x00904300" "head_backward 0x00904500"; do
        set -- $c
        for T in 1024 4096 16384; do
          for sku in 0 "$2"; do
            "$build/bench/mhc-bench" --op "$1" --T "$T" --C 7168 --sku "$sku" 2>&1 | tail -n 1 \
              | tee -a "$out/backward_chunked.log" || status=1
          done
        done
      done ;;
    new-skus)
      for t in "test_cuda_dynamic [cluster]" "test_cuda_boundary [cluster]" "test_cuda_backward [chunked]" "test_cuda_static_backward [refill]"; do
        set -- $t
        echo "== $1 $2" | tee -a "$out/new_skus.log"
        "$build/tests/cuda/$1" "$2" 2>&1 | tail -n 4 | tee -a "$out/new_skus.log" || status=1
      done
      for t in "test_cuda_dynamic [sanitize-cluster]" "test_cuda_boundary [sanitize-cluster]" "test_cuda_backward [sanitize-chunked]" "test_cuda_static_backward [sanitize]"; do
        set -- $t
        for tool in memcheck racecheck; do
          echo "== compute-sanitizer --tool $tool $1 $2" | tee -a "$out/new_skus.log"
          compute-sanitizer --tool "$tool" --error-exitcode 3 "$build/tests/cuda/$1" "$2" 2>&1 | tail -n 4 \
            | tee -a "$out/new_skus.log" || status=1
        done
      done ;;
    python)
      MHC_LIBRARY=$(ls "$build"/libmhc.so.1 "$build"/*/libmhc.so.1 2>/dev/null | head -n 1) \
        PYTHONPATH="$PWD/bindings/python" PYTHONUNBUFFERED=1 \
        python3 -m pytest -q bindings/python/tests/test_torch.py 2>&1 | tee "$out/python.log" | tail -n 15 || status=1 ;;
    compare)
      rows=()
      for op in pre pre_backward head head_backward post post_backward; do
        "$build/bench/mhc-bench" --op "$op" --T 4096 --C 7168 --json "$out/rows_$op.json" >/dev/null 2>&1 || status=1
        rows+=("$out/rows_$op.json")
      done
      python3 bench/json_table.py --merge "$out/rows.json" "${rows[@]}" || status=1
      MHC_LIBRARY=$(ls "$build"/libmhc.so.1 "$build"/*/libmhc.so.1 2>/dev/null | head -n 1) \
        PYTHONPATH="$PWD/bindings/python" PYTHONUNBUFFERED=1 \
        python3 bench/compare_torch.py --json "$out/rows.json" --ops pre_backward,head_backward,post_backward \
        --mode default 2>&1 | tee "$out/compare.log" || status=1 ;;
    ncu-gemm)
      for sku in 0x00900100 0x00900103; do
        echo "== ncu A1 T=16384 C=7168 sku=$sku" | tee -a "$out/ncu_gemm.log"
        ncu --section SpeedOfLight --section Occupancy --section WarpStateStats --section MemoryWorkloadAnalysis \
          --kernel-name regex:prenorm_gemm --launch-skip 2 --launch-count 1 "$build/bench/mhc-bench" --op prenorm_gemm --T 16384 --C 7168 \
          --sku "$sku" --reps 20 --no-verify 2>&1 | tee -a "$out/ncu_gemm.log" | tail -n 60 || status=1
      done ;;
    ncu)
      metrics=gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,lts__t_bytes.sum,lts__t_sector_hit_rate.pct
      for sku in 0 0x00900300; do
        echo "== ncu pre T=16384 C=7168 sku=$sku" | tee -a "$out/ncu.log"
        ncu --metrics "$metrics" --launch-skip 4 --launch-count 3 "$build/bench/mhc-bench" --op pre --T 16384 \
          --C 7168 --sku "$sku" --reps 50 --no-verify 2>&1 | grep -E "^  [a-z_0-9]+|gpu__|dram__|lts__" \
          | tee -a "$out/ncu.log" || status=1
      done ;;
  esac
done
exit $status
