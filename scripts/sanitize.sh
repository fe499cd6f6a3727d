#!/usr/bin/env bash
# The sanitizer and fuzzing jobs (CI runs them after scripts/test.sh; docs/reliability.md says what
# each one covers). All three build the host backend only, each in a build folder of its own:
#
#   asan  gcc, -fsanitize=address,undefined,float-cast-overflow: the whole ctest suite (LeakSanitizer
#         on). The language bindings are left out (MHC_BINDINGS=OFF): their interpreters and
#         toolchains are not built with the sanitizers.
#   tsan  gcc, -fsanitize=thread: the multi-threaded tests (test_threads, test_thread_stress).
#   fuzz  clang, libFuzzer + -fsanitize=address,undefined: the C ABI harness tests/fuzz/fuzz_capi.cpp
#         for MHC_FUZZ_SECONDS, starting from the seed corpus tests/fuzz/corpus.
#
# Each job ends with the line its tool prints: ctest's "100% tests passed, 0 tests failed out of N"
# and "fuzz: N runs, 0 failures". A failing job does not stop the others; the script exits
# non-zero when any job failed. A fuzzer failure leaves the input in <fuzz build>/artifacts/ and
# prints it in hex with the command that replays it.
#
# Environment (and those of scripts/lib.sh: MHC_NO_INSTALL, MHC_JOBS):
#   MHC_SANITIZE_JOBS   the jobs to run, comma-separated (default asan,tsan,fuzz)
#   MHC_FUZZ_SECONDS    fuzzing time in seconds (default 90)
#   MHC_ASAN_BUILD_DIR, MHC_TSAN_BUILD_DIR, MHC_FUZZ_BUILD_DIR
#                       build folders (default build-asan, build-tsan, build-fuzz in the repository)
# shellcheck disable=SC2317  # the job_* functions are called as "job_$job"
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MHC_SANITIZE_JOBS="${MHC_SANITIZE_JOBS:-asan,tsan,fuzz}"
MHC_FUZZ_SECONDS="${MHC_FUZZ_SECONDS:-90}"
export MHC_CUDA=OFF  # host-only builds (mhc_configure)

wants() { [[ ",$MHC_SANITIZE_JOBS," == *",$1,"* ]]; }
abs_dir() { case "$1" in /*) echo "$1" ;; *) echo "$MHC_ROOT/$1" ;; esac; }

# The fuzz job needs clang with the sanitizer and libFuzzer runtimes (Debian 12: clang 14).
wants fuzz && MHC_APT_PACKAGES+=(clang libclang-rt-dev)
mhc_install_packages

# Sanitizer builds: line tables for the reports, -O1 for speed; Debug keeps assert() on.
mhc_sanitizer_configure() {  # $1: -fsanitize= value; further arguments: CMake arguments
  local flags="-fsanitize=$1 -fno-omit-frame-pointer -fno-sanitize-recover=all"
  shift
  MHC_BUILD_TYPE=Debug mhc_configure -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
    -DCMAKE_C_FLAGS_DEBUG="-O1 -g1" -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
    -DCMAKE_EXE_LINKER_FLAGS="${flags%% *}" -DCMAKE_SHARED_LINKER_FLAGS="${flags%% *}" \
    -DMHC_BUILD_TESTS=ON -DMHC_BINDINGS=OFF "$@"
}

job_asan() {
  MHC_BUILD_DIR="$(abs_dir "${MHC_ASAN_BUILD_DIR:-build-asan}")"
  mhc_log "asan: ASan + UBSan build (gcc, host-only) in $MHC_BUILD_DIR"
  mhc_sanitizer_configure address,undefined,float-cast-overflow -DMHC_BUILD_EXAMPLES=ON
  mhc_build
  mhc_log "asan: configured and built in $((SECONDS - job_start)) s"
  # verify_asan_link_order=0: the install test's pkg-config consumer is a plain C program that
  # gets the ASan runtime through libmhc.so (it still runs the library under ASan).
  export ASAN_OPTIONS="detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:verify_asan_link_order=0"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  mhc_log "asan: ctest (-j $MHC_JOBS) ASAN_OPTIONS=$ASAN_OPTIONS UBSAN_OPTIONS=$UBSAN_OPTIONS"
  cd "$MHC_BUILD_DIR"
  ctest --output-on-failure -j "$MHC_JOBS"
}

job_tsan() {
  MHC_BUILD_DIR="$(abs_dir "${MHC_TSAN_BUILD_DIR:-build-tsan}")"
  mhc_log "tsan: TSan build (gcc, host-only) in $MHC_BUILD_DIR"
  mhc_sanitizer_configure thread -DMHC_BUILD_EXAMPLES=OFF
  mhc_build test_threads test_thread_stress
  mhc_log "tsan: configured and built in $((SECONDS - job_start)) s"
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
  # TSan needs its fixed memory layout: without address-space randomization it works on every
  # kernel (some reject gcc 12's TSan when mmap randomization is high).
  local norandom=()
  if command -v setarch >/dev/null 2>&1 && setarch "$(uname -m)" -R true 2>/dev/null; then
    norandom=(setarch "$(uname -m)" -R)
  fi
  mhc_log "tsan: ctest -R 'test_threads|test_thread_stress' TSAN_OPTIONS=$TSAN_OPTIONS ${norandom[*]}"
  cd "$MHC_BUILD_DIR"
  "${norandom[@]}" ctest --output-on-failure -j "$MHC_JOBS" -R '^(test_threads|test_thread_stress)$'
}

job_fuzz() {
  local dir seed_dir log rc runs failures
  dir="$(abs_dir "${MHC_FUZZ_BUILD_DIR:-build-fuzz}")"
  seed_dir="$MHC_ROOT/tests/fuzz/corpus"
  mhc_log "fuzz: libFuzzer + ASan + UBSan build (clang, host-only) in $dir"
  cmake -S "$MHC_ROOT/tests/fuzz" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
  cmake --build "$dir" -j "$MHC_JOBS" --target mhc_fuzz_capi
  mhc_log "fuzz: configured and built in $((SECONDS - job_start)) s"
  rm -rf "$dir/corpus-work" "$dir/artifacts"
  mkdir -p "$dir/corpus-work" "$dir/artifacts"
  log="$dir/fuzz.log"
  mhc_log "fuzz: $MHC_FUZZ_SECONDS s from the $(find "$seed_dir" -type f | wc -l) seed inputs of tests/fuzz/corpus (log: $log)"
  set +e
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    "$dir/mhc_fuzz_capi" -max_total_time="$MHC_FUZZ_SECONDS" -timeout=30 -rss_limit_mb=4096 -max_len=512 \
    -print_final_stats=1 -artifact_prefix="$dir/artifacts/" "$dir/corpus-work" "$seed_dir" >"$log" 2>&1
  rc=$?
  set -e
  grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)' "$log" || true
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  [[ -n "$runs" ]] || runs="$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#')"
  failures="$(find "$dir/artifacts" -type f | wc -l)"
  if ((rc != 0)) && ((failures == 0)); then failures=1; fi
  if ((failures > 0)); then
    echo "---- fuzz: the end of $log"
    tail -n 80 "$log"
    local f
    for f in "$dir"/artifacts/*; do
      [[ -f "$f" ]] || continue
      echo "---- failing input $f ($(wc -c <"$f") bytes), hex:"
      od -An -tx1 -v "$f" | tr -d ' \n' | fold -w 96
      echo
      echo "replay: $dir/mhc_fuzz_capi $f   (MHC_FUZZ_VERBOSE=1 prints what it decodes to)"
    done
  fi
  echo "fuzz: ${runs:-0} runs, $failures failures (seed corpus $(find "$seed_dir" -type f | wc -l) inputs," \
       "corpus after $(find "$dir/corpus-work" -type f | wc -l) new inputs, $MHC_FUZZ_SECONDS s)"
  ((failures == 0))
}

summary=()
status=0
for job in asan tsan fuzz; do
  wants "$job" || continue
  job_start=$SECONDS
  set +e
  (set -e; "job_$job")
  rc=$?
  set -e
  summary+=("$job: $([[ $rc == 0 ]] && echo passed || echo "FAILED (exit $rc)") in $((SECONDS - job_start)) s")
  ((rc == 0)) || status=1
done
mhc_log "sanitize summary:"
for line in "${summary[@]}"; do mhc_log "  $line"; done
exit "$status"
