"""Command-line pieces every `fastmeta train <learner>` shares: the seed, output, resume and
progress options, and the rule that an existing experiment directory is only reused on request.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_experiment_arguments(p: argparse.ArgumentParser) -> None:
    """-s/--seed, --out, --resume, --force, --no-progress."""
    p.add_argument("-s", "--seed", type=int, default=None)
    p.add_argument("--out", default="experiments", help="directory holding experiment directories")
    p.add_argument("--resume", action="store_true", help="continue from <out>/<name>/checkpoint.pt")
    p.add_argument("--force", action="store_true", help="reuse an existing experiment directory")
    p.add_argument("--no-progress", action="store_true")


def experiment_dir(args: argparse.Namespace, name: str) -> Path | None:
    """`<out>/<name>`, or None (after printing why) when it exists and neither --resume nor
    --force was given: a new run must not silently append to another run's logs."""
    exp_dir = Path(args.out) / name
    if exp_dir.exists() and not (args.resume or args.force):
        print(
            f"error: {exp_dir} exists; pass --resume to continue it or --force to reuse it",
            file=sys.stderr,
        )
        return None
    return exp_dir
