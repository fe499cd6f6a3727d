#!/usr/bin/env bash
# The Rust binding's test (ctest -L rust):
#   1. cargo test of the workspace (mhc-sys, mhc) against the library built here (MHC_LIB_DIR),
#      then the quickstart example that docs/bindings_rust.md shows;
#   2. the dependent crate consumer/ against an INSTALLED libmhc: `cmake --install` into a
#      temporary prefix, then `cargo run` with only PKG_CONFIG_PATH set (no MHC_LIB_DIR, no
#      LD_LIBRARY_PATH): mhc-sys finds it through pkg-config, the binary through its rpath;
#   3. the same build with neither variable: it must fail with mhc-sys's message naming both.
# Needs MHC_LIB_DIR, MHC_ABI_FACTS, MHC_CMAKE, MHC_BUILD_DIR and MHC_BINDINGS_WORK; ctest sets
# them, and CARGO_HOME/CARGO_TARGET_DIR under the build tree. The one crate dependency
# (pkg-config, of mhc-sys's build script) comes from Debian's librust-pkg-config-dev
# (/usr/share/cargo/registry) when that is installed, offline; else from crates.io.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${MHC_LIB_DIR:?set MHC_LIB_DIR to the directory holding libmhc.so}"
: "${MHC_ABI_FACTS:?set MHC_ABI_FACTS to the output of mhc_abi_facts}"
: "${MHC_CMAKE:?set MHC_CMAKE to the cmake that built MHC_BUILD_DIR}"
: "${MHC_BUILD_DIR:?set MHC_BUILD_DIR to the libmhc build tree}"
: "${MHC_BINDINGS_WORK:?set MHC_BINDINGS_WORK to a scratch directory}"
cargo="${MHC_CARGO:-cargo}"
offline=()
registry=/usr/share/cargo/registry
if [[ -n "${CARGO_HOME:-}" ]] && compgen -G "$registry/pkg-config-0.3.*" >/dev/null; then
  mkdir -p "$CARGO_HOME"
  printf '[source.crates-io]\nreplace-with = "debian"\n\n[source.debian]\ndirectory = "%s"\n' "$registry" \
    >"$CARGO_HOME/config.toml"
  offline=(--offline)
  export CARGO_NET_OFFLINE=true
fi
echo "== $("$cargo" --version), $("${RUSTC:-rustc}" --version), libmhc from $MHC_LIB_DIR, crates: ${offline[*]:-crates.io}"
"$cargo" test "${offline[@]}" --manifest-path "$here/Cargo.toml" --workspace -- --nocapture
echo "== cargo run --example quickstart"
"$cargo" run "${offline[@]}" --quiet --manifest-path "$here/Cargo.toml" -p mhc --example quickstart

work="$MHC_BINDINGS_WORK/rust"
prefix="$work/prefix"
rm -rf "$prefix"; mkdir -p "$work"
"$MHC_CMAKE" --install "$MHC_BUILD_DIR" --prefix "$prefix" >"$work/install.log"
echo "== consumer/: cargo run against the libmhc installed in $prefix, with only PKG_CONFIG_PATH"
env -u MHC_LIB_DIR -u LD_LIBRARY_PATH -u MHC_LIBRARY PKG_CONFIG_PATH="$prefix/lib/pkgconfig" \
  CARGO_TARGET_DIR="$work/consumer-target" \
  "$cargo" run "${offline[@]}" --quiet --manifest-path "$here/consumer/Cargo.toml"
loaded="$(env -u LD_LIBRARY_PATH ldd "$work/consumer-target/debug/mhc-consumer" | awk '/libmhc\.so/ {print $3}')"
echo "the binary loads $loaded"
[[ "$(realpath "$loaded")" == "$(realpath "$prefix/lib/libmhc.so.1")" ]] || { echo "FAIL: not the installed libmhc"; exit 1; }

echo "== consumer/ with neither MHC_LIB_DIR nor PKG_CONFIG_PATH: mhc-sys must say what to set"
log="$work/not-found.log"
if env -u MHC_LIB_DIR -u LD_LIBRARY_PATH -u PKG_CONFIG_PATH CARGO_TARGET_DIR="$work/consumer-target-none" \
   "$cargo" build "${offline[@]}" --quiet --manifest-path "$here/consumer/Cargo.toml" >"$log" 2>&1; then
  echo "FAIL: built without any way to find libmhc (is one installed in a system directory?)"
  exit 1
fi
grep -q "MHC_LIB_DIR" "$log" && grep -q "PKG_CONFIG_PATH" "$log" || { cat "$log"; echo "FAIL: the message names neither"; exit 1; }
grep -F "mhc-sys: libmhc" "$log"
