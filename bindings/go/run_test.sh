#!/usr/bin/env bash
# The Go binding's test (ctest -L go): go vet, go test, then the quickstart command that
# docs/bindings_go.md shows. Needs MHC_INCLUDE_DIR (the directory holding mhc/mhc.h),
# MHC_LIB_DIR (the directory of libmhc.so) and MHC_ABI_FACTS (the output of mhc_abi_facts);
# ctest sets them, GOPATH/GOCACHE under the build tree and GOPROXY=off.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${MHC_INCLUDE_DIR:?set MHC_INCLUDE_DIR to the directory holding mhc/mhc.h}"
: "${MHC_LIB_DIR:?set MHC_LIB_DIR to the directory holding libmhc.so}"
: "${MHC_ABI_FACTS:?set MHC_ABI_FACTS to the output of mhc_abi_facts}"
go="${MHC_GO:-go}"
export CGO_ENABLED=1
export CGO_CFLAGS="-I$MHC_INCLUDE_DIR ${CGO_CFLAGS:-}"
export CGO_LDFLAGS="-L$MHC_LIB_DIR -Wl,-rpath,$MHC_LIB_DIR ${CGO_LDFLAGS:-}"
cd "$here"
echo "== $("$go" version), libmhc from $MHC_LIB_DIR"
echo "== go vet ./..."
"$go" vet ./...
echo "== go test ./..."
"$go" test -count=1 -v ./...
echo "== go run ./cmd/quickstart"
"$go" run ./cmd/quickstart
