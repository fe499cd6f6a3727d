#!/usr/bin/env bash
# The install test (ctest label "install"): installs the built libmhc into a temporary prefix,
# checks what was installed, then builds and runs the two consumers in examples/consumer/:
#   - a CMake project through find_package(mhc) -> mhc::mhc, configured with fmt and CUDA
#     hidden (CMAKE_DISABLE_FIND_PACKAGE_*), so it proves the package needs neither;
#   - a C file compiled with the flags `pkg-config --cflags --libs mhc` gives.
# Offline: nothing is downloaded. Registered by the top-level CMakeLists.txt.
set -euo pipefail

source_dir="" build_dir="" work_dir="" config="" cmake_bin="cmake" generator="" cc="" cxx="" pkg_config=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --source-dir) source_dir="$2" ;;
    --build-dir) build_dir="$2" ;;
    --work-dir) work_dir="$2" ;;
    --config) config="$2" ;;
    --cmake) cmake_bin="$2" ;;
    --generator) generator="$2" ;;
    --c-compiler) cc="$2" ;;
    --cxx-compiler) cxx="$2" ;;
    --pkg-config) pkg_config="$2" ;;
    *) echo "run_consumer_test.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift 2
done
[[ -n "$source_dir" && -n "$build_dir" && -n "$work_dir" ]] || {
  echo "usage: run_consumer_test.sh --source-dir DIR --build-dir DIR --work-dir DIR [--config C] [--cmake CMAKE]" \
       "[--generator G] [--c-compiler CC] [--cxx-compiler CXX] [--pkg-config PKG_CONFIG]" >&2
  exit 2
}

step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

rm -rf "$work_dir"
mkdir -p "$work_dir"
prefix="$work_dir/prefix"

step "install into $prefix"
install_args=(--install "$build_dir" --prefix "$prefix")
[[ -n "$config" ]] && install_args+=(--config "$config")
"$cmake_bin" "${install_args[@]}"

step "check the installed files"
libdir=""
for d in "$prefix"/lib "$prefix"/lib64 "$prefix"/lib/*-linux-gnu; do
  [[ -f "$d/pkgconfig/mhc.pc" ]] && { libdir="$d"; break; }
done
[[ -n "$libdir" ]] || fail "no lib*/pkgconfig/mhc.pc under $prefix"
for f in "$prefix/include/mhc/mhc.h" "$prefix/include/mhc/mhc.hpp" \
         "$libdir/cmake/mhc/mhcConfig.cmake" "$libdir/cmake/mhc/mhcConfigVersion.cmake" \
         "$libdir/cmake/mhc/mhcTargets.cmake"; do
  [[ -f "$f" ]] || fail "missing $f"
done
[[ -L "$libdir/libmhc.so" ]] || fail "missing the namelink $libdir/libmhc.so"
soname_link=$(find "$libdir" -maxdepth 1 -name 'libmhc.so.[0-9]*' -type l | head -n 1)
[[ -n "$soname_link" ]] || fail "missing the SONAME link libmhc.so.<abi> in $libdir"
real_lib=$(find "$libdir" -maxdepth 1 -name 'libmhc.so.*.*.*' -type f | head -n 1)
[[ -n "$real_lib" ]] || fail "missing libmhc.so.<version> in $libdir"
echo "library: $(basename "$real_lib") <- $(basename "$soname_link") <- libmhc.so"
if grep -n -i -E 'fmt|cuda' "$libdir"/cmake/mhc/mhcTargets*.cmake; then
  fail "the exported targets mention fmt or CUDA: consumers would need them"
fi

step "CMake consumer (find_package(mhc), fmt and CUDA hidden)"
consumer_build="$work_dir/consumer-cmake"
configure_args=(--no-warn-unused-cli -S "$source_dir/examples/consumer" -B "$consumer_build"
                -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release
                -DCMAKE_DISABLE_FIND_PACKAGE_fmt=ON -DCMAKE_DISABLE_FIND_PACKAGE_CUDAToolkit=ON
                -DCMAKE_DISABLE_FIND_PACKAGE_CUDA=ON)
[[ -n "$generator" ]] && configure_args+=(-G "$generator")
[[ -n "$cxx" ]] && configure_args+=(-DCMAKE_CXX_COMPILER="$cxx")
"$cmake_bin" "${configure_args[@]}"
"$cmake_bin" --build "$consumer_build" --config Release
consumer_exe="$consumer_build/consumer"
[[ -x "$consumer_exe" ]] || consumer_exe="$consumer_build/Release/consumer"
"$consumer_exe"

step "pkg-config consumer"
if [[ -z "$pkg_config" || ! -x "$pkg_config" ]]; then
  pkg_config=$(command -v pkg-config || command -v pkgconf || true)
fi
if [[ -z "$pkg_config" ]]; then
  echo "pkg-config not found: the pkg-config consumer is not checked (install pkg-config)"
else
  export PKG_CONFIG_PATH="$libdir/pkgconfig"
  "$pkg_config" --exists --print-errors mhc
  echo "mhc.pc: version $("$pkg_config" --modversion mhc), cflags $("$pkg_config" --cflags mhc)," \
       "libs $("$pkg_config" --libs mhc)"
  read -r -a pc_cflags <<< "$("$pkg_config" --cflags mhc)"
  read -r -a pc_libs <<< "$("$pkg_config" --libs mhc)"
  pc_libdir=$("$pkg_config" --variable=libdir mhc)
  c_compiler="${cc:-cc}"
  "$c_compiler" -std=c99 -Wall -Wextra -o "$work_dir/consumer_pkgconfig" \
    "$source_dir/examples/consumer/consumer_pkgconfig.c" "${pc_cflags[@]}" "${pc_libs[@]}" \
    -Wl,-rpath,"$pc_libdir"
  "$work_dir/consumer_pkgconfig"
fi

step "install test passed"
