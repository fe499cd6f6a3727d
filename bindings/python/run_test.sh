#!/usr/bin/env bash
# The Python binding's test (ctest -L python): the unittest suite, then quickstart.py, which
# docs/bindings_python.md shows. Needs MHC_LIBRARY (libmhc.so.1 to load) and MHC_ABI_FACTS (the
# output of mhc_abi_facts); ctest sets both. MHC_PYTHON: the interpreter (with numpy).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${MHC_LIBRARY:?set MHC_LIBRARY to the libmhc.so.1 to load}"
: "${MHC_ABI_FACTS:?set MHC_ABI_FACTS to the output of mhc_abi_facts}"
python="${MHC_PYTHON:-python3}"
export PYTHONDONTWRITEBYTECODE=1
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
cd "$here"
echo "== $("$python" -c 'import sys, numpy; print("python", sys.version.split()[0], "numpy", numpy.__version__)'), libmhc $MHC_LIBRARY"
"$python" -m unittest -v test_mhc
echo "== python quickstart.py"
"$python" quickstart.py
