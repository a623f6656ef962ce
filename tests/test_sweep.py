"""`fastmeta sweep`: sweep files, dry runs, bad files, and real sweeps on a local Ray of 2 CPUs
(tiny First-Explore bandit runs): the comparison, resuming a sweep directory, and a trial whose
training process is killed mid-run restarting and ending with the uninterrupted run's curve."""

from __future__ import annotations

import ast
import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.tune")

from fastmeta.sweep import runner, spec  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TINY = """
batch_size = 4
pulls = 9
eval_lifetime = 12
eval_k = 3
eval_lifetimes = 4
total_updates = 6
eval_every = 2
checkpoint_every = 1
tensorboard = false
"""


def sweep_file(tmp_path: Path, body: str, name: str = "tiny", bindings: str = TINY) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(
        f'name = "{name}"\nout = "{tmp_path / "out"}"\n{body}\n[bindings]\n{bindings}\n'
    )
    return path


GRID_2x2 = """
[grid]
learner = "first-explore"
env = ["bandit"]
control = ["none", "always-exploit"]
seed = [0, 1]
preset = "fast"
"""


@pytest.fixture(scope="module")
def local_ray():
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    if started:
        ray.shutdown()


def _files(directory: Path) -> dict:
    return {
        str(p.relative_to(directory)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def _curve(run_dir: Path) -> list:
    """evaluations.csv without its wall-clock columns."""
    with open(run_dir / "evaluations.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return [{k: v for k, v in r.items() if k not in ("wall_time", "elapsed_s")} for r in rows]


# ---- files, dry runs, refusals (no trial starts) ------------------------------------------------
def test_dry_run_lists_the_trials_and_their_commands(tmp_path, capsys):
    path = sweep_file(tmp_path, GRID_2x2)
    assert runner.main([str(path), "--dry-run", "-b", "fastmeta.max_env_steps=400"]) == 0
    out = capsys.readouterr().out
    names = [
        "first-explore-bandit-fast-s0",
        "first-explore-bandit-fast-s1",
        "first-explore-bandit-always-exploit-fast-s0",
        "first-explore-bandit-always-exploit-fast-s1",
    ]
    assert f"sweep tiny: 4 trials in {tmp_path / 'out' / 'tiny'}" in out
    for name in names:
        assert f"{name}  [new]  cpus 1, gpus 0, nproc 1" in out
    commands = [line.strip() for line in out.splitlines() if line.startswith("    python")]
    assert len(commands) == 4
    assert commands[2] == (
        "python -m fastmeta train first-explore --env bandit --control always-exploit -s 0 "
        "--preset fast -b batch_size=4 -b pulls=9 -b eval_lifetime=12 -b eval_k=3 "
        "-b eval_lifetimes=4 -b total_updates=6 -b eval_every=2 -b checkpoint_every=1 "
        "-b tensorboard=false -b fastmeta.max_env_steps=400 --threads 1 "
        "--out runs first-explore-bandit-always-exploit-fast-s0 "
        "--resume --no-progress"
    )
    assert not (tmp_path / "out").exists()


def test_the_shipped_sweep_files_resolve():
    dream = spec.load(ROOT / "sweeps" / "dream_paper.toml")
    assert len(dream.trials) == 48
    assert {(t.learner, t.env) for t in dream.trials} == {
        (m, e)
        for m in ("dream", "rl2", "import", "varibad")
        for e in ("miniworld_sign", "distraction", "map", "cooking")
    }
    assert {t.preset for t in dream.trials} == {"fast"}
    assert {t.seed for t in dream.trials} == {0, 1, 2}
    # the budget is a binding of every trial, and -b replaces it
    assert {t.max_env_steps for t in dream.trials} == {2_700_000}
    short = spec.load(ROOT / "sweeps" / "dream_paper.toml", ["fastmeta.max_env_steps=1000"])
    assert {t.max_env_steps for t in short.trials} == {1000}
    original = spec.load(ROOT / "sweeps" / "dream_paper_original.toml")
    assert {t.preset for t in original.trials} == {"paper"} and len(original.trials) == 48
    fe = spec.load(ROOT / "sweeps" / "first_explore.toml")
    assert len(fe.trials) == 18
    assert {(t.env, t.control) for t in fe.trials} == {
        (e, c) for e in ("bandit", "treasure", "maze") for c in ("none", "always-exploit")
    }
    cooking = spec.load(ROOT / "sweeps" / "cooking_comparison.toml")
    assert [t.name for t in cooking.trials][:2] == [
        "varibad-cooking-fast-s0",
        "dream-cooking-fast-s0",
    ]
    assert len(cooking.trials) == 8 and {t.max_env_steps for t in cooking.trials} == {2_700_000}
    sign = spec.load(ROOT / "sweeps" / "sign_comparison.toml")
    assert {(t.learner, t.env) for t in sign.trials} == {
        (m, "miniworld_sign") for m in ("dream", "rl2", "import", "varibad")
    }
    assert {t.max_env_steps for t in sign.trials} == {25_000}


BAD = {
    "unknown top-level key": (
        "colour = 1\n" + GRID_2x2,
        "unknown key 'colour' in tiny.toml (top level); allowed: name, out, grid",
    ),
    "unknown grid key": (GRID_2x2 + "colour = 1\n", "unknown key 'colour' in grid"),
    "unknown learner": (
        GRID_2x2.replace('"first-explore"', '"dreamer"'),
        "unknown value 'dreamer'; allowed: dream, rl2, import, varibad, first-explore",
    ),
    "env not of the learner": (
        GRID_2x2.replace('env = ["bandit"]', 'env = ["map"]'),
        "'map' is not an env of learner 'first-explore'; allowed: bandit, treasure, maze",
    ),
    "seeds not ints": (GRID_2x2.replace("seed = [0, 1]", 'seed = [0, "1"]'), "grid.seed"),
    "no seeds": (GRID_2x2.replace("seed = [0, 1]", ""), "grid has no 'seed'"),
    "unknown preset": (
        GRID_2x2.replace('preset = "fast"', 'preset = "turbo"'),
        "unknown preset 'turbo' for learner 'first-explore'; allowed: paper, fast",
    ),
    "unknown control": (
        GRID_2x2.replace('"always-exploit"]', '"never"]'),
        "grid.control: unknown value 'never'; allowed: none, always-exploit",
    ),
    "bad resources": (GRID_2x2 + "[resources]\ncpus = 0\n", "resources.cpus must be > 0"),
    "ranks without cpus": (
        GRID_2x2 + "[resources]\ncpus = 1\nnproc = 2\n",
        "resources.cpus (1) must be at least resources.nproc (2)",
    ),
    "unknown resource": (GRID_2x2 + "[resources]\nmemory = 4\n", "unknown key 'memory'"),
    "bad binding": (
        GRID_2x2 + '[bindings.learner.first-explore]\n"first_explore.typo" = 1\n',
        "trial first-explore-bandit-fast-s0: unknown config key 'first_explore.typo'",
    ),
    "invalid TOML": ("[grid\n", "invalid TOML"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_files_are_refused_before_anything_starts(case, tmp_path, capsys):
    body, message = BAD[case]
    path = sweep_file(tmp_path, body, bindings="" if "bindings" in body else TINY)
    assert runner.main([str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert not (tmp_path / "out").exists()


def test_a_trial_holds_the_renderer_to_its_cpus():
    assert runner.trial_environment({"cpus": 3}, base={"PATH": "/bin"}) == {
        "PATH": "/bin",
        "LP_NUM_THREADS": "3",
    }
    assert runner.trial_environment({"cpus": 0.5}, base={})["LP_NUM_THREADS"] == "1"
    kept = runner.trial_environment({"cpus": 1}, base={"LP_NUM_THREADS": "8"})
    assert kept["LP_NUM_THREADS"] == "8"


def test_bad_command_line_binding_is_refused(tmp_path, capsys):
    path = sweep_file(tmp_path, GRID_2x2)
    assert runner.main([str(path), "-b", "fastmeta.max_env_steps"]) == 2
    assert "must look like key.sub=value" in capsys.readouterr().err
    assert runner.main([str(path), "-b", "fastmeta.max_env_step=5"]) == 2
    assert "unknown config key 'fastmeta.max_env_step'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_compare_only_needs_a_sweep_directory(tmp_path, capsys):
    path = sweep_file(tmp_path, GRID_2x2)
    assert runner.main([str(path), "--compare-only"]) == 2
    assert "no sweep directory" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_comparison_reads_a_curve_still_being_written(tmp_path):
    from fastmeta.agents.baselines import compare

    run = tmp_path / "run"
    run.mkdir()
    text = "env_steps,elapsed_s,test_return\n100,1.0,-2.0\n200,2.0,0.5\n300,3."
    (run / "evaluations.csv").write_text(text)
    curve = compare.read_evaluations(run)
    assert curve["env_steps"].tolist() == [100.0, 200.0]
    assert curve["test_return"].tolist() == [-2.0, 0.5]
    # a damaged line before the last is an error, not skipped
    (run / "evaluations.csv").write_text(text.replace("100,1.0", "100,x") + "5,1.0\n")
    with pytest.raises(ValueError):
        compare.read_evaluations(run)


def test_without_ray_it_says_what_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    path = sweep_file(tmp_path, GRID_2x2)
    assert runner.main([str(path)]) == 2
    assert "pip install 'fastmeta[cluster]'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert runner.main([str(path), "--dry-run"]) == 0  # listing needs no Ray


def test_only_the_sweep_runner_imports_ray():
    for path in sorted((ROOT / "fastmeta").rglob("*.py")):
        if path == ROOT / "fastmeta" / "sweep" / "runner.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            assert not any(n == "ray" or n.startswith("ray.") for n in names), path


# ---- real sweeps ----------------------------------------------------------------------------
@pytest.mark.slow
def test_a_sweep_runs_compares_and_resumes(tmp_path, local_ray, capsys):
    path = sweep_file(tmp_path, GRID_2x2)
    argv = [str(path), "--report-every", "5"]
    assert runner.main(argv) == 0
    out = capsys.readouterr().out
    sweep_dir = tmp_path / "out" / "tiny"
    runs = sweep_dir / "runs"
    names = sorted(p.name for p in runs.iterdir())
    assert len(names) == 4
    for name in names:  # ordinary experiment directories, marked finished
        assert {"config.json", "evaluations.csv", "checkpoint.pt", "summary.json"} <= {
            p.name for p in (runs / name).iterdir()
        }
        summary = json.loads((runs / name / "summary.json").read_text())
        assert summary["updates"] == 6
        assert str(summary["env_steps"]) == _curve(runs / name)[-1]["env_steps"] != "0"
    comp = sweep_dir / "comparison" / "bandit"
    assert (comp / "comparison.png").stat().st_size > 0
    table = (comp / "comparison.md").read_text()
    assert "| First-Explore | 2 |" in table and "| always-exploit | 2 |" in table
    rows = (comp / "comparison.csv").read_text().splitlines()
    assert rows[0] == "method,seed,env_steps,elapsed_s,test_return" and len(rows) == 1 + 4 * 4
    assert "fastmeta sweep" in (comp / "commands.md").read_text()
    assert (sweep_dir / "ray").is_dir() and (sweep_dir / "sweep.toml").exists()
    assert "first-explore-bandit-always-exploit-fast-s1" in out and "test return" in out

    # again: nothing reruns, no run file changes
    before = _files(runs)
    assert runner.main(argv) == 0
    assert "4 finished before, 0 to run" in capsys.readouterr().out
    assert _files(runs) == before

    # an unfinished trial (no summary.json) resumes from its checkpoint; the others stay as
    # they were, and its curve is the one it had
    victim = runs / "first-explore-bandit-fast-s1"
    curve = _curve(victim)
    (victim / "summary.json").unlink()
    # --compare-only: the comparison as things stand, the unfinished trial marked, nothing run
    snapshot = _files(runs)
    assert runner.main([*argv, "--compare-only"]) == 0
    assert "3 finished before" not in capsys.readouterr().out
    table = (comp / "comparison.md").read_text()
    assert "| First-Explore (unfinished) | 2 |" in table and "| always-exploit | 2 |" in table
    assert f"Unfinished runs, shown as far as they got: {victim.name} at " in table
    assert "--compare-only" not in (comp / "commands.md").read_text()
    assert _files(runs) == snapshot
    assert runner.main(argv) == 0
    assert "3 finished before, 1 to run" in capsys.readouterr().out
    after = _files(runs)
    for name, value in before.items():
        if not name.startswith(victim.name + "/"):
            assert after[name] == value, name
    assert _curve(victim) == curve
    assert "resuming at env step 456" in (sweep_dir / "logs" / f"{victim.name}.log").read_text()

    # a changed trial is refused, --force starts over
    changed = [str(path), "-b", "first_explore.lr=0.001"]
    assert runner.main(changed) == 2
    assert "is not the one" in capsys.readouterr().err
    assert runner.main([*changed, "--dry-run"]) == 0


def _training_pids(marker: str) -> list:
    """pids of `fastmeta train` processes whose command line names `marker`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"train" in args and any(marker.encode() in a for a in args):
            pids.append(int(entry.name))
    return pids


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs Linux /proc")
def test_a_killed_trial_restarts_and_ends_as_an_uninterrupted_run(tmp_path, local_ray):
    longer = TINY.replace("total_updates = 6", "total_updates = 40").replace(
        "eval_every = 2", "eval_every = 4"
    )
    grid = GRID_2x2.replace('control = ["none", "always-exploit"]', "").replace("[0, 1]", "[0]")
    path = sweep_file(tmp_path, grid, name="killed", bindings=longer)
    sweep = spec.load(path)
    (trial,) = sweep.trials

    # the same command, uninterrupted, elsewhere
    argv = trial.argv()
    ref_out = tmp_path / "reference"
    argv[argv.index("--out") + 1] = str(ref_out)
    straight = subprocess.run([sys.executable, *argv], capture_output=True, text=True, cwd=ROOT)
    assert straight.returncode == 0, straight.stderr

    run_dir = Path(trial.run_dir)
    killed = []

    def kill_after_first_checkpoint():
        deadline = time.time() + 240
        while time.time() < deadline:
            if (run_dir / "checkpoint.pt").exists():
                pids = _training_pids(trial.name)
                if pids:
                    for pid in pids:
                        os.kill(pid, signal.SIGKILL)
                    killed.extend(pids)
                    return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_after_first_checkpoint, daemon=True)
    killer.start()
    assert runner.main([str(path), "--report-every", "5"]) == 0
    killer.join(timeout=5)
    assert killed, "the training process was not found"
    log = (sweep.directory / "logs" / f"{trial.name}.log").read_text()
    assert log.count("=== ") == 2 and "resuming at env step" in log
    resumed_at = int(log.split("resuming at env step ")[1].split()[0])
    summary = json.loads((run_dir / "summary.json").read_text())
    assert 0 < resumed_at < summary["env_steps"]
    # every evaluation (not only the last) is the uninterrupted run's
    assert _curve(run_dir) == _curve(ref_out / trial.name)
    assert len(_curve(run_dir)) == 11
