"""DREAM vs E-RL², IMPORT and VariBAD at an equal env-step budget, over seeds.

    python -m fastmeta.agents.baselines.compare --env distraction --budget 150000 --seeds 0 1

Trains each method for `--budget` env steps per seed, one run after another in this process
(DREAM with `fastmeta train dream`'s preset, the baselines with theirs), then writes under
`<out>/<env>/`: comparison.png (test return vs env steps and vs wall-clock: mean over seeds,
shaded min–max), comparison.md (a table), comparison.csv (every evaluation of every run) and
commands.md (the command line). Run directories go to `<runs>/<env>/<method>-s<seed>/`; with
`--reuse`, a run whose evaluations already reach the budget is read instead of retrained, and a
shorter one is continued from its checkpoint (resume is exact, so the curve is the one a single
longer run would give).
"""

from __future__ import annotations

import argparse
import csv
import shlex
import sys
from pathlib import Path

import numpy as np

from fastmeta.agents.baselines import config as baseline_cfg
from fastmeta.agents.dream import config as dream_cfg

METHODS = ("dream", "rl2", "import", "varibad")
LABELS = {"dream": "DREAM", "rl2": "E-RL²", "import": "IMPORT", "varibad": "VariBAD"}
# reference lines of the plot, per env: (test return, label, line style)
_BUS = [(0.8, "optimal (0.8)", "--"), (0.3, "walk to goal (0.3)", ":")]
REFERENCES = {
    "vanilla": _BUS,
    "distraction": _BUS,
    "map": _BUS,
    # the test task's optimum on the 100-trial test protocol (spec §7, derived from the env)
    "cooking": [(0.472, "optimal on the test protocol (0.472)", "--")],
    "miniworld_sign": [(1.0, "optimal (1.0)", "--")],
}


def read_evaluations(run_dir: Path, budget: int | None = None) -> dict:
    """A run's evaluation curve; with `budget`, only the evaluations made within it (a run that
    went further, e.g. one trained on its own before, is compared at equal env steps). The test
    return is the `test_return` column (First-Explore's runs: `eval_return`)."""
    with open(Path(run_dir) / "evaluations.csv") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        y = "test_return" if "test_return" in (reader.fieldnames or ()) else "eval_return"
    parsed = []
    for k, r in enumerate(rows):
        try:
            parsed.append((float(r["env_steps"]), float(r["elapsed_s"]), float(r[y])))
        except (TypeError, ValueError):
            if k < len(rows) - 1:
                raise
            # the last line of a run still writing it may be incomplete: read up to it
    if budget is not None:
        parsed = [p for p in parsed if p[0] <= budget]
    cols = np.array(parsed, dtype=float).reshape(-1, 3)
    return {"env_steps": cols[:, 0], "elapsed_s": cols[:, 1], "test_return": cols[:, 2]}


def run_method(
    method, env, seed, budget, preset, bindings, run_dir: Path, progress: bool, extend: bool = False
) -> None:
    """Train one run to `budget` env steps; `extend` continues its checkpoint (exact resume)."""
    overrides = {"fastmeta": {"seed": seed, "max_minutes": None}}
    if method == "dream":
        from fastmeta.agents.dream.train import train

        config = dream_cfg.resolve(preset, (), bindings, env, overrides)
    else:
        from fastmeta.agents.baselines.train import train

        config = baseline_cfg.resolve(method, preset, (), bindings, env, overrides)
    extend = extend and (run_dir / "checkpoint.pt").exists()
    if not extend and (run_dir / "evaluations.csv").exists():
        (run_dir / "evaluations.csv").unlink()  # a fresh curve for a fresh run
    train(config, run_dir, resume=extend, progress=progress, max_env_steps=budget)


def summarize(curves: dict, budget: int | None, labels: dict | None = None) -> list:
    """One table row per method (`labels`: method -> name shown; default LABELS)."""
    labels = labels or LABELS
    rows = []
    for method, runs in curves.items():
        finals = np.array([r["test_return"][-1] for r in runs])
        best = np.array([r["test_return"].max() for r in runs])
        wall = np.array([r["elapsed_s"][-1] for r in runs])
        steps = np.array([r["env_steps"][-1] for r in runs])
        rows.append(
            {
                "method": labels.get(method, method),
                "seeds": len(runs),
                "final": f"{finals.mean():.3f} ± {finals.std():.3f}",
                "final_per_seed": " / ".join(f"{v:.3f}" for v in finals),
                "best": f"{best.mean():.3f}",
                "env_steps": int(steps.mean()),
                "wall_min": f"{wall.mean() / 60:.1f}",
                "steps_per_s": f"{(steps / np.maximum(wall, 1e-9)).mean():.0f}",
            }
        )
    return rows


def plot(
    curves: dict, env: str, path: Path, labels: dict | None = None, title: str | None = None
) -> None:
    labels = labels or LABELS
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, xkey, xlabel in (
        (axes[0], "env_steps", "env steps"),
        (axes[1], "elapsed_s", "wall-clock (min)"),
    ):
        for method, runs in curves.items():
            scale = 1 / 60 if xkey == "elapsed_s" else 1
            hi = min(r[xkey][-1] for r in runs)
            grid = np.linspace(0, hi, 100)
            ys = np.stack([np.interp(grid, r[xkey], r["test_return"]) for r in runs])
            seeds = f"{len(runs)} seed" + ("s" if len(runs) > 1 else "")
            (line,) = ax.plot(
                grid * scale, ys.mean(0), label=f"{labels.get(method, method)} ({seeds})"
            )
            ax.fill_between(grid * scale, ys.min(0), ys.max(0), color=line.get_color(), alpha=0.2)
        for value, label, style in REFERENCES.get(env, ()):
            ax.axhline(value, color="k" if style == "--" else "grey", ls=style, lw=1, label=label)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("test return (second episode / exploitation)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"{env}: {title or 'DREAM vs baselines at equal env-step budgets'}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


NOTE = (
    "Test return: DREAM's exploitation-episode return; the baselines' trial return "
    "(second-episode return). 100 test trials / meta-episodes per evaluation. "
    "The env steps column shows how far each run got."
)


def write_outputs(
    curves: dict,
    env: str,
    budget: int | None,
    out: Path,
    argv: list,
    labels: dict | None = None,
    title: str | None = None,
    note: str = NOTE,
    command: str | None = None,
) -> None:
    """comparison.csv, .md, .png and commands.md under `out`. `labels`, `title` and `note` name
    the methods, the comparison and the test return (defaults: DREAM vs its baselines);
    `command` is the command line recorded (default: this module's, with `argv`); `budget` None:
    each run as far as it went."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "comparison.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["method", "seed", "env_steps", "elapsed_s", "test_return"])
        for method, runs in curves.items():
            for r in runs:
                for s, t, v in zip(r["env_steps"], r["elapsed_s"], r["test_return"]):
                    w.writerow([method, r["seed"], int(s), f"{t:.2f}", f"{v:.4f}"])
    rows = summarize(curves, budget, labels)
    span = f"budget {budget:,} env steps per run" if budget is not None else "each run's budget"
    lines = [
        f"# {env}: {title or 'DREAM vs baselines'}, {span}",
        "",
        note,
        "",
        "| method | seeds | final (mean ± sd) | final per seed | best (mean) | env steps "
        "| wall-clock (min) | env steps/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['method']} | {r['seeds']} | {r['final']} | {r['final_per_seed']} | "
            f"{r['best']} | {r['env_steps']:,} | {r['wall_min']} | {r['steps_per_s']} |"
        )
    (out / "comparison.md").write_text("\n".join(lines) + "\n")
    if command is None:
        command = "python -m fastmeta.agents.baselines.compare " + " ".join(
            shlex.quote(a) for a in argv
        )
    (out / "commands.md").write_text(f"```\n{command}\n```\n")
    plot(curves, env, out / "comparison.png", labels, title)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    p = argparse.ArgumentParser(prog="python -m fastmeta.agents.baselines.compare")
    p.add_argument("--env", required=True, choices=dream_cfg.ENVIRONMENTS)
    p.add_argument("--budget", type=int, required=True, help="env steps per run")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--preset", default="fast", help="preset of every method (default: fast)")
    p.add_argument("--dream-binding", action="append", default=[], help="-b for DREAM runs")
    p.add_argument("--baseline-binding", action="append", default=[], help="-b for baseline runs")
    p.add_argument("--out", default="results/comparison")
    p.add_argument("--runs", default="experiments/comparison", help="where run directories go")
    p.add_argument(
        "--reuse",
        action="store_true",
        help="read runs that reach the budget, continue shorter ones from their checkpoints",
    )
    p.add_argument(
        "--no-train",
        action="store_true",
        help="only read existing runs (as far as they got) and write the outputs",
    )
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    curves = {}
    for method in args.methods:
        for seed in args.seeds:
            run_dir = Path(args.runs) / args.env / f"{method}-s{seed}"
            if args.no_train and not (run_dir / "evaluations.csv").exists():
                continue
            done = args.no_train
            if args.reuse and (run_dir / "evaluations.csv").exists():
                done = done or read_evaluations(run_dir)["env_steps"][-1] >= args.budget
            if not done:
                bindings = args.dream_binding if method == "dream" else args.baseline_binding
                try:
                    run_method(
                        method,
                        args.env,
                        seed,
                        args.budget,
                        args.preset,
                        bindings,
                        run_dir,
                        not args.no_progress,
                        extend=args.reuse,
                    )
                except (dream_cfg.ConfigError, baseline_cfg.ConfigError) as e:
                    print(f"error: {method}: {e}", file=sys.stderr)
                    return 2
            curve = read_evaluations(run_dir, args.budget)
            if len(curve["env_steps"]) < 2:
                continue
            curve["seed"] = seed
            curves.setdefault(method, []).append(curve)
            print(
                f"{method} seed {seed}: final test return {curve['test_return'][-1]:.3f} "
                f"after {int(curve['env_steps'][-1])} env steps, {curve['elapsed_s'][-1]:.0f} s",
                flush=True,
            )
    write_outputs(curves, args.env, args.budget, Path(args.out) / args.env, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
