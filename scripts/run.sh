#!/usr/bin/env bash
# Sets up ./.venv and runs fastmeta's main job with defaults: the quick throughput benchmark of
# every env against its plain-Python reference, printed as a table (report in fastmeta-bench/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh dev,train,render
exec .venv/bin/python -m fastmeta.bench --quick "$@"
