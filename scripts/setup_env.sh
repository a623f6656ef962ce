#!/usr/bin/env bash
# Creates ./.venv and installs fastmeta into it (editable, with the given extras).
# Usage: scripts/setup_env.sh [extras]   e.g. scripts/setup_env.sh dev,train
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-dev}"
if [ -x scripts/install_system_deps.sh ]; then
    bash scripts/install_system_deps.sh
fi
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
# torch is pinned in pyproject.toml to the CPU build this machine class provides
.venv/bin/python -m pip install --quiet -e ".[${extras}]"
