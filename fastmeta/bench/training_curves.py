"""Time-to-target-return from the learners' committed evaluation curves (results/<learner>/ of
the source checkout, or any directory laid out the same way: `fastmeta bench --results DIR`).

Every CSV there with `elapsed_s`, `env_steps` and a return column (DREAM's `test_return`,
First-Explore's `eval_return`) is one run. DREAM's target is the return results/dream/plot.py
calls solved; First-Explore's tasks have no single solved return, so its target is 90% of the
run's best evaluation (stated in the report)."""

from __future__ import annotations

import csv
import math
from pathlib import Path


def checkout_results() -> Path | None:
    """results/ of the source checkout this package runs from; None for an installed package
    (the curves are committed to the repository, not shipped in the wheel)."""
    root = Path(__file__).resolve().parent.parent.parent
    results = root / "results"
    return results if (root / "pyproject.toml").is_file() and results.is_dir() else None


RESULTS = checkout_results()  # the default directory of time_to_target

# One directory per learner; others under results/ (e.g. comparison/) mix several methods in a
# CSV and are not one curve.
LEARNERS = ("dream", "first_explore")
RETURN_COLUMNS = ("test_return", "eval_return")
ABSOLUTE_TARGETS = {"dream": 0.75}
RELATIVE_TARGET = 0.9


def read_curve(path: Path) -> dict | None:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return None
    col = next((c for c in RETURN_COLUMNS if c in rows[0]), None)
    if col is None or "elapsed_s" not in rows[0] or "env_steps" not in rows[0]:
        return None
    out = {"elapsed_s": [], "env_steps": [], "return": []}
    for r in rows:
        try:
            vals = float(r["elapsed_s"]), float(r["env_steps"]), float(r[col])
        except (TypeError, ValueError):
            continue
        if all(math.isfinite(v) for v in vals):
            for k, v in zip(out, vals):
                out[k].append(v)
    return out if out["return"] else None


def _first_hit(curve, target):
    hit = next((i for i, r in enumerate(curve["return"]) if r >= target), None)
    return (None, None) if hit is None else (curve["elapsed_s"][hit] / 60, curve["env_steps"][hit])


def time_to_target(root: Path | None = RESULTS) -> list[dict]:
    """One row per distinct curve (a CSV copied next to its run directory counts once); none
    when there is no results directory."""
    runs, seen = [], set()
    if root is None:
        return runs
    root = Path(root)
    for learner_dir in (root / name for name in LEARNERS):
        if not learner_dir.is_dir():
            continue
        for path in sorted(learner_dir.rglob("*.csv")):
            curve = read_curve(path)
            if curve is None:
                continue
            key = tuple(map(tuple, curve.values()))
            if key in seen:
                continue
            seen.add(key)
            best = max(curve["return"])
            target = ABSOLUTE_TARGETS.get(learner_dir.name)
            minutes, steps = _first_hit(curve, target) if target is not None else (None, None)
            rel_minutes, rel_steps = _first_hit(curve, RELATIVE_TARGET * best if best > 0 else best)
            runs.append(
                {
                    "learner": learner_dir.name,
                    "run": str(path.relative_to(root)),
                    "target": target,
                    "best": best,
                    "final": curve["return"][-1],
                    "evals": len(curve["return"]),
                    "minutes": minutes,
                    "env_steps": steps,
                    "minutes_rel": rel_minutes,
                    "env_steps_rel": rel_steps,
                    "total_minutes": curve["elapsed_s"][-1] / 60,
                }
            )
    return runs
