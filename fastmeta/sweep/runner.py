"""`fastmeta sweep FILE`: run a sweep file's trials on Ray Tune, then write the comparison.

    fastmeta sweep sweeps/first_explore.toml --dry-run       the trials and their commands
    fastmeta sweep sweeps/first_explore.toml                 local Ray, one trial per core
    fastmeta sweep sweeps/dream_paper.toml --address auto    an existing Ray cluster
    fastmeta sweep FILE -b fastmeta.max_env_steps=2700000    a binding for every trial

The sweep directory `<out>/<name>/` holds sweep.toml (the file as first run), trials.json (every
trial and its command), commands.txt (one command line per trial), runs/<trial>/ (ordinary experiment directories; `summary.json` marks a
finished trial), logs/<trial>.log (each attempt's output), ray/ (Tune's own records) and
comparison/<env>/. Running the same file again resumes: finished trials are not rerun, the others
continue from their checkpoints; a trial whose command changed since (another binding, budget or
resource) is refused, naming both commands; `--force` deletes the directory first.

A trial runs `python -m fastmeta train ... --resume` as a subprocess of its Tune function
trainable (which polls the run's evaluations.csv and reports env steps and the latest test
return). A trial whose process dies fails in Tune and is restarted (`resources.max_failures`):
its evaluations.csv and scalars.csv are cut back to the last checkpoint and the training resumes
from it exactly, so the curve is the one an uninterrupted run writes. The training process gets
SIGKILL when its trial's worker dies (PR_SET_PDEATHSIG on Linux); data-parallel ranks it leaves
behind are ended by the next attempt on that host (logs/<trial>.pids) before it resumes.
"""

from __future__ import annotations

import argparse
import csv
import ctypes
import io
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from fastmeta.sweep.spec import FIRST_EXPLORE, SweepError, load

INSTALL_HINT = (
    "fastmeta sweep needs Ray Tune: pip install 'fastmeta[cluster]' (or pip install 'ray[tune]')"
)
POLL_S = 1.0
LABELS = {
    "dream": "DREAM",
    "rl2": "E-RL²",
    "import": "IMPORT",
    "varibad": "VariBAD",
    FIRST_EXPLORE: "First-Explore",
    "always-exploit": "always-exploit",
}


# ---- the trial directory ----------------------------------------------------------------------
def sweep_dir_of(trial: dict) -> Path:
    return Path(trial["run_dir"]).parent.parent


def log_path(trial: dict) -> Path:
    return sweep_dir_of(trial) / "logs" / f"{trial['name']}.log"


def read_summary(run_dir: Path) -> dict | None:
    try:
        return json.loads((Path(run_dir) / "summary.json").read_text())
    except (OSError, ValueError):
        return None


def trial_state(run_dir: Path) -> str:
    """finished (summary.json), checkpoint (resumes from it), started or new."""
    run_dir = Path(run_dir)
    if read_summary(run_dir) is not None:
        return "finished"
    if (run_dir / "checkpoint.pt").exists() or (run_dir / "checkpoint.prev.pt").exists():
        return "checkpoint"
    return "started" if run_dir.exists() else "new"


def latest_evaluation(run_dir: Path) -> dict | None:
    """env_steps, test_return and the number of evaluations of the run's evaluations.csv."""
    try:
        text = (Path(run_dir) / "evaluations.csv").read_text()
    except OSError:
        return None
    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) < 2:
        return None
    header = rows[0]
    y = header.index("test_return") if "test_return" in header else header.index("eval_return")
    for row in reversed(rows[1:]):  # the last complete row
        try:
            return {
                "env_steps": int(float(row[header.index("env_steps")])),
                "test_return": float(row[y]),
                "evaluations": len(rows) - 1,
            }
        except (ValueError, IndexError):
            continue
    return None


def _checkpoint_env_steps(run_dir: Path) -> int | None:
    """The env steps of the checkpoint a resume will load (the newest readable one)."""
    import torch

    for name in ("checkpoint.pt", "checkpoint.prev.pt"):
        path = run_dir / name
        if not path.exists():
            continue
        try:
            state = torch.load(path, map_location="cpu", weights_only=False, mmap=True)
            return int(state["counters"]["env_steps"])
        except Exception:  # a damaged file: the training code falls back to the previous one
            continue
    return None


def _rewrite_csv(path: Path, keep) -> None:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return
    kept = [rows[0]] + [r for r in rows[1:] if keep(rows[0], r)]
    if len(kept) == len(rows):
        return
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        csv.writer(f).writerows(kept)
    os.replace(tmp, path)


def rewind_logs(run_dir: Path) -> int | None:
    """Cut evaluations.csv and scalars.csv back to what the checkpoint a resume loads had seen.

    A run killed after a checkpoint has logged rows the resumed run writes again. The loop
    checkpoints after a step's logging, then evaluates at the top of the next step: so the
    evaluations at or after the checkpoint's env steps S are dropped, with the scalars past S and
    those at S written from the dropped evaluation on. Without a checkpoint the run starts over
    and both files go. Returns S (None: no checkpoint)."""
    run_dir = Path(run_dir)
    evals, scalars = run_dir / "evaluations.csv", run_dir / "scalars.csv"
    steps = _checkpoint_env_steps(run_dir) if run_dir.exists() else None
    if steps is None:
        for p in (evals, scalars):
            p.unlink(missing_ok=True)
        return None
    cut = [float("inf")]  # wall_time of the first dropped evaluation at S

    def keep_eval(header, row):
        try:
            s = float(row[header.index("env_steps")])
        except (ValueError, IndexError):
            return False  # a torn last line
        if s >= steps:
            if s == steps:
                cut[0] = min(cut[0], float(row[header.index("wall_time")]))
            return False
        return True

    def keep_scalar(header, row):
        try:
            s = float(row[header.index("env_steps")])
            t = float(row[header.index("wall_time")])
        except (ValueError, IndexError):
            return False
        return s < steps or (s == steps and t < cut[0])

    if evals.exists():
        _rewrite_csv(evals, keep_eval)
    if scalars.exists():
        _rewrite_csv(scalars, keep_scalar)
    return steps


# ---- processes ------------------------------------------------------------------------------
def _die_with_parent() -> None:  # pragma: no cover  (runs in the child between fork and exec)
    """The training process gets SIGKILL when the thread that started it (the trial) dies."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _start_time(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def descendants(pid: int) -> list:
    """Every process below `pid` (Linux /proc; empty elsewhere)."""
    children: dict = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _alive(pid: int, start) -> bool:
    """`pid` is still the process that started at `start` and has not exited."""
    if start is None or _start_time(pid) != start:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _kill_all(procs, wait_s: float = 10.0) -> None:
    """SIGKILL each (pid, start time) still alive, and wait until they are gone."""
    procs = [(pid, start) for pid, start in procs if _alive(pid, start)]
    for pid, _ in procs:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    deadline = time.monotonic() + wait_s
    while any(_alive(*p) for p in procs) and time.monotonic() < deadline:
        time.sleep(0.05)


def _tree(pid: int) -> list:
    return [(p, _start_time(p)) for p in [pid, *descendants(pid)]]


def _pid_file(trial: dict) -> Path:
    return sweep_dir_of(trial) / "logs" / f"{trial['name']}.pids"


def _kill_stale(trial: dict) -> None:
    """Processes an earlier attempt of this trial left on this host (data-parallel ranks whose
    launcher died with its Ray worker) would go on writing the run: end them first."""
    path = _pid_file(trial)
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if record.get("host") == socket.gethostname():
        _kill_all([tuple(p) for p in record.get("procs", [])])
    path.unlink(missing_ok=True)


def _last_json(path: Path, offset: int) -> dict | None:
    """The last line after `offset` of the log that is a JSON object (the run's summary)."""
    with open(path, "rb") as f:
        f.seek(offset)
        lines = f.read().decode("utf-8", "replace").splitlines()
    for line in reversed(lines):
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict) and "env_steps" in value:
                return value
    return None


def _tail(path: Path, offset: int, n: int = 15) -> str:
    with open(path, "rb") as f:
        f.seek(offset)
        return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-n:])


# ---- the Tune trainable ---------------------------------------------------------------------
def trial_environment(trial: dict, base=None) -> dict:
    """The trial's process environment: Mesa's llvmpipe (the sign world's renderer on CPUs)
    starts a thread per core of the machine unless told otherwise, so it is held to the trial's
    CPUs like torch is (`--threads`). A value the user exported is kept."""
    env = dict(os.environ if base is None else base)
    env.setdefault("LP_NUM_THREADS", str(max(1, int(trial["cpus"]))))
    return env


def run_trial(config: dict) -> None:
    """Ray Tune function trainable: one trial's `fastmeta train` subprocess, polled."""
    from ray import tune

    trial = config["trial"]
    run_dir = Path(trial["run_dir"])
    summary = read_summary(run_dir)
    if summary is not None:  # finished by an earlier attempt
        tune.report({**(latest_evaluation(run_dir) or {}), "finished": True})
        return
    log = log_path(trial)
    log.parent.mkdir(parents=True, exist_ok=True)
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    _kill_stale(trial)
    resumed_at = rewind_logs(run_dir)
    cmd = [sys.executable, *trial["argv"]]
    with open(log, "ab") as f:
        offset = f.tell()
        f.write(
            f"=== {time.strftime('%Y-%m-%d %H:%M:%S')} on {socket.gethostname()}: "
            f"{'resuming at env step ' + str(resumed_at) if resumed_at is not None else 'start'}"
            # `python`, not this machine's interpreter path: the log is committed with results
            f"\n$ {shlex.join(['python', *trial['argv']])}\n".encode()
        )
        f.flush()
        proc = subprocess.Popen(
            cmd,
            stdout=f,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=sweep_dir_of(trial),
            env=trial_environment(trial),
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
    pids = _pid_file(trial)
    try:
        last, known = None, None
        while True:
            code = proc.poll()
            if code is None:  # the process tree, for the next attempt to end (_kill_stale)
                tree = _tree(proc.pid)
                if tree != known:
                    pids.write_text(json.dumps({"host": socket.gethostname(), "procs": tree}))
                    known = tree
            latest = latest_evaluation(run_dir)
            if latest is not None and latest != last:
                tune.report({**latest, "finished": False})
                last = latest
            if code is not None:
                break
            time.sleep(POLL_S)
    finally:
        if proc.poll() is None:  # the trial was stopped: take the training down with it
            _kill_all(_tree(proc.pid))
            proc.wait()
        pids.unlink(missing_ok=True)
    summary = _last_json(log, offset)
    if code != 0 or summary is None or summary.get("stopped") == "signal":
        why = f"exit code {code}" if code != 0 else "stopped before its budget"
        raise RuntimeError(
            f"trial {trial['name']}: `fastmeta train` ended with {why}; log {log}:\n"
            + _tail(log, offset)
        )
    tmp = run_dir / "summary.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2) + "\n")
    os.replace(tmp, run_dir / "summary.json")
    tune.report({**(latest_evaluation(run_dir) or {}), "finished": True})


# ---- the driver -----------------------------------------------------------------------------
def _fmt(v, spec=",") -> str:
    if v is None:
        return "-"
    return format(v, spec)


def _table(rows: list) -> str:
    """rows of (trial, status, env steps, test return) as aligned text."""
    head = ("trial", "status", "env steps", "test return")
    cells = [head] + [
        (name, status, _fmt(steps), _fmt(ret, ".3f")) for name, status, steps, ret in rows
    ]
    w = [max(len(str(r[i])) for r in cells) for i in range(4)]
    return "\n".join(
        f"{r[0]:<{w[0]}}  {r[1]:<{w[1]}}  {r[2]:>{w[2]}}  {r[3]:>{w[3]}}" for r in cells
    )


def make_progress(names: list, every: float, out=None):
    """A Tune callback printing one line per trial event and a table of every trial's env
    steps and latest test return (at most every `every` seconds while something changes)."""
    from ray.tune import Callback

    class Progress(Callback):
        def __init__(self):
            self.rows = {n: ["PENDING", None, None] for n in names}
            self.last_print, self.changed = 0.0, False

        def _print(self, text):
            print(text, file=out or sys.stdout, flush=True)

        def _name(self, trial):
            return trial.config["trial"]["name"]

        def _status(self, trial):
            row = self.rows.setdefault(self._name(trial), ["PENDING", None, None])
            if row[0] != trial.status:
                row[0], self.changed = trial.status, True

        def on_trial_start(self, iteration, trials, trial, **info):
            self._status(trial)
            restarts = trial.num_failures
            again = f" (restart {restarts})" if restarts else ""
            self._print(f"[sweep] started {self._name(trial)}{again}")

        def on_trial_result(self, iteration, trials, trial, result, **info):
            row = self.rows.setdefault(self._name(trial), ["RUNNING", None, None])
            row[1], row[2] = result.get("env_steps"), result.get("test_return")
            self.changed = True

        def on_trial_complete(self, iteration, trials, trial, **info):
            row = self.rows[self._name(trial)]
            row[0] = "TERMINATED"
            self._print(
                f"[sweep] finished {self._name(trial)}: test return {_fmt(row[2], '.3f')} "
                f"at {_fmt(row[1])} env steps"
            )

        def on_trial_recover(self, iteration, trials, trial, **info):
            self._print(
                f"[sweep] {self._name(trial)} failed (failure {trial.num_failures}); restarting "
                f"it from its checkpoint (error: {trial.error_file})"
            )

        def on_trial_error(self, iteration, trials, trial, **info):
            self.rows[self._name(trial)][0] = "ERROR"
            self._print(
                f"[sweep] {self._name(trial)} failed for good after {trial.num_failures} "
                f"failure(s); error: {trial.error_file}"
            )

        def on_step_end(self, iteration, trials, **info):
            for t in trials:
                self._status(t)
            now = time.monotonic()
            if self.changed and now - self.last_print >= every:
                self.show()

        def show(self):
            self.last_print, self.changed = time.monotonic(), False
            rows = [(n, *r) for n, r in self.rows.items()]
            self._print(f"[sweep] {time.strftime('%H:%M:%S')}\n" + _table(rows))

        def on_experiment_end(self, trials, **info):
            self.show()

    return Progress()


def _trials_record(sweep) -> dict:
    return {
        "name": sweep.name,
        "file": sweep.file.name,
        "cli_bindings": list(sweep.cli_bindings),
        # paths relative to the sweep directory: no machine's directories in a committed sweep
        "trials": [
            {**t.to_dict(), "run_dir": f"runs/{Path(t.run_dir).name}", "argv": t.argv()}
            for t in sweep.trials
        ],
    }


def prepare(sweep, force: bool) -> None:
    """Make (or check, when resuming) the sweep directory; --force deletes it first."""
    d = sweep.directory
    if d.exists() and force:
        if any(d.iterdir()) and not (d / "trials.json").exists():
            raise SweepError(
                f"--force: {d} is not a sweep directory (no trials.json); not deleting"
            )
        shutil.rmtree(d)
    record = _trials_record(sweep)
    if (d / "trials.json").exists():
        old = {t["name"]: t for t in json.loads((d / "trials.json").read_text())["trials"]}
        for t in record["trials"]:
            o = old.get(t["name"])
            if o is not None and o["argv"] != t["argv"]:
                raise SweepError(
                    f"trial {t['name']} is not the one {d} holds: its command was\n  python "
                    f"{shlex.join(o['argv'])}\nand is now\n  python {shlex.join(t['argv'])}\n"
                    "(pass --force to start the sweep over, or give it another name or --out)"
                )
        # trials the directory has and this file does not stay listed
        names = {t["name"] for t in record["trials"]}
        record["trials"] += [t for n, t in old.items() if n not in names]
    (d / "logs").mkdir(parents=True, exist_ok=True)
    (d / "runs").mkdir(exist_ok=True)
    if not (d / "sweep.toml").exists():
        shutil.copyfile(sweep.file, d / "sweep.toml")
    (d / "trials.json").write_text(json.dumps(record, indent=2) + "\n")
    (d / "commands.txt").write_text(
        "# each trial by hand: run these from this directory (the sweep directory)\n"
        + "".join(t.command() + "\n" for t in sweep.trials)
    )


def run_tune(sweep, pending: list, address, num_cpus, max_concurrent, report_every, out=None):
    """Run `pending` trials on Ray Tune; returns the number that ended in error."""
    import ray
    from ray import tune

    started = False
    if not ray.is_initialized():
        if address:
            try:
                ray.init(address=address, log_to_driver=False, logging_level="WARNING")
            except ConnectionError as e:
                raise SweepError(
                    f"cannot join the Ray cluster at --address {address} ({e}); start it with "
                    "`ray start --head` and pass the address it prints (or `auto` on its nodes)"
                ) from None
        else:
            ray.init(
                num_cpus=num_cpus or os.cpu_count() or 1,
                include_dashboard=False,
                log_to_driver=False,
                logging_level="WARNING",
            )
        started = True
    try:
        trainable = tune.with_resources(
            run_trial,
            lambda config: {"cpu": config["trial"]["cpus"], "gpu": config["trial"]["gpus"]},
        )
        items = [{**t.to_dict(), "argv": t.argv()} for t in pending]

        def trial_name(trial):
            return trial.config["trial"]["name"]

        tuner = tune.Tuner(
            trainable,
            param_space={"trial": tune.grid_search(items)},
            tune_config=tune.TuneConfig(
                max_concurrent_trials=max_concurrent,
                trial_name_creator=trial_name,
                trial_dirname_creator=trial_name,
            ),
            run_config=tune.RunConfig(
                name=time.strftime("tune-%Y%m%d-%H%M%S"),
                storage_path=str(sweep.directory / "ray"),
                failure_config=tune.FailureConfig(max_failures=sweep.max_failures),
                verbose=0,
                callbacks=[make_progress([t.name for t in pending], report_every, out)],
            ),
        )
        results = tuner.fit()
        return len(results.errors)
    finally:
        if started:
            ray.shutdown()


def _labels(trials: list) -> dict:
    presets = {t.preset for t in trials}
    out = {}
    for t in trials:
        base = t.method.split("/")[0]
        label = LABELS.get(base, base)
        if len(presets) > 1:
            label += f" [{t.preset}]"
        if t.variant:
            label += f" ({t.variant})"
        out[t.method] = label
    return out


def _note(trials: list) -> str:
    learners = {t.learner for t in trials}
    parts = []
    if "dream" in learners:
        parts.append("DREAM's exploitation-episode return")
    if learners & {"rl2", "import", "varibad"}:
        parts.append("the baselines' trial return (second-episode return)")
    if FIRST_EXPLORE in learners:
        parts.append(
            "First-Explore's evaluation return (`eval_return`: the exploit return after "
            "`eval_k` explore episodes, always-exploit: `eval_k` = 0)"
        )
    return (
        "Test return: "
        + "; ".join(parts)
        + ". Mean ± sd over seeds of each run's last evaluation; the env steps column shows how "
        "far each run got."
    )


def write_comparison(sweep, command: str) -> list:
    """comparison/<env>/ from every trial with two evaluations or more; returns the env
    directories written. A trial that has not finished (stopped, failed, or still running) is
    included as far as it got, its method labelled "(unfinished)" and the trial named in the
    table's note."""
    from fastmeta.agents.baselines import compare

    order = list(LABELS)  # DREAM, its baselines, First-Explore: the order of the tables
    by_env: dict = {}
    for t in sorted(sweep.trials, key=lambda t: order.index(t.learner)):
        if Path(t.run_dir, "evaluations.csv").exists():
            by_env.setdefault(t.env, []).append(t)
    written = []
    for env, trials in by_env.items():
        curves: dict = {}
        unfinished = []
        for t in trials:
            curve = compare.read_evaluations(Path(t.run_dir))
            if len(curve["env_steps"]) < 2:
                continue
            curve["seed"] = t.seed
            curves.setdefault(t.method, []).append(curve)
            if read_summary(Path(t.run_dir)) is None:
                unfinished.append((t, int(curve["env_steps"][-1])))
        if not curves:
            continue
        labels = _labels(trials)
        for method in {t.method for t, _ in unfinished}:
            labels[method] += " (unfinished)"
        note = _note(trials)
        if unfinished:
            note += (
                " Unfinished runs, shown as far as they got: "
                + "; ".join(
                    f"{t.name} at {steps:,} of {t.max_env_steps:,} env steps"
                    if t.max_env_steps
                    else f"{t.name} at {steps:,} env steps"
                    for t, steps in unfinished
                )
                + "."
            )
        budgets = {t.max_env_steps for t in trials}
        budget = budgets.pop() if len(budgets) == 1 else None
        names = list(dict.fromkeys(labels[m] for m in curves))
        cmds = "\n".join(t.command() for t in trials)
        compare.write_outputs(
            curves,
            env,
            budget,
            sweep.directory / "comparison" / env,
            [],
            labels=labels,
            title=" vs ".join(names),
            note=note,
            command=f"{command}\n\n# its trials:\n{cmds}",
        )
        written.append(sweep.directory / "comparison" / env)
    return written


def dry_run(sweep, out=None) -> None:
    p = lambda s="": print(s, file=out or sys.stdout)  # noqa: E731
    p(f"sweep {sweep.name}: {len(sweep.trials)} trials in {sweep.directory}")
    p(f"(each trial's command runs from {sweep.directory})")
    p(
        f"max_failures {sweep.max_failures}"
        + (f", max_concurrent {sweep.max_concurrent}" if sweep.max_concurrent else "")
    )
    for t in sweep.trials:
        state = trial_state(Path(t.run_dir))
        p(f"{t.name}  [{state}]  cpus {t.cpus:g}, gpus {t.gpus:g}, nproc {t.nproc}")
        p(f"    {t.command()}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fastmeta sweep",
        description="Run a sweep file's grid of trials on Ray Tune (local, or --address a "
        "cluster) and write the comparison.",
    )
    p.add_argument("file", help="sweep file (TOML; see sweeps/ and fastmeta/sweep/spec.py)")
    p.add_argument(
        "-b",
        "--binding",
        action="append",
        default=[],
        help="key.sub=value for every trial (repeatable; after the file's bindings)",
    )
    p.add_argument(
        "--out",
        default=None,
        help="directory of sweep directories (default: the file's out, else sweeps-out)",
    )
    p.add_argument(
        "--address",
        default=None,
        help="join a running Ray cluster (HOST:PORT or auto); default: start Ray on this machine",
    )
    p.add_argument(
        "--num-cpus", type=int, default=None, help="local Ray's CPUs (default: all cores)"
    )
    p.add_argument(
        "--max-concurrent", type=int, default=None, help="trials running at once at most"
    )
    p.add_argument("--dry-run", action="store_true", help="list the trials and their commands")
    p.add_argument("--force", action="store_true", help="delete the sweep directory and start over")
    p.add_argument(
        "--compare-only",
        action="store_true",
        help="write the comparison from the trials as they are now (unfinished ones marked), "
        "running nothing",
    )
    p.add_argument(
        "--report-every", type=float, default=30.0, help="seconds between progress tables"
    )
    return p


def main(argv=None, out=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.max_concurrent is not None and args.max_concurrent < 1:
        print("error: --max-concurrent must be >= 1", file=sys.stderr)
        return 2
    try:
        sweep = load(args.file, args.binding, args.out)
    except SweepError as e:
        print(f"error: {args.file}: {e}", file=sys.stderr)
        return 2
    if args.dry_run:
        dry_run(sweep, out)
        return 0
    # the comparison records the command that runs the sweep, not this one's mode
    command = "fastmeta sweep " + shlex.join(a for a in argv if a != "--compare-only")
    say = lambda s: print(s, file=out or sys.stdout, flush=True)  # noqa: E731
    if args.compare_only:
        if not (sweep.directory / "trials.json").exists():
            print(f"error: no sweep directory {sweep.directory} to compare", file=sys.stderr)
            return 2
        return _report(sweep, command, say, unfinished_code=0)
    try:
        import ray  # noqa: F401
        from ray import tune  # noqa: F401
    except ImportError:
        print(f"error: {INSTALL_HINT}", file=sys.stderr)
        return 2
    try:
        prepare(sweep, args.force)
    except SweepError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    pending = [t for t in sweep.trials if trial_state(Path(t.run_dir)) != "finished"]
    say(
        f"[sweep] {sweep.name}: {len(sweep.trials)} trials, {len(sweep.trials) - len(pending)} "
        f"finished before, {len(pending)} to run; directory {sweep.directory}"
    )
    if pending:
        try:
            run_tune(
                sweep,
                pending,
                args.address,
                args.num_cpus,
                args.max_concurrent or sweep.max_concurrent,
                args.report_every,
                out,
            )
        except SweepError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    return _report(sweep, command, say, unfinished_code=1)


def _report(sweep, command: str, say, unfinished_code: int) -> int:
    """Write the comparison and print every trial's state; `unfinished_code` is returned when
    some trial has not finished."""
    written = write_comparison(sweep, command)
    rows = []
    for t in sweep.trials:
        state = trial_state(Path(t.run_dir))
        ev = latest_evaluation(Path(t.run_dir)) or {}
        rows.append((t.name, state, ev.get("env_steps"), ev.get("test_return")))
    say("[sweep] trials:\n" + _table(rows))
    for d in written:
        say(f"[sweep] comparison: {d}")
    unfinished = sum(r[1] != "finished" for r in rows)
    if unfinished:
        say(
            f"[sweep] {unfinished} trial(s) not finished (their logs: {sweep.directory / 'logs'}); "
            "run the same command again to resume them"
        )
        return unfinished_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
