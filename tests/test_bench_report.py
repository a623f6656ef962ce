"""The benchmark report generator: a real (tiny) benchmark run through pytest-benchmark, turned
into a report whose structure is checked, plus the pieces the report's numbers rest on (the
cost fit, the memory accounting, the training-curve reader). No timing is asserted."""

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastmeta
from fastmeta.bench import cost_model, footprint, training_curves
from fastmeta.bench.__main__ import run_suite
from fastmeta.bench.report import write_report


def _can_render() -> bool:
    try:
        fastmeta.make("miniworld_sign", num_envs=1).close()
        return True
    except Exception:  # no headless GL on this machine: the sign's benchmarks fail, as they should
        return False


@pytest.fixture(scope="module")
def smoke_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    expr = "test_steps_random or test_footprint or (test_stream_copy and L2) or test_view_step"
    if not _can_render():
        expr = f"({expr}) and not miniworld_sign"
    # The suite as `fastmeta bench` runs it (its own pytest configuration, the report directory
    # as the working directory), on a slice of it.
    proc = run_suite(
        out,
        quick=True,
        k=expr,
        env=dict(os.environ, FASTMETA_BENCH_SMOKE="1"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = write_report(out / "results.json", out)
    return out, text


def test_report_has_every_section(smoke_report):
    _, text = smoke_report
    for heading in (
        "## Machine",
        "## Env steps per second",
        "## Memory per env slot",
        "## Physical limit",
        "## How cost grows with num_envs",
        "## Learners",
        "## Gymnasium view overhead",
        "## Peers, side by side",
        "## Every measurement",
    ):
        assert heading in text, heading
    assert "| env | N=1 (R / N) |" in text
    assert "logical cores" in text and "Load average" in text


def test_report_covers_every_registered_env(smoke_report):
    _, text = smoke_report
    summary = text.split("## Env steps per second")[1].split("\n## ")[0]
    memory = text.split("## Memory per env slot")[1].split("\n## ")[0]
    envs = [e for e in fastmeta.list_envs() if e != "miniworld_sign" or _can_render()]
    for name in envs:
        assert f"| `{name}` |" in summary, name
        assert f"| `{name}` |" in memory, name


def test_report_shows_the_view_overhead(smoke_report):
    _, text = smoke_report
    views = text.split("## Gymnasium view overhead")[1].split("\n## ")[0]
    for name in ("map", "FixedArmBandit"):
        row = next(line for line in views.splitlines() if line.startswith(f"| `{name}` | 4,096 |"))
        assert row.count("µs") == 5 and "—" not in row, row


def test_report_numbers_are_finite(smoke_report):
    out, text = smoke_report
    assert not re.search(r"\b(nan|inf|infinity)\b", text, re.IGNORECASE), text
    data = json.loads((out / "results.json").read_text())
    for b in data["benchmarks"]:
        assert math.isfinite(b["stats"]["median"]) and b["stats"]["median"] > 0, b["name"]
        x = b["extra_info"]
        if "bytes_per_slot" in x:
            assert x["bytes_per_slot"] > 0 and x["bytes_written_per_step"] > 0, b["name"]


def test_report_writes_plots(smoke_report):
    out, _ = smoke_report
    pytest.importorskip("matplotlib")
    for png in ("throughput.png", "cost_per_step.png"):
        assert (out / png).stat().st_size > 1000, png


def test_cost_fit_recovers_overhead_and_per_env_cost():
    n = np.array([1, 4, 16, 64, 256, 1024, 4096])
    a, b = 5e-6, 20e-9
    fa, fb = cost_model.fit(n, a + b * n)
    assert fa == pytest.approx(a, rel=1e-6) and fb == pytest.approx(b, rel=1e-6)
    d = cost_model.describe(list(n) + [65536], list(a + b * n) + [2 * (a + b * 65536)])
    assert d["n_half"] == pytest.approx(a / b, rel=1e-6)
    assert d["large_n_ratio"] == pytest.approx(2.0, rel=1e-6)
    with pytest.raises(ValueError):
        cost_model.fit([64, 64], [1e-3, 1e-3])


def test_footprint_counts_each_buffer_once():
    class Fake:
        pass

    env = Fake()
    env.obs = np.zeros((10, 3), np.int64)  # 240 B
    env.view = env.obs.T  # a view: not counted again
    env.info = {"episode_index": np.zeros(10, np.int64)}  # 80 B, inside a dict
    env.tables = [np.zeros(7, np.int8)]  # 7 B, inside a list
    env.scalar = 3
    assert footprint.total_bytes(env) == 240 + 80 + 7


def test_footprint_per_slot_is_exact_for_a_real_env():
    per_slot, fixed = footprint.slot_bytes("vanilla", 8, 24)
    env = fastmeta.make("vanilla", num_envs=8)
    assert per_slot * 8 + fixed == footprint.total_bytes(env)
    assert per_slot >= 3 * 8 * 2 + 8  # obs and final_obs (3 int64 each) and the reward at least


def test_training_curves_time_to_target(tmp_path):
    (tmp_path / "dream").mkdir()
    (tmp_path / "dream" / "run-a.csv").write_text(
        "elapsed_s,env_steps,test_return\n60,1000,0.1\n120,2000,0.8\n180,3000,0.7\n"
    )
    (tmp_path / "first_explore").mkdir()
    (tmp_path / "first_explore" / "evaluations.csv").write_text(
        "update,elapsed_s,env_steps,k,eval_return\n1,30,10,2,1.0\n2,90,20,2,9.5\n3,150,30,2,10\n"
    )
    (tmp_path / "first_explore" / "notes.csv").write_text("a,b\n1,2\n")  # not a curve: ignored
    (tmp_path / "comparison").mkdir()  # not a learner: ignored
    (tmp_path / "comparison" / "all.csv").write_text("elapsed_s,env_steps,test_return\n1,1,1\n")
    runs = {r["learner"]: r for r in training_curves.time_to_target(tmp_path)}
    assert runs["dream"]["minutes"] == pytest.approx(2.0) and runs["dream"]["env_steps"] == 2000
    assert runs["dream"]["minutes_rel"] == pytest.approx(2.0)  # 0.8 is the best
    assert runs["first_explore"]["minutes"] is None  # no absolute target
    assert runs["first_explore"]["minutes_rel"] == pytest.approx(1.5)  # 9.5 >= 90% of 10
    assert len(runs) == 2
    (tmp_path / "dream" / "copy.csv").write_text((tmp_path / "dream" / "run-a.csv").read_text())
    assert len(training_curves.time_to_target(tmp_path)) == 2  # the same curve counts once


def _fastmeta_command() -> list[str]:
    """The installed console script next to this interpreter, else the module it runs."""
    script = Path(sys.executable).with_name("fastmeta")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "fastmeta.cli"]


def test_fastmeta_bench_runs_from_any_directory(tmp_path):
    """`fastmeta bench` from a directory outside the checkout, whose own pytest configuration and
    conftest.py would break the run if the suite picked them up: the report lands in
    ./fastmeta-bench/ there. PYTHONPATH is cleared, so nothing of the checkout is on the path
    but the installed package."""
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    (cwd / "pytest.ini").write_text("[pytest]\naddopts = --this-option-does-not-exist\n")
    (cwd / "conftest.py").write_text("raise RuntimeError('a project conftest was loaded')\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(FASTMETA_BENCH_SMOKE="1", PYTEST_ADDOPTS="--this-option-does-not-exist-either")
    cmd = _fastmeta_command() + ["bench", "--quick", "-k", "test_steps_random and vanilla"]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = cwd / "fastmeta-bench" / "report.md"
    assert report.is_file() and (cwd / "fastmeta-bench" / "results.json").is_file()
    text = report.read_text()
    assert "## Env steps per second" in text and "| `vanilla` |" in text
    assert sorted(p.name for p in cwd.iterdir()) == ["conftest.py", "fastmeta-bench", "pytest.ini"]


def test_report_skips_time_to_target_without_results(tmp_path, smoke_report):
    """An installed package has no results/: the table is skipped with its reason."""
    out, _ = smoke_report
    text = write_report(out / "results.json", tmp_path, results_dir=None)
    section = text.split("### Time to target return")[1].split("\n## ")[0]
    assert "Skipped: no results directory" in section and "|" not in section
