"""The learner-scaling benchmark (fastmeta.bench.learner_scaling): one tiny in-process compute
bound, the command lines it runs, and the report it writes from its results (no timings are
checked: they depend on the machine and its load)."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from fastmeta.bench import learner_scaling as ls  # noqa: E402
from fastmeta.bench.compute import cpu_count, cpu_features  # noqa: E402

PEAK = {"fp32": {"1": 50.0, "2": 95.0}, "bf16": {"1": 1.5, "2": 2.9}}
ROW_KEYS = {
    "workload",
    "precision",
    "step",
    "batch_size",
    "flops",
    "seconds_per_step",
    "steps_per_s",
    "gflops",
    "fraction_of_fp32_peak_1t",
    "fraction_of_own_peak_1t",
    "seconds_at_fp32_peak",
    "other_cores",
}


@pytest.fixture(scope="module")
def bound_row():
    peak_1t = {p: PEAK[p]["1"] for p in PEAK}
    return ls.compute_bound_row(
        ls.WORKLOADS["dream-paper"],
        "fp32",
        peak_1t,
        min_time=0.05,
        dream_act_steps=40,
    )


def test_compute_bound_row_has_the_step_counted_and_timed(bound_row):
    assert ROW_KEYS <= set(bound_row)
    assert bound_row["workload"] == "dream-paper" and bound_row["precision"] == "fp32"
    assert bound_row["flops"] > 0 and bound_row["seconds_per_step"] > 0
    assert bound_row["gflops"] == pytest.approx(
        bound_row["flops"] / bound_row["seconds_per_step"] / 1e9
    )
    assert bound_row["fraction_of_fp32_peak_1t"] == pytest.approx(bound_row["gflops"] / 50.0)
    assert bound_row["batch_size"] == 32


def test_split_row_without_ranks(bound_row):
    row = ls.split_row(
        ls.WORKLOADS["dream-paper"], bound_row, min_time=0.05, dream_act_steps=40, two_ranks=False
    )
    assert row["batch_size"] == 32 and row["seconds_per_step_half_batch"] > 0
    assert row["seconds_per_step_2_ranks"] is None and row["speedup_2_ranks"] is None


def test_cli_args_name_the_configuration():
    w = ls.WORKLOADS["dream-paper"]
    args = ls.cli_args(w, 6000, "bf16", 2, 1, "/tmp/x")
    joined = " ".join(args)
    assert args[:2] == ["train", "dream"]
    assert "--nproc 2" in joined and "--threads 1" in joined and "--precision bf16" in joined
    assert "--max-env-steps 6000" in joined and "-b fastmeta.num_envs=2" in joined
    fe = ls.cli_args(ls.WORKLOADS["first-explore"], 12, "fp32", 1, 2, "/tmp/x")
    assert fe[:2] == ["train", "first-explore"] and "total_updates=12" in fe


def test_parse_summary_takes_the_last_json_line():
    out = 'noise\n{"env_steps": 10, "updates_per_s": 2.0}\n'
    assert ls.parse_summary(out) == {"env_steps": 10, "updates_per_s": 2.0}
    assert ls.parse_summary("no summary\n") is None


def _run_row(precision, config, budget, env_rate, update_rate, role=""):
    n, t = (int(x) for x in config.split("x"))
    return {
        "workload": "dream-paper",
        "config": config,
        "processes": n,
        "threads": t,
        "precision": precision,
        "budget": budget,
        "budget_unit": "env steps",
        "role": role,
        "env_steps": budget,
        "gradient_steps": 100,
        "env_steps_per_s": env_rate,
        "updates_per_s": update_rate,
        "elapsed_s": budget / env_rate,
        "wall_s": budget / env_rate,
        "process_wall_s": budget / env_rate + 4,
        "load_before": [0.1, 0.1, 0.1],
        "load_after": [0.9, 0.5, 0.2],
    }


def test_report_from_results(tmp_path, bound_row):
    rows = ls.add_speedups(
        [
            _run_row("fp32", "1x1", 6000, 500.0, 20.0),
            _run_row("fp32", "1x2", 6000, 550.0, 22.0),
            _run_row("fp32", "2x1", 6000, 900.0, 36.0),
            _run_row("fp32", "1x1", 1500, 400.0, 10.0, "reference for bf16"),
            _run_row("bf16", "1x1", 1500, 100.0, 2.5),
            {**_run_row("bf16", "2x1", 1500, 1.0, 1.0), "error": "a rank failed"},
        ]
    )
    assert rows[2]["speedup_env_steps"] == pytest.approx(1.8)
    assert rows[4]["speedup_env_steps"] == pytest.approx(0.25)  # against the 1500 reference
    assert rows[5]["speedup_env_steps"] is None
    results = {
        "command": ls.COMMAND,
        "quick": False,
        "date": "today",
        "torch": torch.__version__,
        "python": "3",
        "cpu": cpu_features(),
        "cores_available": cpu_count(),
        "load_at_start": [0.1, 0.1, 0.1],
        "matmul_peak_gflops": PEAK,
        "compute_bound": [bound_row],
        "split_step": [
            {
                "workload": "dream-paper",
                "batch_size": 32,
                "seconds_per_step": 0.04,
                "seconds_per_step_half_batch": 0.025,
                "seconds_per_step_2_ranks": 0.03,
                "speedup_half_batch": 1.6,
                "speedup_2_ranks": 1.33,
                "collectives_seconds_per_step": 0.005,
            }
        ],
        "matmul_fp32_2_processes_gflops": [48.0, 47.0],
        "scaling": {"dream-paper": rows},
        "budget_notes": ["a note"],
    }
    text = ls.render_readme(results)
    json.dumps(results)  # all of it serializes
    assert ls.COMMAND in text
    for heading in ("## Machine", "## Compute bound", "## Process scaling", "## Reading"):
        assert heading in text
    assert "| fp32 | 2 x 1 | 6,000 |" in text and "1.80x" in text
    assert "failed" in text and "a note" in text
    assert "met (1.80x, target 1.7x)" in text
    assert "| 1.33x | 5.0 |" in text  # the split step's table


def test_a_gradient_step_on_two_ranks_is_timed():
    seconds = ls.two_rank_step(ls.WORKLOADS["dream-paper"], 32, calls=1, act_steps=40)
    assert seconds is not None and seconds > 0
