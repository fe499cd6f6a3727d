# Shared by scripts/main.sh and scripts/test.sh (sourced, not run): install what is missing,
# configure and build libmhc.
#
# Environment:
#   MHC_BUILD_DIR    build folder (default: build, relative to the repository root)
#   MHC_BUILD_TYPE   CMAKE_BUILD_TYPE (default: Release)
#   MHC_CMAKE_ARGS   extra arguments for the CMake configure step (word-split)
#   MHC_NO_INSTALL   set to 1 to never call apt-get (report what is missing and go on)
#   MHC_CUDA         OFF: build host-only even where nvcc exists (default: auto)
#   MHC_CUDA_ARCHITECTURES
#                    architectures for the kernels; unset: the library's default (80;90a) where
#                    nvidia-smi sees a GPU, else 90a alone (no kernel can run there: the build is
#                    the kernels' compile check, and one architecture halves its nvcc time)
#   CUDACXX          nvcc to use; else /usr/local/cuda/bin/nvcc, else nvcc on PATH; none: host-only

MHC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MHC_BUILD_DIR="${MHC_BUILD_DIR:-build}"
case "$MHC_BUILD_DIR" in /*) ;; *) MHC_BUILD_DIR="$MHC_ROOT/$MHC_BUILD_DIR" ;; esac
MHC_BUILD_TYPE="${MHC_BUILD_TYPE:-Release}"
MHC_MIN_CMAKE="${MHC_MIN_CMAKE:-3.25}"
MHC_APT_PACKAGES=(cmake gcc g++ make pkg-config catch2 libfmt-dev)
MHC_JOBS="$(nproc 2>/dev/null || echo 2)"

mhc_log() { echo "[mhc] $*"; }

# Whether what package $1 provides is already there another way (a cmake from PyPI, a compiler
# in /opt, a library built from source): then apt-get is not needed for it.
mhc_provided_otherwise() {
  local d
  case "$1" in
    cmake) command -v cmake >/dev/null 2>&1 ;;
    gcc) command -v gcc >/dev/null 2>&1 || command -v cc >/dev/null 2>&1 ;;
    g++) command -v g++ >/dev/null 2>&1 || command -v c++ >/dev/null 2>&1 ;;
    make) command -v make >/dev/null 2>&1 ;;
    pkg-config) command -v pkg-config >/dev/null 2>&1 || command -v pkgconf >/dev/null 2>&1 ;;
    rustc) command -v rustc >/dev/null 2>&1 && command -v rustdoc >/dev/null 2>&1 ;;
    cargo) command -v cargo >/dev/null 2>&1 ;;
    golang-go) command -v go >/dev/null 2>&1 ;;
    python3) command -v python3 >/dev/null 2>&1 || [[ -x /usr/bin/python3 ]] ;;
    python3-numpy)  # any python3 that imports numpy (bindings/python/CMakeLists.txt looks the same way)
      for d in python3 /usr/bin/python3; do
        command -v "$d" >/dev/null 2>&1 && "$d" -c 'import numpy' >/dev/null 2>&1 && return 0
      done
      return 1 ;;
    catch2 | libfmt-dev)
      local name=Catch2Config.cmake
      [[ "$1" == libfmt-dev ]] && name=fmt-config.cmake
      for d in /usr /usr/local /opt/*; do
        compgen -G "$d/lib/cmake/*/$name" >/dev/null || compgen -G "$d/lib/*/cmake/*/$name" >/dev/null ||
          compgen -G "$d/lib64/cmake/*/$name" >/dev/null || compgen -G "$d/share/cmake/*/$name" >/dev/null &&
          return 0
      done
      return 1 ;;
    *) return 1 ;;
  esac
}

# Packages of MHC_APT_PACKAGES (or of the arguments) that dpkg does not have installed and that
# are not provided otherwise.
mhc_missing_packages() {
  local pkg missing=()
  (($# > 0)) || set -- "${MHC_APT_PACKAGES[@]}"
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q '^install ok installed$' &&
       ! mhc_provided_otherwise "$pkg"; then
      missing+=("$pkg")
    fi
  done
  echo "${missing[*]}"
}

# How to run a command as root: nothing when root, sudo when it exists, else fail.
mhc_as_root() {
  if [[ "$(id -u)" == 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "[mhc] not root and no sudo: run as root: $*" >&2
    return 1
  fi
}

mhc_apt_install() {
  mhc_log "installing: $*"
  mhc_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  mhc_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

# Installs the missing build packages (Debian 12 / Ubuntu: apt-get).
mhc_install_packages() {
  if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    mhc_log "no dpkg/apt-get here: make sure cmake >= $MHC_MIN_CMAKE, a C/C++ compiler, make, pkg-config," \
            "Catch2 and fmt are installed"
    return 0
  fi
  local missing
  missing="$(mhc_missing_packages)"
  if [[ -z "$missing" ]]; then
    mhc_log "build packages present: ${MHC_APT_PACKAGES[*]}"
  elif [[ "${MHC_NO_INSTALL:-0}" == 1 ]]; then
    mhc_log "missing packages (MHC_NO_INSTALL=1, not installing): $missing"
  else
    # shellcheck disable=SC2086
    mhc_apt_install $missing || mhc_log "apt-get failed (offline?): going on with what is installed"
  fi
  mhc_ensure_cmake
}

mhc_version_ge() {  # $1 >= $2 (dotted versions)
  [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" == "$2" ]]
}

# A distribution cmake older than MHC_MIN_CMAKE (Ubuntu 22.04 has 3.22): take one from PyPI into
# a virtual environment next to the build folder and put it first on PATH.
mhc_ensure_cmake() {
  local have=""
  command -v cmake >/dev/null 2>&1 && have="$(cmake --version | head -n 1 | awk '{print $3}')"
  if [[ -n "$have" ]] && mhc_version_ge "$have" "$MHC_MIN_CMAKE"; then
    return 0
  fi
  local venv="$MHC_ROOT/.cache/cmake-venv"
  mhc_log "cmake ${have:-(none)} is older than $MHC_MIN_CMAKE: installing cmake from PyPI into $venv"
  if [[ ! -x "$venv/bin/cmake" ]]; then
    if ! python3 -m venv "$venv" >/dev/null 2>&1; then
      rm -rf "$venv"
      mhc_apt_install python3-venv python3-pip
      python3 -m venv "$venv"
    fi
    "$venv/bin/python" -m pip install -q "cmake>=$MHC_MIN_CMAKE,<5"
  fi
  export PATH="$venv/bin:$PATH"
  mhc_log "using $(cmake --version | head -n 1)"
}

# The venv with the pinned torch (and numpy, pytest) that the Python package's test adds to the
# fresh venv it installs bindings/python into: .cache/torch-venv, made once and kept. torch comes
# from the package index pip is configured with (from PyPI: the CUDA build, whose runtime wheels
# make a few GB; pip's downloads are cached in .cache/pip), or from MHC_TORCH_INDEX_URL when set
# (e.g. PyTorch's CPU wheel index, where it is reachable: no CUDA runtime wheels). Prints its path.
MHC_TORCH_VERSION="${MHC_TORCH_VERSION:-2.15.0}"
mhc_torch_venv() {
  local venv="$MHC_ROOT/.cache/torch-venv" start=$SECONDS
  local check="import sys, numpy, pytest, torch; sys.exit(torch.__version__.split('+')[0] != '$MHC_TORCH_VERSION')"
  if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c "$check" >/dev/null 2>&1; then
    echo "$venv"
    return 0
  fi
  rm -rf "$venv"
  mhc_log "torch $MHC_TORCH_VERSION: making $venv (once; kept for later runs)" >&2
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    rm -rf "$venv"
    mhc_apt_install python3-venv python3-pip >&2
    python3 -m venv "$venv" >&2 || return 1
  fi
  local index=()
  [[ -n "${MHC_TORCH_INDEX_URL:-}" ]] && index=(--index-url "$MHC_TORCH_INDEX_URL")
  PIP_CACHE_DIR="$MHC_ROOT/.cache/pip" "$venv/bin/python" -m pip install -q --disable-pip-version-check \
    "${index[@]}" "torch==$MHC_TORCH_VERSION" >&2 || return 1
  PIP_CACHE_DIR="$MHC_ROOT/.cache/pip" "$venv/bin/python" -m pip install -q --disable-pip-version-check \
    numpy pytest >&2 || return 1
  mhc_log "torch $MHC_TORCH_VERSION installed in $((SECONDS - start)) s" >&2
  echo "$venv"
}

# The nvcc to build the CUDA backend with, or nothing (host-only build).
mhc_find_nvcc() {
  if [[ "${MHC_CUDA:-auto}" =~ ^(OFF|off|0|NO|no)$ ]]; then
    return 0
  elif [[ -n "${CUDACXX:-}" && -x "${CUDACXX}" ]]; then
    echo "$CUDACXX"
  elif [[ -x /usr/local/cuda/bin/nvcc ]]; then
    echo /usr/local/cuda/bin/nvcc
  elif command -v nvcc >/dev/null 2>&1; then
    command -v nvcc
  fi
}

# mhc_configure [extra cmake args...]: configure MHC_BUILD_DIR.
mhc_configure() {
  local args=(-S "$MHC_ROOT" -B "$MHC_BUILD_DIR" -DCMAKE_BUILD_TYPE="$MHC_BUILD_TYPE")
  local nvcc
  nvcc="$(mhc_find_nvcc)"
  if [[ -n "$nvcc" ]]; then
    local archs="${MHC_CUDA_ARCHITECTURES:-}"
    if [[ -z "$archs" ]] && ! nvidia-smi -L >/dev/null 2>&1; then archs=90a; fi
    mhc_log "CUDA backend: on ($nvcc; architectures ${archs:-the default})"
    args+=(-DMHC_ENABLE_CUDA=ON -DCMAKE_CUDA_COMPILER="$nvcc")
    [[ -n "$archs" ]] && args+=(-DMHC_CUDA_ARCHITECTURES="$archs")
  else
    mhc_log "CUDA backend: off (MHC_CUDA=OFF or no nvcc found): host-only build"
    args+=(-DMHC_ENABLE_CUDA=OFF)
  fi
  # shellcheck disable=SC2206
  local extra=(${MHC_CMAKE_ARGS:-})
  mhc_log "configure: cmake ${args[*]} ${extra[*]} $*"
  cmake "${args[@]}" "${extra[@]}" "$@"
}

# mhc_build [targets...]: build everything, or the given targets.
mhc_build() {
  local targets=()
  local t
  for t in "$@"; do targets+=(--target "$t"); done
  mhc_log "build: $MHC_BUILD_DIR (-j $MHC_JOBS)"
  cmake --build "$MHC_BUILD_DIR" -j "$MHC_JOBS" "${targets[@]}"
}
