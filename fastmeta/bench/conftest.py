"""Shared knobs for the benchmark suite: quick mode trims sizes and rounds; the machine
description (CPU, caches, load, library versions, which peers import) goes into results.json."""

import os
import platform
import time
from importlib import metadata
from pathlib import Path

# SMOKE: the report generator's test (tests/test_bench_report.py) runs the suite on the two
# smallest sizes of each quick list, one short round each: real numbers, seconds of work.
SMOKE = os.environ.get("FASTMETA_BENCH_SMOKE") == "1"
QUICK = SMOKE or os.environ.get("FASTMETA_BENCH_QUICK") == "1"
# Seconds of work per timed round and rounds per benchmark: rounds are short so that a sweep of
# ~200 points fits the full run in minutes; the median of several absorbs a busy machine's noise.
ROUND_S = 0.001 if SMOKE else 0.03 if QUICK else 0.08
ROUNDS = 1 if SMOKE else 2 if QUICK else 4

# Width of the two hidden layers of the "N" columns' policy network (policy_mlp.py, and its JAX
# twin for the JAX peers in bench_peers.py).
HIDDEN = 64
# torch is optional for the suite: what needs it (the policy network, the learners) skips without.
NO_TORCH = "torch is not installed (the policy network and the learners need it)"

# Batch sizes of the env sweeps: powers of 4 from 1 to 65536 (log scale).
SWEEP = [4**k for k in range(9)]


def sizes(full, quick):
    if SMOKE and isinstance(quick, list):
        return quick[:2]
    return quick if QUICK else full


# Quick mode measures everything once: these repeat what the env sweep (bench_env_scaling.py)
# and bench_learners.py already time, or are the slowest baselines; the full run keeps them.
QUICK_SKIP = (
    "test_grid_batched[",
    "test_fe_batched[",
    "test_fe_meta_reset[",
    "test_first_explore_update_",
    "test_sign_frames[256-",
    "-msaa-f32]",
)


def pytest_collection_modifyitems(config, items):
    if not QUICK:
        return
    import pytest

    skip = pytest.mark.skip(reason="full mode only (fastmeta bench without --quick)")
    for item in items:
        if any(pattern in item.name for pattern in QUICK_SKIP):
            item.add_marker(skip)


def calls_per_round(fn, max_calls=4096) -> int:
    """How many calls of `fn` fill about ROUND_S seconds (timed after one warm-up call)."""
    fn()
    t0 = time.perf_counter()
    calls = 0
    while calls < 3 or (time.perf_counter() - t0 < 0.2 * ROUND_S and calls < max_calls):
        fn()
        calls += 1
    per_call = (time.perf_counter() - t0) / calls
    return int(min(max_calls, max(2, ROUND_S / max(per_call, 1e-9))))


PEERS = ("jax", "gymnax", "xminigrid", "envpool", "miniworld")
LIBRARIES = (
    "numpy",
    "numba",
    "torch",
    "gymnasium",
    "Cython",
    "pytest-benchmark",
    "moderngl",
) + PEERS


def _version(dist: str) -> str:
    # Installed versions from package metadata: importing jax or pyglet here would cost seconds
    # and could fail for reasons unrelated to whether the package is present.
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _caches() -> dict:
    out = {}
    for d in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            kind = (d / "type").read_text().strip()
            if kind == "Instruction":
                continue
            out[f"L{(d / 'level').read_text().strip()}"] = (d / "size").read_text().strip()
        except OSError:
            pass
    return out


_LOAD_AT_START = os.getloadavg() if hasattr(os, "getloadavg") else None


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["fastmeta"] = {
        "cpu_model": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "caches": _caches(),
        "loadavg_start": _LOAD_AT_START,
        "loadavg_end": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "mode": "quick" if QUICK else "full",
        "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "python": platform.python_version(),
        "libraries": {m: _version(m) for m in LIBRARIES},
    }
