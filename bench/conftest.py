"""Shared knobs for the benchmark suite: quick mode trims sizes and rounds."""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.reference baselines

QUICK = os.environ.get("FASTMETA_BENCH_QUICK") == "1"


def sizes(full, quick):
    return quick if QUICK else full
