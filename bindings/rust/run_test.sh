#!/usr/bin/env bash
# The Rust binding's test (ctest -L rust): cargo test, then the quickstart example that
# docs/bindings_rust.md shows. Needs MHC_LIB_DIR (the directory of libmhc.so) and MHC_ABI_FACTS
# (the output of the mhc_abi_facts program); ctest sets both, and CARGO_HOME/CARGO_TARGET_DIR
# under the build tree. Offline: the crate has no dependencies.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${MHC_LIB_DIR:?set MHC_LIB_DIR to the directory holding libmhc.so}"
: "${MHC_ABI_FACTS:?set MHC_ABI_FACTS to the output of mhc_abi_facts}"
cargo="${MHC_CARGO:-cargo}"
export CARGO_NET_OFFLINE=true
echo "== $("$cargo" --version), $("${RUSTC:-rustc}" --version), libmhc from $MHC_LIB_DIR"
"$cargo" test --offline --manifest-path "$here/Cargo.toml" -- --nocapture
echo "== cargo run --example quickstart"
"$cargo" run --offline --quiet --manifest-path "$here/Cargo.toml" --example quickstart
