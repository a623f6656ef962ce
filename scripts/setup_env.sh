#!/usr/bin/env bash
# Creates ./.venv and installs fastmeta into it (editable, with the given extras), under the
# project's pins in constraints.txt (torch: the local CPU build).
# Usage: scripts/setup_env.sh [extras]   e.g. scripts/setup_env.sh dev,train
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-dev}"
if [ -x scripts/install_system_deps.sh ]; then
    bash scripts/install_system_deps.sh
fi
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
# torch is a range in pyproject.toml (train and dev extras); constraints.txt pins the CPU build.
.venv/bin/python -m pip install --quiet -c constraints.txt -e ".[${extras}]"
