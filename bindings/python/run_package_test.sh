#!/usr/bin/env bash
# The Python package's test (ctest -L python, test binding_python_package): what a user does.
#   1. a fresh virtual environment (bindings-work/python-package/venv); torch, numpy and pytest
#      come from MHC_TORCH_VENV (a venv that scripts/test.sh keeps in .cache/torch-venv, with the
#      pinned torch) through a .pth file, else numpy and pytest are installed from the index;
#   2. pip install ./bindings/python: scikit-build-core builds libmhc and bundles it in the wheel
#      (host-only unless a GPU is present: MHC_CUDA=OFF, the CUDA kernels take minutes to compile
#      and there is nothing here to run them on; MHC_PACKAGE_CUDA=ON builds them anyway);
#   3. from outside the checkout, with no MHC_LIBRARY and no LD_LIBRARY_PATH: `import mhc` loads
#      the bundled library, the README's five-line quickstart runs, and pytest runs
#      bindings/python/tests (mhc.torch: values, opcheck, gradients, torch.compile).
# Needs MHC_SOURCE_DIR and MHC_BINDINGS_WORK (ctest sets them); MHC_PYTHON: the python3 for the
# venv; MHC_PIP_CACHE: pip's cache (default <source>/.cache/pip).
set -euo pipefail
: "${MHC_SOURCE_DIR:?set MHC_SOURCE_DIR to the libmhc checkout}"
: "${MHC_BINDINGS_WORK:?set MHC_BINDINGS_WORK to a scratch directory}"
python="${MHC_PYTHON:-python3}"
if [[ -n "${MHC_TORCH_VENV:-}" && -x "$MHC_TORCH_VENV/bin/python" ]]; then
  python="$MHC_TORCH_VENV/bin/python"  # the same Python as the venv whose packages the .pth adds
fi
work="$MHC_BINDINGS_WORK/python-package"
venv="$work/venv"
export PIP_CACHE_DIR="${MHC_PIP_CACHE:-$MHC_SOURCE_DIR/.cache/pip}" PIP_DISABLE_PIP_VERSION_CHECK=1
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}"
unset MHC_LIBRARY LD_LIBRARY_PATH PYTHONPATH
mkdir -p "$work"
rm -rf "$venv"
start=$SECONDS
"$python" -m venv "$venv"
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
if [[ -n "${MHC_TORCH_VENV:-}" && -x "$MHC_TORCH_VENV/bin/python" ]]; then
  "$MHC_TORCH_VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' >"$site/mhc_test_deps.pth"
  echo "== torch $("$venv/bin/python" -c 'import torch; print(torch.__version__)') from $MHC_TORCH_VENV"
else
  echo "== no MHC_TORCH_VENV: installing numpy and pytest only (the mhc.torch tests skip without torch)"
  "$venv/bin/python" -m pip install -q numpy pytest
fi
if [[ "${MHC_PACKAGE_CUDA:-}" != ON ]] && ! nvidia-smi -L >/dev/null 2>&1; then
  export MHC_CUDA=OFF
fi
echo "== pip install ./bindings/python (MHC_CUDA=${MHC_CUDA:-auto})"
if ! "$venv/bin/python" -m pip install "$MHC_SOURCE_DIR/bindings/python" \
     --config-settings=build-dir="$work/build" >"$work/pip.log" 2>&1; then
  tail -n 60 "$work/pip.log"
  echo "FAIL: pip install ./bindings/python (log: $work/pip.log)"
  exit 1
fi
grep -E "libmhc wheel:|Successfully installed" "$work/pip.log" | sed 's/^ *//'
echo "== installed in $((SECONDS - start)) s"

cd "$work"  # not the checkout: `import mhc` must find the installed package
"$venv/bin/python" - <<'PY'
import mhc
assert mhc.library_path() == mhc.BUNDLED_LIBRARY, mhc.library_path()
print("== import mhc: libmhc %s from %s" % (mhc.version_string(), mhc.library_path()))
PY
if "$venv/bin/python" -c 'import torch' 2>/dev/null; then
  echo "== the README's quickstart"
  sed -n '/^```python$/,/^```$/p' "$MHC_SOURCE_DIR/bindings/python/README.md" | sed '1d;$d' >quickstart5.py
  [[ "$(wc -l <quickstart5.py)" == 5 ]] || { echo "FAIL: the README's quickstart is not five lines"; exit 1; }
  "$venv/bin/python" quickstart5.py | tee quickstart5.out
  grep -q "host_fp64_pre\|sm[0-9]*_" quickstart5.out
fi
echo "== pytest bindings/python/tests"
rc=0
"$venv/bin/python" -m pytest -q -p no:cacheprovider -p no:logging "$MHC_SOURCE_DIR/bindings/python/tests" || rc=$?
# pytest's 5 is "no tests collected": without torch the mhc.torch module skips itself, and the
# package was still built, installed, imported and its library checked above.
if [[ $rc == 5 ]]; then echo "== no torch: the mhc.torch tests were skipped"; rc=0; fi
exit $rc
