#!/usr/bin/env bash
# Sets up ./.venv and runs the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh dev,train,render
exec .venv/bin/python -m pytest "$@"
