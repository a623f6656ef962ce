#!/usr/bin/env bash
# The GPU check: on a machine with one (or more) NVIDIA GPUs, PyTorch and numba preinstalled and
# no network, install fastmeta without dependencies (the Cython extension built in place) plus any
# wheels in ./.whl/, then, within about 8 minutes, run the `cuda` tests, a 90-second DREAM map run
# on CUDA, First-Explore's update at the original model size on CUDA, the sign renderer on the
# GPU's EGL device at 64-4,096 envs, and 2-rank NCCL training if two GPUs exist. Writes one
# markdown summary, <out>/summary.md (and prints it). Where there is no GPU, every part that can
# runs on the CPU instead and the summary says so.
#
# Usage: bash scripts/device_check.sh [OUT_DIR]      (default: $OUT, else ./device-check)
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-device-check}}"
mkdir -p "$out"
py="${PYTHON:-python3}"
if [ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ]; then py=.venv/bin/python; fi
log="$out/install.log"
: > "$log"

echo "== installing (no network, no dependencies)" | tee -a "$log"
if compgen -G ".whl/*.whl" > /dev/null; then
    "$py" -m pip install --no-index --no-deps --find-links .whl .whl/*.whl >> "$log" 2>&1 \
        && echo "wheels from .whl/: installed" | tee -a "$log" \
        || echo "wheels from .whl/: FAILED (see $log)" | tee -a "$log"
fi
if "$py" setup.py build_ext --inplace >> "$log" 2>&1; then
    echo "Cython extension: built in place" | tee -a "$log"
else
    echo "Cython extension: not built (no Cython or compiler; see $log)" | tee -a "$log"
fi
if "$py" -m pip install --no-index --no-deps --no-build-isolation -e . >> "$log" 2>&1; then
    echo "fastmeta: installed (editable, --no-deps)" | tee -a "$log"
else
    echo "fastmeta: pip install failed; using PYTHONPATH=$PWD (see $log)" | tee -a "$log"
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi

exec timeout 480 "$py" scripts/device_check.py --out "$out" --install-log "$log"
