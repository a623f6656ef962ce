"""Plot DREAM learning curves from experiment directories and write a results table.

    python results/dream/plot.py OUT_PREFIX LABEL=EXP_DIR [LABEL=EXP_DIR ...] [--optimal 0.8]

Reads each EXP_DIR/evaluations.csv (written by `fastmeta train dream`), copies it to
OUT_PREFIX-<label>.csv, and writes OUT_PREFIX.png (test exploitation return vs wall-clock and vs
env steps) and OUT_PREFIX.md (final and best returns, time and steps to the first evaluation at
or above --threshold).
"""

import argparse
import csv
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return {
        k: [float(r[k]) for r in rows]
        for k in ("elapsed_s", "env_steps", "test_return", "gradient_steps")
    }


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("runs", nargs="+", help="LABEL=EXP_DIR")
    p.add_argument("--optimal", type=float, default=None)
    p.add_argument("--threshold", type=float, default=0.75)
    p.add_argument("--title", default="DREAM")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    lines = [
        f"# {args.title}",
        "",
        "| run | final test return | best | evals | minutes to >= "
        f"{args.threshold} | env steps to >= {args.threshold} | total minutes | total env steps |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for spec in args.runs:
        label, d = spec.split("=", 1)
        src = Path(d) / "evaluations.csv"
        shutil.copy(src, f"{out}-{label}.csv")
        r = read(src)
        minutes = [s / 60 for s in r["elapsed_s"]]
        axes[0].plot(minutes, r["test_return"], marker=".", label=label)
        axes[1].plot(r["env_steps"], r["test_return"], marker=".", label=label)
        hit = next((i for i, v in enumerate(r["test_return"]) if v >= args.threshold), None)
        t_hit = "-" if hit is None else f"{minutes[hit]:.1f}"
        s_hit = "-" if hit is None else f"{int(r['env_steps'][hit]):,}"
        lines.append(
            f"| {label} | {r['test_return'][-1]:.3f} | {max(r['test_return']):.3f} | {len(minutes)} | "
            f"{t_hit} | {s_hit} | {minutes[-1]:.1f} | {int(r['env_steps'][-1]):,} |"
        )
    for ax, xl in zip(axes, ("wall-clock minutes", "env steps")):
        if args.optimal is not None:
            ax.axhline(args.optimal, color="gray", ls="--", lw=1, label="optimal")
        ax.set_xlabel(xl)
        ax.set_ylabel("test exploitation return")
        ax.grid(alpha=0.3)
    axes[1].legend()
    fig.suptitle(args.title)
    fig.tight_layout()
    fig.savefig(f"{out}.png", dpi=110)
    Path(f"{out}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
