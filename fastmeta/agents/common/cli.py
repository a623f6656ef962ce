"""The command line every `fastmeta train <learner>` shares.

Same flags for every learner: the experiment (name, --out, --resume, --force, --no-progress), the
config (--preset, -c FILE, -b key.sub=value, --env, -s/--seed) and the system (--device,
--threads, --precision, --max-env-steps, --max-minutes, --nproc). The system flags are shortcuts
for bindings of the `fastmeta` section (fastmeta.agents.common.config).

`--nproc N` starts N data-parallel ranks on this machine through torchrun (`--standalone`); the
same command under `torchrun --nproc-per-node N` (or SLURM's `srun ... torchrun`) joins the
process group the launcher describes. Threads per rank default to the cores shared by the ranks.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from fastmeta.agents.common.checkpoint import CheckpointError
from fastmeta.agents.common.config import ConfigError
from fastmeta.agents.common.device import check_device
from fastmeta.agents.common.precision import PRECISIONS
from fastmeta.agents.common.run_loop import default_threads


def build_parser(
    prog: str, description: str, name_prefix: str, presets, preset_help: str, environments
) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument(
        "name",
        nargs="?",
        default=None,
        help=f"experiment name (default: {name_prefix}-<env>-<preset>-s<seed>)",
    )
    p.add_argument(
        "--env", default=None, choices=environments, help="benchmark (same as -b environment=...)"
    )
    p.add_argument("--preset", default=None, choices=presets, help=preset_help)
    p.add_argument(
        "-c",
        "--config",
        action="append",
        default=[],
        help="JSON config file (repeatable, merged in order)",
    )
    p.add_argument(
        "-b", "--binding", action="append", default=[], help="key.sub=value override (repeatable)"
    )
    p.add_argument("-s", "--seed", type=int, default=None)
    g = p.add_argument_group("system (shortcuts for -b fastmeta.<key>=...)")
    g.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ...")
    g.add_argument("--threads", type=int, default=None, help="torch threads per rank")
    g.add_argument("--precision", default=None, choices=PRECISIONS, help="gradient-step precision")
    g.add_argument("--max-env-steps", type=int, default=None)
    g.add_argument("--max-minutes", type=float, default=None)
    g.add_argument(
        "--nproc",
        type=int,
        default=1,
        help="data-parallel ranks on this machine (launches torchrun --standalone)",
    )
    e = p.add_argument_group("experiment")
    e.add_argument("--out", default="experiments", help="directory holding experiment directories")
    e.add_argument("--resume", action="store_true", help="continue from <out>/<name>/checkpoint.pt")
    e.add_argument("--force", action="store_true", help="reuse an existing experiment directory")
    e.add_argument("--no-progress", action="store_true")
    return p


def system_overrides(args: argparse.Namespace) -> dict:
    """The `fastmeta` section's values the flags set."""
    fm = {}
    for flag, key in (
        ("seed", "seed"),
        ("device", "device"),
        ("threads", "torch_threads"),
        ("precision", "precision"),
        ("max_env_steps", "max_env_steps"),
        ("max_minutes", "max_minutes"),
    ):
        v = getattr(args, flag)
        if v is not None:
            fm[key] = v
    return {"fastmeta": fm} if fm else {}


def experiment_dir(args: argparse.Namespace, name: str) -> Path | None:
    """`<out>/<name>`, or None (after printing why) when it exists and neither --resume nor
    --force was given: a new run must not silently append to another run's logs. Only rank 0
    checks (the others start after it may have made the directory)."""
    exp_dir = Path(args.out) / name
    if os.environ.get("RANK", "0") != "0":
        return exp_dir
    if exp_dir.exists() and not (args.resume or args.force):
        print(
            f"error: {exp_dir} exists; pass --resume to continue it or --force to reuse it",
            file=sys.stderr,
        )
        return None
    return exp_dir


def check_shares(config: dict, nproc: int, prefix: str = "") -> None:
    """Every `num_envs` and `batch_size` of `config` must split evenly over `nproc` ranks."""
    if nproc < 1:
        raise ValueError(f"--nproc must be >= 1, got {nproc}")
    for k, v in config.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            check_shares(v, nproc, name + ".")
        elif k in ("num_envs", "batch_size") and isinstance(v, int) and v % nproc:
            raise ConfigError(
                f"config key {name!r} = {v} is not divisible by --nproc {nproc}: each rank "
                f"takes an equal share (choose a multiple of {nproc})"
            )


def launch_ranks(learner: str, argv: list, nproc: int, threads: int | None) -> int:
    """Run `fastmeta train <learner> argv` as `nproc` ranks under torchrun on this machine."""
    if nproc < 1:
        print(f"error: --nproc must be >= 1, got {nproc}", file=sys.stderr)
        return 2
    rest = _without_flag(argv, "--nproc")
    if threads is None:
        rest += ["--threads", str(default_threads(nproc))]
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        str(nproc),
        "-m",
        "fastmeta",
        "train",
        learner,
        *rest,
    ]
    # torchrun gets SIGTERM if this launcher dies, and then ends its ranks
    proc = subprocess.run(cmd, preexec_fn=_term_with_parent if sys.platform == "linux" else None)
    if proc.returncode:
        print(
            f"fastmeta train {learner}: a rank failed (exit code {proc.returncode}; torchrun's "
            "report above names it); `--resume` continues from the last checkpoint",
            file=sys.stderr,
        )
    return proc.returncode


def _term_with_parent() -> None:
    import ctypes
    import signal

    PR_SET_PDEATHSIG = 1
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def _without_flag(argv: list, flag: str) -> list:
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a == flag:
            skip = True
            continue
        if a.startswith(flag + "="):
            continue
        out.append(a)
    return out


def cli_main(
    learner: str,
    parser: argparse.ArgumentParser,
    argv,
    resolve,
    train,
    default_name,
) -> int:
    """Parse `argv`, resolve the config with `resolve(args) -> config`, and train with
    `train(config, exp_dir, resume, progress) -> summary` in `<out>/<default_name(args, config)>`
    (or the given name); rank 0 prints the summary as JSON."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if args.nproc != 1 and "WORLD_SIZE" not in os.environ:
        try:  # refuse a config the ranks cannot share before starting any of them
            check_shares(resolve(args), args.nproc)
        except (ConfigError, ValueError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        return launch_ranks(learner, argv, args.nproc, args.threads)
    if args.threads is None and int(os.environ.get("LOCAL_WORLD_SIZE", "1")) > 1:
        args.threads = default_threads(int(os.environ["LOCAL_WORLD_SIZE"]))
    try:
        config = resolve(args)
        device = config["fastmeta"]["device"]
        try:
            check_device(device)
        except ValueError as e:
            raise ConfigError(f"config key 'fastmeta.device': {e}") from None
    except (ConfigError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    exp_dir = experiment_dir(args, args.name or default_name(args, config))
    if exp_dir is None:
        return 2
    try:
        summary = train(config, exp_dir, resume=args.resume, progress=not args.no_progress)
    except CheckpointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if os.environ.get("RANK", "0") == "0":
        print(json.dumps(summary))
    return 0
