"""The learners' compute bound, and how their training speed scales over processes, threads and
precision on this machine.

Three parts, measured in one run:

1. The machine: `cpu_features()`, the matmul peak (GFLOP/s) at 1 and 2 threads in fp32 and
   bf16 (fastmeta.bench.compute), and the fp32 peak of 2 one-thread processes at once.
2. The compute bound of each learner, in this process on one thread: the FLOPs of one gradient
   step (DREAM: one explore_update + one exploit_update, replay sampling and optimizer steps
   included in the time; First-Explore: the forward and backward of one batch, the rollout that
   collects it excluded), the seconds per step, the achieved GFLOP/s and its share of the
   1-thread matmul peak, in fp32 and in bf16 (the learners' own `fastmeta.precision`). Then the
   fp32 step split over 2 processes: on half the batch in one process, and on 2 gloo ranks.
3. Process scaling: whole training runs through the command line (`fastmeta train ...`), each
   in a temporary directory, with the same global config in every configuration: 1 process x 1
   thread, 1 process x 2 threads and 2 data-parallel processes x 1 thread, in fp32; and 1 x 1
   and 2 x 1 in bf16 (on a smaller budget where bf16 is slow, with an fp32 1 x 1 run on that
   same budget to compare with).

    python -m fastmeta.bench.learner_scaling --out results/learner_scaling

writes `<out>/README.md` (tables and a reading of them) and `<out>/results.json` (every
number); progress goes to stderr. Before each measurement it waits (up to `--wait` seconds)
for other processes to leave the cores, and it records the cores they used during each one.
`--quick` runs tiny budgets (a smoke test, not a measurement); `--workloads` picks some of
dream-fast, dream-paper, first-explore; `--report-only` rewrites README.md from results.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import fastmeta
from fastmeta.agents.common.distributed import Dist
from fastmeta.agents.common.env_sizes import net_sizes
from fastmeta.agents.dream import config as dream_config
from fastmeta.agents.dream.learner import DreamLearner
from fastmeta.agents.first_explore import train as fe_train
from fastmeta.agents.first_explore.learner import Learner as FirstExploreLearner
from fastmeta.bench.compute import (
    achieved,
    count_flops,
    cpu_count,
    cpu_features,
    matmul_peak,
    num_threads,
)

COMMAND = "python -m fastmeta.bench.learner_scaling --out results/learner_scaling"
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
#: matmul shape of the peak: many rows, 128 in, 512 out (the learners' layer widths)
PEAK_SHAPE = (12800, 128, 512)
#: (processes, threads per process) of the process-scaling configurations, per precision
CONFIGS = {"fp32": ((1, 1), (1, 2), (2, 1)), "bf16": ((1, 1), (2, 1))}
#: --quick runs fewer of them
QUICK_CONFIGS = {"fp32": ((1, 1), (2, 1)), "bf16": ((1, 1),)}

# evaluation once at the start and once at the end, small; no checkpoints, no TensorBoard
DREAM_QUIET = [
    "fastmeta.eval_every=1000000",
    "fastmeta.eval_meta_episodes=4",
    "fastmeta.checkpoint_every=100000000",
    "fastmeta.tensorboard=false",
    "fastmeta.gif_meta_episodes=0",
]
FE_QUIET = [
    "eval_every=1000000",
    "checkpoint_every=1000000",
    "tensorboard=false",
    "eval_lifetimes=8",
]


@dataclasses.dataclass(frozen=True)
class Workload:
    """One learner configuration: how to build its gradient step in this process, and how to
    train it from the command line."""

    name: str
    label: str
    learner: str  # "dream" | "first-explore"
    preset: str
    env: str
    bindings: tuple  # the config's -b bindings, in-process and on the command line
    budget_unit: str  # "env steps" (DREAM: --max-env-steps) | "updates" (total_updates)
    budgets: dict  # precision -> budget of a process-scaling run
    quick_budgets: dict
    note: str = ""
    num_envs: int = 0  # the global env slots of a DREAM run (0: not DREAM)


# the paper preset waits for 500 instruction / 8000 exploration episodes in the replays before
# its first gradient step: 64 each here, so that a short run measures the learner
PAPER_BINDINGS = (
    "fastmeta.num_envs=2",
    "instruction_agent.min_buffer_size=64",
    "exploration_agent.min_buffer_size=64",
)

WORKLOADS = {
    w.name: w
    for w in (
        Workload(
            "dream-fast",
            "DREAM fast preset (distraction)",
            "dream",
            "fast",
            "distraction",
            (),
            "env steps",
            {"fp32": 40_000, "bf16": 10_000},
            {"fp32": 3_000, "bf16": 3_000},
            "64 env slots, batch 64, one gradient step per agent every 48 of its steps",
            64,
        ),
        Workload(
            "dream-paper",
            "DREAM paper preset (distraction)",
            "dream",
            "paper",
            "distraction",
            PAPER_BINDINGS,
            "env steps",
            {"fp32": 4_000, "bf16": 1_500},
            {"fp32": 1_000, "bf16": 1_000},
            "num_envs=2 (the preset has 1), min_buffer_size=64 for both agents (the preset "
            "waits for 500 / 8000 episodes), batch 32, a gradient step every 4 of an agent's "
            "steps",
            2,
        ),
        Workload(
            "first-explore",
            "First-Explore paper preset (bandit)",
            "first-explore",
            "paper",
            "bandit",
            (),
            "updates",
            {"fp32": 10, "bf16": 2},
            {"fp32": 1, "bf16": 1},
            "the original's model (3 layers, 128 wide, MLP 512), batch 128 lifetimes of 99 "
            "explore pulls + 100 exploit predictions",
        ),
    )
}
#: in --quick, First-Explore's batch is this small (it says so)
QUICK_FE_BATCH = 16


def log(message: str) -> None:
    print(f"[learner_scaling {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load() -> list:
    """The 1, 5 and 15-minute load averages (empty where the OS does not say)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return []


def cpu_mark() -> tuple | None:
    """(time, CPU seconds every process on the machine has run, of them stolen by the host,
    CPU seconds this process and its finished children have run), or None off Linux."""
    try:
        ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    hz = os.sysconf("SC_CLK_TCK")
    busy = (ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6]) / hz  # user nice system irq
    steal = (ticks[7] if len(ticks) > 7 else 0) / hz
    own = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        own += usage.ru_utime + usage.ru_stime
    return time.perf_counter(), busy, steal, own


def other_load(before: tuple | None, after: tuple | None) -> dict:
    """The cores other processes kept busy between two cpu_marks (the machine's busy CPU
    seconds less this process's and its children's, per second), and the host's steal."""
    if before is None or after is None or after[0] <= before[0]:
        return {"other_cores": None, "steal_cores": None}
    seconds = after[0] - before[0]
    other = (after[1] - before[1]) - (after[3] - before[3])
    return {
        "other_cores": round(max(0.0, other / seconds), 3),
        "steal_cores": round((after[2] - before[2]) / seconds, 3),
    }


def wait_for_quiet(max_wait: float, threshold: float = 0.3) -> float | None:
    """Wait (at most `max_wait` seconds) until other processes use under `threshold` cores
    over a second; the last such reading."""
    waited, other = 0.0, None
    while True:
        before = cpu_mark()
        time.sleep(1.0)
        other = other_load(before, cpu_mark())["other_cores"]
        if other is None or other < threshold or waited >= max_wait:
            return other
        if waited == 0:
            log(f"other processes use {other:.2f} cores: waiting up to {max_wait:.0f} s")
        waited += 1.0


# -- 1. the machine ---------------------------------------------------------------------------
def peaks(min_time: float) -> dict:
    """{precision: {threads: GFLOP/s}} of the (12800x128) @ (128x512) matmul at 1 and 2
    threads."""
    m, k, n = PEAK_SHAPE
    return {
        name: {
            str(t): matmul_peak(dtype, threads=t, m=m, k=k, n=n, min_time=min_time) for t in (1, 2)
        }
        for name, dtype in DTYPES.items()
    }


_PEAK_CHILD = """
import sys, time
import torch
from fastmeta.bench.compute import matmul_peak
start, min_time = float(sys.argv[1]), float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
print(matmul_peak(torch.float32, threads=1, min_time=min_time))
"""


def concurrent_peak(processes: int = 2, min_time: float = 2.0) -> list:
    """The fp32 matmul GFLOP/s of each of `processes` processes measuring at one thread at the
    same time (they start together once all have imported torch): the ceiling that compute
    alone sets on data-parallel processes here."""
    start = time.time() + 4.0
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _PEAK_CHILD, str(start), str(min_time)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    return [float(p.communicate()[0].strip().splitlines()[-1]) for p in procs]


# -- 2. compute bound in this process -----------------------------------------------------------
def dream_step(
    workload: Workload,
    precision: str,
    slots: int = 32,
    act_steps: int = 60,
    batch_size: int | None = None,
    dist: Dist | None = None,
):
    """A closure running one DREAM gradient step (explore_update + exploit_update) of
    `workload`'s config in `precision` (both agents' batch `batch_size` if given), on replays
    filled by `act_steps` vector steps of acting in `slots` env slots (the slot count only
    shapes the acting, not the gradient step). With `dist`, the step is this rank's share of a
    data-parallel one (its block of the batch, sampled from episodes of its own env seed, and
    the ranks' collectives)."""
    rank = dist.rank if dist is not None else 0
    torch.manual_seed(0)  # the same networks on every rank
    batch = (
        []
        if batch_size is None
        else [
            f"{agent}.batch_size={batch_size}"
            for agent in ("instruction_agent", "exploration_agent")
        ]
    )
    config = dream_config.resolve(
        workload.preset,
        environment=workload.env,
        bindings=[*workload.bindings, *batch, f"fastmeta.precision={precision}"],
    )
    env = fastmeta.make(
        workload.env, num_envs=slots, seed=rank, split="train", episodes_per_trial=2
    )
    lr = DreamLearner(config, net_sizes(env), slots, "cpu")
    env.reset(seed=rank)
    for _ in range(act_steps):
        lr.interact(lr.slots, env)
    if getattr(lr, "precision", precision) != precision:
        raise RuntimeError(f"the DREAM learner ignored fastmeta.precision={precision}")
    if dist is not None:
        lr.dist = lr.explore.dist = lr.exploit.dist = dist
        lr.generator.manual_seed(1_000 + rank)

    def step():
        lr.explore_update()
        lr.exploit_update()

    info = {
        "batch_size": config["exploration_agent"]["batch_size"],
        "replay_episodes": [len(lr.explore_replay), len(lr.exploit_replay)],
    }
    return step, info


def first_explore_step(
    workload: Workload, precision: str, batch_size: int = 128, dist: Dist | None = None
):
    """A closure running First-Explore's forward and backward (`learner.gradient`) on one
    collected batch of `batch_size` lifetimes, in `precision` (the rollout is not in it); with
    `dist`, its gradients are averaged over the ranks."""
    config = fe_train.resolve_args(
        workload.env,
        workload.preset,
        [*workload.bindings, f"precision={precision}", f"batch_size={batch_size}"],
    )
    learner = FirstExploreLearner(config)
    batch = learner.collect()
    if dist is not None:
        learner.dist = dist

    def step():
        learner.gradient(batch)

    return step, {"batch_size": batch_size, "env_steps_per_update": learner.env_steps_per_update}


def _two_rank_worker(rank: int, tmp: str, name: str, calls: int, batch: int, act_steps: int):
    """One of 2 ranks timing `calls` data-parallel gradient steps of workload `name` (fp32,
    1 thread); rank 0 writes the seconds per step to `tmp`/seconds."""
    torch.set_num_threads(1)
    torch.distributed.init_process_group(
        "gloo", init_method=f"file://{tmp}/rendezvous", rank=rank, world_size=2
    )
    try:
        dist, workload = Dist(rank, 2, 0, "gloo"), WORKLOADS[name]
        if workload.learner == "dream":
            step, _ = dream_step(workload, "fp32", act_steps=act_steps, batch_size=batch, dist=dist)
        else:
            step, _ = first_explore_step(workload, "fp32", batch // 2, dist=dist)
        for _ in range(2):
            step()
        torch.distributed.barrier()
        start = time.perf_counter()
        for _ in range(calls):
            step()
        torch.distributed.barrier()
        seconds = (time.perf_counter() - start) / calls
        if rank == 0:
            Path(tmp, "seconds").write_text(repr(seconds))
    finally:
        torch.distributed.destroy_process_group()


def two_rank_step(
    workload: Workload, batch: int, calls: int, act_steps: int = 60, tries: int = 2
) -> float | None:
    """Seconds per gradient step of `workload` (fp32) split over 2 processes of 1 thread, each
    on half of the global `batch`, averaging gradients over gloo (None if the ranks failed
    `tries` times)."""
    import torch.multiprocessing as mp

    for attempt in range(1, tries + 1):
        with tempfile.TemporaryDirectory(prefix="fastmeta-2ranks-") as tmp:
            try:
                mp.start_processes(
                    _two_rank_worker,
                    args=(tmp, workload.name, calls, batch, act_steps),
                    nprocs=2,
                    start_method="spawn",
                )
                return float(Path(tmp, "seconds").read_text())
            except (mp.ProcessRaisedException, mp.ProcessExitedException, OSError) as err:
                log(f"2-rank step of {workload.name}, try {attempt}: {type(err).__name__}: {err}")
    return None


def compute_bound_row(
    workload: Workload,
    precision: str,
    peak_1t: dict,
    min_time: float = 1.0,
    fe_batch: int = 128,
    dream_act_steps: int = 60,
) -> dict:
    """FLOPs, seconds and GFLOP/s of one gradient step of `workload` in `precision`, on one
    thread, against the 1-thread matmul peaks `peak_1t` ({precision: GFLOP/s})."""
    with num_threads(1):
        if workload.learner == "dream":
            step, info = dream_step(workload, precision, act_steps=dream_act_steps)
            what = "explore_update + exploit_update"
        else:
            step, info = first_explore_step(workload, precision, fe_batch)
            what = "gradient(batch): forward + backward, rollout excluded"
        start = time.perf_counter()
        flops = count_flops(step)  # also a warm-up call
        counted_s = time.perf_counter() - start
        # a step of several seconds (bf16 emulated): the counting call was its warm-up
        warmup = 0 if counted_s > 3 * min_time else 1
        mark = cpu_mark()
        result = achieved(step, flops=flops, min_time=min_time, warmup=warmup)
        others = other_load(mark, cpu_mark())
    at_peak = flops / (peak_1t["fp32"] * 1e9)
    return {
        "workload": workload.name,
        "precision": precision,
        "step": what,
        **info,
        "flops": result["flops"],
        "seconds_per_step": result["seconds_per_call"],
        "steps_per_s": 1.0 / result["seconds_per_call"],
        "gflops": result["gflops"],
        "fraction_of_fp32_peak_1t": result["gflops"] / peak_1t["fp32"],
        "fraction_of_own_peak_1t": result["gflops"] / peak_1t[precision],
        "seconds_at_fp32_peak": at_peak,
        **others,
    }


def split_row(
    workload: Workload,
    bound: dict,
    min_time: float = 1.0,
    dream_act_steps: int = 60,
    two_ranks: bool = True,
) -> dict:
    """What splitting `workload`'s fp32 gradient step (its compute-bound row `bound`) over 2
    processes of 1 thread gives the step alone: the seconds of a step on half the batch in this
    process (compute only), and of a real 2-rank step (half the batch each, gloo collectives);
    each with its speed-up over the whole step in one process."""
    b = bound["batch_size"]
    with num_threads(1):
        if workload.learner == "dream":
            step, _ = dream_step(workload, "fp32", act_steps=dream_act_steps, batch_size=b // 2)
        else:
            step, _ = first_explore_step(workload, "fp32", b // 2)
        half = achieved(step, flops=0, min_time=min_time, warmup=2)["seconds_per_call"]
    two = None
    if two_ranks:
        calls = max(3, math.ceil(min_time / half))
        two = two_rank_step(workload, b, calls, dream_act_steps)
    full = bound["seconds_per_step"]
    return {
        "workload": workload.name,
        "batch_size": b,
        "seconds_per_step": full,
        "seconds_per_step_half_batch": half,
        "seconds_per_step_2_ranks": two,
        "speedup_half_batch": _ratio(full, half),
        "speedup_2_ranks": _ratio(full, two),
        "collectives_seconds_per_step": None if two is None else two - half,
    }


# -- 3. process scaling through the command line ------------------------------------------------
def cli_args(workload: Workload, budget: int, precision: str, nproc: int, threads: int, out):
    """The `python -m fastmeta ...` arguments of one run."""
    if workload.learner == "dream":
        quiet, budget_args = DREAM_QUIET, ["--max-env-steps", str(budget)]
    else:
        quiet, budget_args = FE_QUIET, ["-b", f"total_updates={budget}"]
    bindings = [x for b in (*quiet, *workload.bindings) for x in ("-b", b)]
    return [
        "train",
        workload.learner,
        "--env",
        workload.env,
        "--preset",
        workload.preset,
        *bindings,
        *budget_args,
        "--threads",
        str(threads),
        "--nproc",
        str(nproc),
        "--precision",
        precision,
        "--out",
        str(out),
        "--force",
        "--no-progress",
        "run",
    ]


def parse_summary(stdout: str) -> dict | None:
    """The JSON summary a training run prints last on stdout (None if there is none)."""
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                summary = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(summary, dict) and "env_steps" in summary:
                return summary
    return None


def run_training(
    workload: Workload,
    budget: int,
    precision: str,
    nproc: int,
    threads: int,
    extra_bindings=(),
    timeout: float = 900,
    max_wait: float = 0.0,
) -> dict:
    """Train `workload` once through the command line in a temporary directory (after waiting
    up to `max_wait` seconds for the other processes to quiet down); the run's numbers (or its
    error), with the cores other processes used meanwhile."""
    wait_for_quiet(max_wait)
    row = {
        "workload": workload.name,
        "config": f"{nproc}x{threads}",
        "processes": nproc,
        "threads": threads,
        "precision": precision,
        "budget": budget,
        "budget_unit": workload.budget_unit,
        "load_before": load(),
    }
    env = dict(os.environ)
    package_root = str(Path(fastmeta.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    with tempfile.TemporaryDirectory(prefix="fastmeta-scaling-") as tmp:
        args = cli_args(workload, budget, precision, nproc, threads, tmp)
        for b in extra_bindings:
            args[2:2] = ["-b", b]
        start, mark = time.perf_counter(), cpu_mark()
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "fastmeta", *args],
                capture_output=True,
                text=True,
                env=env,
                timeout=timeout,
            )
            out, err, rc = proc.stdout, proc.stderr, proc.returncode
        except subprocess.TimeoutExpired as e:
            out, err, rc = e.stdout or "", f"timed out after {timeout} s", -1
            out = out.decode() if isinstance(out, bytes) else out
        row["process_wall_s"] = time.perf_counter() - start
        row.update(other_load(mark, cpu_mark()))
    row["load_after"] = load()
    summary = parse_summary(out) if rc == 0 else None
    if summary is None:
        row["error"] = (err or out)[-2000:]
        return row
    gradient_steps = summary.get("gradient_steps", summary.get("updates", 0))
    row.update(
        env_steps=summary["env_steps"],
        gradient_steps=gradient_steps,
        env_steps_per_s=summary["env_steps_per_s"],
        updates_per_s=summary["updates_per_s"],
        elapsed_s=summary.get("elapsed_s"),
        wall_s=summary.get("wall_s_this_run"),
        ranks=summary.get("ranks", nproc),
    )
    return row


def _ratio(a, b):
    return a / b if a is not None and b else None


def scaling(
    workload: Workload,
    budgets: dict,
    precisions,
    extra_bindings=(),
    configs=CONFIGS,
    max_wait: float = 0.0,
) -> list:
    """The process-scaling runs of `workload`: its fp32 configurations on budgets["fp32"], its
    bf16 ones on budgets["bf16"] (with an fp32 1 x 1 run on that budget, if it differs), each
    with its speed-up against the fp32 1 x 1 run on the same budget."""
    plan = [("fp32", budgets["fp32"], n, t, "") for n, t in configs["fp32"]]
    if "bf16" in precisions:
        if budgets["bf16"] != budgets["fp32"]:
            plan.append(("fp32", budgets["bf16"], 1, 1, "reference for bf16"))
        plan += [("bf16", budgets["bf16"], n, t, "") for n, t in configs["bf16"]]
    rows = []
    for precision, budget, nproc, threads, role in plan:
        row = run_training(
            workload, budget, precision, nproc, threads, extra_bindings, max_wait=max_wait
        )
        row["role"] = role
        rows.append(row)
        if "error" in row:
            log(f"{workload.name} {precision} {nproc}x{threads} budget {budget}: FAILED")
            log(row["error"][-500:])
        else:
            log(
                f"{workload.name} {precision} {nproc}x{threads} budget {budget}: "
                f"{row['env_steps_per_s']:,.0f} env steps/s, {row['updates_per_s']:.2f} "
                f"gradient steps/s, {row['wall_s']:.1f} s (process {row['process_wall_s']:.1f} s)"
                f", other processes {row['other_cores']} cores"
            )
    return add_speedups(rows)


def add_speedups(rows: list) -> list:
    """Set each row's speed-ups (env steps/s, gradient steps/s) against the fp32 1 x 1 row on
    the same budget (None where that or the row itself failed)."""
    for row in rows:
        base = next(
            (
                r
                for r in rows
                if r["precision"] == "fp32"
                and r["config"] == "1x1"
                and r["budget"] == row["budget"]
                and "error" not in r
            ),
            None,
        )
        ok = base is not None and "error" not in row
        row["speedup_env_steps"] = (
            _ratio(row["env_steps_per_s"], base["env_steps_per_s"]) if ok else None
        )
        row["speedup_updates"] = _ratio(row["updates_per_s"], base["updates_per_s"]) if ok else None
    return rows


def learner_share(row: dict, bound: dict | None) -> float | None:
    """The share of a 1 x 1 run's loop time its gradient steps take, at the in-process time per
    step (a DREAM step of the bound is two gradient steps, one per agent)."""
    if bound is None or "error" in row or not row.get("elapsed_s"):
        return None
    per_gradient_step = bound["seconds_per_step"]
    if bound["workload"].startswith("dream"):
        per_gradient_step /= 2
    return row["gradient_steps"] * per_gradient_step / row["elapsed_s"]


# -- the report ---------------------------------------------------------------------------------
def _yes(value) -> str:
    return "yes" if value else "no"


def _num(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def _ms(seconds) -> str:
    return "-" if seconds is None else _num(seconds * 1e3)


def _x(value) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _pct(value) -> str:
    return "-" if value is None else f"{value:.0%}"


def _verdict(value, target) -> str:
    if value is None:
        return "not measured"
    return ("met" if value >= target else "not met") + f" ({value:.2f}x, target {target}x)"


def _find(rows, precision, config, reference=False):
    for r in rows:
        if (
            "error" not in r
            and r["precision"] == precision
            and r["config"] == config
            and bool(r.get("role")) == reference
        ):
            return r
    return None


def reading(results: dict) -> list:
    """The short reading under the tables: the targets, whether they were met, and why not."""
    cpu, peak = results["cpu"], results["matmul_peak_gflops"]
    bounds = {(r["workload"], r["precision"]): r for r in results["compute_bound"]}
    splits = {r["workload"]: r for r in results.get("split_step", [])}
    lines = [
        "Targets: 2 processes at 1 thread each at least 1.7x one process at 1 thread (fp32); "
        "with bf16, where the CPU has it, at least 3x one fp32 process.",
        "",
    ]
    for name, rows in results["scaling"].items():
        w = WORKLOADS[name]
        two, one = _find(rows, "fp32", "2x1"), _find(rows, "fp32", "1x1")
        threads2, bf_two = _find(rows, "fp32", "1x2"), _find(rows, "bf16", "2x1")
        text = f"- **{w.label}**: 2 processes: {_verdict(two and two['speedup_env_steps'], 1.7)}"
        if threads2 is not None:
            text += f"; 2 threads in one process: {_x(threads2['speedup_env_steps'])}"
        share = learner_share(one, bounds.get((name, "fp32"))) if one else None
        if share is not None:
            text += (
                f". Its gradient steps take about {share:.0%} of the 1 x 1 run's loop (at the "
                "in-process time per step); the rest is acting, env steps and "
                + ("the rollout" if w.learner == "first-explore" else "replay writes")
                + ": on 2 processes each rank does that for half the env slots, which helps only"
                " as far as its cost falls with the number of slots"
            )
        split = splits.get(name)
        if split is not None and split["speedup_2_ranks"] is not None:
            text += (
                f". The step alone: half the batch is {_x(split['speedup_half_batch'])} faster "
                f"in one process, a real 2-rank step {_x(split['speedup_2_ranks'])} "
                f"({_ms(split['collectives_seconds_per_step'])} ms per step more than half the "
                "batch: the ranks meet in "
                + (
                    "each agent's masked-mean counts and gradient all-reduce"
                    if w.learner == "dream"
                    else "one gradient all-reduce"
                )
                + ")"
            )
        if w.learner == "dream":
            text += (
                f"; and the DREAM loop gathers counters from the ranks at every vector step "
                f"(every {w.num_envs} env steps here)"
            )
        text += (
            f". bf16 on 2 processes vs fp32 on one: "
            f"{_verdict(bf_two and bf_two['speedup_env_steps'], 3)}."
        )
        lines.append(text)
    lines.append("")
    two_procs = results.get("matmul_fp32_2_processes_gflops")
    if two_procs:
        lines.append(
            "The machine's own ceiling: two processes doing nothing but fp32 matmuls at 1 "
            f"thread each, at the same time, reach {sum(two_procs) / peak['fp32']['1']:.2f}x "
            f"the 1-thread peak together ({' + '.join(_num(g) for g in two_procs)} GFLOP/s); "
            f"one process at 2 threads, {peak['fp32']['2'] / peak['fp32']['1']:.2f}x. "
            + (
                "So the cores themselves allow the target; what the learners lose is in their "
                "own per-step costs and the ranks' synchronization, as above."
                if sum(two_procs) / peak["fp32"]["1"] >= 1.7
                else "So on this machine even pure compute falls short of the 1.7x target."
            )
        )
        lines.append("")
    ratio_1t = peak["bf16"]["1"] / peak["fp32"]["1"]
    if cpu["bf16_hw"]:
        lines.append(
            f"This CPU has bf16 in hardware; its bf16 matmul peak is {ratio_1t:.1f}x its fp32 "
            "peak on 1 thread."
        )
    else:
        lines.append(
            "This CPU has no bf16 in hardware (no AVX-512 BF16, no AMX): bf16 is emulated, "
            f"its matmul peak is {ratio_1t:.2f}x the fp32 one ({_num(peak['bf16']['1'])} vs "
            f"{_num(peak['fp32']['1'])} GFLOP/s on 1 thread), and the bf16 LSTMs run on "
            "torch's own kernels instead of oneDNN's. So the bf16 target cannot be met here; the"
            " bf16 rows measure the emulation's cost, not what bf16 hardware would give."
        )
    lines.append("")
    lines.append(
        "Two processes on this 2-core machine share the cores with anything else running (the "
        "cores other processes used during each run are in the tables); the processes' "
        "start-up (torchrun, imports) is in the process seconds but not in the rates, which "
        "the runs measure over their training loop."
    )
    return lines


def render_readme(results: dict) -> str:
    cpu, peak = results["cpu"], results["matmul_peak_gflops"]
    m, k, n = PEAK_SHAPE
    lines = [
        "# Learner scaling: compute bound, processes, threads, precision",
        "",
        f"`{results['command']}`"
        + (" (quick: tiny budgets, not a measurement)" if results["quick"] else ""),
        "",
        f"Measured {results['date']} with torch {results['torch']}, Python {results['python']}"
        f" (fastmeta/bench/learner_scaling.py).",
        "",
        "## Machine",
        "",
        "| CPU | |",
        "|---|---|",
        f"| model | {cpu['model']} |",
        f"| logical cores | {cpu['logical_cores']} (this process: {results['cores_available']}) |",
        "| AVX2 / AVX-512F / AVX-512 BF16 / AMX BF16 | "
        + " / ".join(_yes(cpu[f]) for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16"))
        + " |",
        f"| bf16 in hardware | {_yes(cpu['bf16_hw'])} |",
        f"| torch CPU capability | {cpu['torch_capability']} |",
        f"| load average at start (1/5/15 min) | {results['load_at_start']} |",
        "",
        f"| matmul ({m}x{k}) @ ({k}x{n}), GFLOP/s | 1 thread | 2 threads |",
        "|---|---|---|",
    ]
    for precision, by_threads in peak.items():
        lines.append(f"| {precision} | {_num(by_threads['1'])} | {_num(by_threads['2'])} |")
    two_procs = results.get("matmul_fp32_2_processes_gflops")
    if two_procs:
        lines += [
            "",
            "fp32, 2 processes at 1 thread each, measuring at the same time: "
            f"{' + '.join(_num(g) for g in two_procs)} = {_num(sum(two_procs))} GFLOP/s "
            f"({sum(two_procs) / peak['fp32']['1']:.2f}x the 1-thread peak).",
        ]
    lines += [
        "",
        "## Compute bound per learner (in-process, 1 thread)",
        "",
        "One gradient step: DREAM = one explore_update + one exploit_update (replay sampling "
        "and the optimizer steps are in the time, and count no FLOPs); First-Explore = "
        "`gradient(batch)`, the forward and backward of one batch (the KV-cached rollout that "
        "collects the batch is excluded). FLOPs by torch's FlopCounterMode (matmuls; the LSTMs "
        "counted through torch's own kernels). bf16 is the learners' `fastmeta.precision=bf16` "
        "(autocast of the forward pass, fp32 weights and optimizer): only the ops autocast "
        "lowers run in bf16, the rest stay fp32, so a step can pass the bf16 matmul peak when "
        "that is far under the fp32 one. ms at fp32 peak: the step's FLOPs at the 1-thread fp32 "
        "matmul peak, the compute bound.",
        "",
        "| learner | precision | batch | MFLOP / step | ms / step | ms at fp32 peak | GFLOP/s "
        "| of 1-thread fp32 peak | of own-precision peak | other processes (cores) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["compute_bound"]:
        lines.append(
            f"| {WORKLOADS[r['workload']].label} | {r['precision']} | {r['batch_size']} "
            f"| {r['flops'] / 1e6:,.0f} | {_num(r['seconds_per_step'] * 1e3)} "
            f"| {_num(r['seconds_at_fp32_peak'] * 1e3)} | {_num(r['gflops'])} "
            f"| {_pct(r['fraction_of_fp32_peak_1t'])} | {_pct(r['fraction_of_own_peak_1t'])} "
            f"| {_num(r.get('other_cores'), 2)} |"
        )
    if results.get("split_step"):
        lines += [
            "",
            "The fp32 gradient step split over 2 processes of 1 thread (in-process, no acting): "
            "half the batch in one process is the compute a rank keeps; on 2 ranks each takes "
            "half the batch and they average gradients (and the masked losses' counts) over "
            "gloo, as in training. Speed-ups against the whole step in one process.",
            "",
            "| learner | batch | ms / step, 1 process | ms / step, half the batch "
            "| ms / step, 2 ranks | speed-up, half the batch | speed-up, 2 ranks "
            "| 2 ranks less half the batch, ms |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in results["split_step"]:
            lines.append(
                f"| {WORKLOADS[r['workload']].label} | {r['batch_size']} "
                f"| {_ms(r['seconds_per_step'])} | {_ms(r['seconds_per_step_half_batch'])} "
                f"| {_ms(r['seconds_per_step_2_ranks'])} | {_x(r['speedup_half_batch'])} "
                f"| {_x(r['speedup_2_ranks'])} | {_ms(r['collectives_seconds_per_step'])} |"
            )
    lines += [
        "",
        "## Process scaling (training runs through the command line)",
        "",
        "Each run is `python -m fastmeta train ...` in a temporary directory with the same global"
        " config in every configuration (processes x threads per process; 2 processes are "
        "data-parallel ranks through torchrun and gloo, each with half the env slots and half "
        "of each gradient step's batch). Rates are the runs' own, over their training loop; "
        "wall s is the loop's, process s the whole command's (start-up, first and last "
        "evaluation included). Speed-up: env steps/s (and gradient steps/s) against the fp32 "
        "1 x 1 run on the same budget. Evaluation: once at the start and once at the end, 4 "
        "meta-episodes (DREAM) or 8 lifetimes (First-Explore). Other processes: the cores the "
        "rest of the machine kept busy during the run (its busy CPU time less the run's own, "
        "per second, from /proc/stat); before each measurement the benchmark waits up to "
        f"{results.get('max_wait_s', 0):.0f} s for them to quiet down.",
        "",
    ]
    for name, rows in results["scaling"].items():
        w = WORKLOADS[name]
        lines += [
            f"### {w.label}",
            "",
            f"{w.note}.",
            "",
            f"| precision | processes x threads | budget ({w.budget_unit}) | env steps/s "
            "| gradient steps/s | gradient steps | wall s | process s | speed-up (env steps/s) "
            "| speed-up (gradient steps/s) | other processes (cores) |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            label = r["precision"] + (f" ({r['role']})" if r.get("role") else "")
            config = f"{r['processes']} x {r['threads']}"
            if "error" in r:
                lines.append(f"| {label} | {config} | {r['budget']:,} | failed | | | | | | | |")
                continue
            lines.append(
                f"| {label} | {config} | {r['budget']:,} | {_num(r['env_steps_per_s'])} "
                f"| {_num(r['updates_per_s'], 2)} | {r['gradient_steps']:,} | {_num(r['wall_s'])} "
                f"| {_num(r['process_wall_s'])} | {_x(r['speedup_env_steps'])} "
                f"| {_x(r['speedup_updates'])} | {_num(r.get('other_cores'), 2)} |"
            )
        lines.append("")
    if results.get("budget_notes"):
        lines += [*results["budget_notes"], ""]
    lines += ["## Reading", "", *reading(results), ""]
    return "\n".join(lines)


# -- the whole benchmark ------------------------------------------------------------------------
def run(
    out: Path,
    quick: bool = False,
    workloads=tuple(WORKLOADS),
    precisions=("fp32", "bf16"),
    scale: bool = True,
    max_wait: float = 60.0,
) -> dict:
    """Measure, write `out`/results.json and `out`/README.md, and return the results. Before
    each measurement, wait up to `max_wait` seconds for other processes to leave the cores."""
    command = COMMAND.replace("results/learner_scaling", str(out))
    if quick:
        command += " --quick"
    if tuple(workloads) != tuple(WORKLOADS):
        command += " --workloads " + ",".join(workloads)
    results = {
        "command": command,
        "quick": quick,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu": cpu_features(),
        "cores_available": cpu_count(),
        "load_at_start": load(),
        "max_wait_s": max_wait,
    }
    start = time.perf_counter()
    wait_for_quiet(max_wait)
    mark = cpu_mark()
    results["matmul_peak_gflops"] = peaks(0.2 if quick else 0.5)
    log(f"matmul peak GFLOP/s: {json.dumps(results['matmul_peak_gflops'])}")
    results["matmul_fp32_2_processes_gflops"] = concurrent_peak(2, 0.5 if quick else 2.0)
    log(f"2 processes at once, fp32, 1 thread each: {results['matmul_fp32_2_processes_gflops']}")
    results["matmul_other_load"] = other_load(mark, cpu_mark())
    peak_1t = {p: results["matmul_peak_gflops"][p]["1"] for p in DTYPES}

    results["compute_bound"] = []
    for name in workloads:
        for precision in precisions:
            wait_for_quiet(max_wait)
            row = compute_bound_row(
                WORKLOADS[name],
                precision,
                peak_1t,
                min_time=0.2 if quick else 1.0,
                fe_batch=QUICK_FE_BATCH if quick else 128,
            )
            results["compute_bound"].append(row)
            log(
                f"compute bound {name} {precision}: {row['flops'] / 1e6:,.0f} MFLOP, "
                f"{row['seconds_per_step'] * 1e3:.1f} ms/step, {row['gflops']:.1f} GFLOP/s "
                f"({row['fraction_of_fp32_peak_1t']:.0%} of the 1-thread fp32 peak), other "
                f"processes {row['other_cores']} cores"
            )

    results["split_step"] = []
    for row in results["compute_bound"]:
        if row["precision"] != "fp32":
            continue
        wait_for_quiet(max_wait)
        split = split_row(
            WORKLOADS[row["workload"]], row, 0.2 if quick else 1.0, two_ranks=not quick
        )
        results["split_step"].append(split)
        log(
            f"split step {row['workload']}: half the batch {_x(split['speedup_half_batch'])}, "
            f"2 ranks {_x(split['speedup_2_ranks'])}"
        )

    results["scaling"] = {}
    results["budget_notes"] = []
    if scale:
        for name in workloads:
            w = WORKLOADS[name]
            budgets = w.quick_budgets if quick else w.budgets
            extra = ()
            if quick and w.learner == "first-explore":
                extra = (f"batch_size={QUICK_FE_BATCH}",)
                results["budget_notes"].append(
                    f"Quick: First-Explore's batch is {QUICK_FE_BATCH} lifetimes, not 128."
                )
            configs = QUICK_CONFIGS if quick else CONFIGS
            results["scaling"][name] = scaling(w, budgets, precisions, extra, configs, max_wait)
            if "bf16" in precisions and budgets["bf16"] != budgets["fp32"]:
                results["budget_notes"].append(
                    f"{w.label}: bf16 is emulated here and slow, so its runs have a budget of "
                    f"{budgets['bf16']:,} {w.budget_unit} instead of {budgets['fp32']:,}; their "
                    "speed-ups are against an fp32 1 x 1 run on that same budget."
                )
    results["total_s"] = time.perf_counter() - start
    results["load_at_end"] = load()
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "README.md").write_text(render_readme(results))
    log(f"wrote {out / 'README.md'} and {out / 'results.json'} in {results['total_s']:.0f} s")
    return results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m fastmeta.bench.learner_scaling",
        description="Measure the learners' compute bound and their scaling over processes, "
        "threads and precision; write README.md and results.json.",
    )
    parser.add_argument("--out", default="results/learner_scaling", help="output directory")
    parser.add_argument("--quick", action="store_true", help="tiny budgets (a smoke test)")
    parser.add_argument(
        "--workloads",
        default=",".join(WORKLOADS),
        help=f"comma-separated, of {', '.join(WORKLOADS)} (default: all)",
    )
    parser.add_argument(
        "--precisions", default="fp32,bf16", help="comma-separated, of fp32, bf16 (default both)"
    )
    parser.add_argument(
        "--no-scaling", action="store_true", help="only the machine and the compute bound"
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=None,
        help="seconds to wait at most, before each measurement, for other processes to leave "
        "the cores (default 60; 0 with --quick)",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing: rewrite <out>/README.md from <out>/results.json",
    )
    args = parser.parse_args(argv)
    if args.report_only:
        out = Path(args.out)
        results = json.loads((out / "results.json").read_text())
        (out / "README.md").write_text(render_readme(results))
        return
    workloads = tuple(w for w in args.workloads.split(",") if w)
    unknown = [w for w in workloads if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {unknown}: expected some of {list(WORKLOADS)}")
    precisions = tuple(p for p in args.precisions.split(",") if p)
    if "fp32" not in precisions or any(p not in DTYPES for p in precisions):
        parser.error("--precisions must include fp32 and name only fp32, bf16")
    wait = args.wait if args.wait is not None else (0.0 if args.quick else 60.0)
    run(Path(args.out), args.quick, workloads, precisions, not args.no_scaling, wait)


if __name__ == "__main__":
    main()
