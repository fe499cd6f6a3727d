#!/usr/bin/env bash
# ctest example_distributed_cpu: examples/python/distributed_chain.py on 2 CPU processes (gloo, the
# host backend of the library built here: MHC_LIBRARY), with the pinned torch venv that
# scripts/test.sh keeps (MHC_TORCH_VENV). Without that venv: exit 77 (ctest: Skipped).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${MHC_TORCH_VENV:-}"
if [[ -z "$venv" || ! -x "$venv/bin/python" ]]; then
  echo "SKIPPED: no torch venv (MHC_TORCH_VENV='$venv'; scripts/test.sh makes one)"
  exit 77
fi
export PYTHONPATH="$here/../../bindings/python${PYTHONPATH:+:$PYTHONPATH}"
exec "$venv/bin/python" "$here/distributed_chain.py" --cpu --world 2
