#!/usr/bin/env bash
# Time to target with two data-parallel ranks (--nproc 2, one thread each) on an idle 2-core
# machine: the distracting bus to a test return >= 0.75 within 10 minutes (seeds 0 and 1) and
# cooking to >= 0.40 within 15 minutes (seed 0). Each run stops at its target or its time budget.
# Run from a fresh clone after `bash scripts/setup_env.sh dev,train`:
#     bash results/time_to_target/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out=results/time_to_target/runs
common=(--preset fast --nproc 2 --out "$out" --force --no-progress -b fastmeta.tensorboard=false)
for seed in 0 1; do
    .venv/bin/python -m fastmeta train dream --env distraction -s "$seed" --max-minutes 10 \
        -b fastmeta.stop_test_return=0.75 -b fastmeta.max_env_steps=10000000 "${common[@]}" \
        "distraction-nproc2-s$seed"
done
.venv/bin/python -m fastmeta train dream --env cooking -s 0 --max-minutes 15 \
    -b fastmeta.stop_test_return=0.40 -b fastmeta.max_env_steps=10000000 "${common[@]}" \
    cooking-nproc2-s0
rm -f "$out"/*/checkpoint*.pt  # hundreds of MB of replay; the curves are what is kept
.venv/bin/python results/dream/plot.py results/time_to_target/distraction \
    "s0=$out/distraction-nproc2-s0" "s1=$out/distraction-nproc2-s1" \
    --optimal 0.8 --threshold 0.75 --title "DREAM, distracting bus, --nproc 2"
.venv/bin/python results/dream/plot.py results/time_to_target/cooking \
    "s0=$out/cooking-nproc2-s0" --threshold 0.40 --title "DREAM, cooking, --nproc 2"
