"""The `fastmeta` command: wires subcommands to the env, benchmark and learner entry points.

fastmeta --version                              the installed version
fastmeta list                                   registered envs and their Gymnasium ids
fastmeta bench [--quick] [--out DIR] [-k EXPR]  throughput suite and report (./fastmeta-bench/)
fastmeta train dream --env distraction [...]    DREAM learner
fastmeta train first-explore --env bandit [...] First-Explore learner
fastmeta train rl2|import|varibad --env map     DREAM's baselines
fastmeta sweep FILE [--address auto] [...]      a sweep file's grid of trials on Ray Tune
                                                (the cluster extra), then the comparison

Every learner takes the same system flags: --device, --threads, --precision, --max-env-steps,
--max-minutes, and --nproc N (N data-parallel ranks through torchrun; see
docs/training_at_scale.md for several machines, SLURM and GPUs).
"""

from __future__ import annotations

import importlib
import sys

# learner name -> "module:function" taking argv (the arguments after the learner's name)
LEARNERS = {
    "dream": "fastmeta.agents.dream.train:main",
    "first-explore": "fastmeta.agents.first_explore.train:main",
    "rl2": "fastmeta.agents.baselines.train:main_rl2",
    "import": "fastmeta.agents.baselines.train:main_import",
    "varibad": "fastmeta.agents.baselines.train:main_varibad",
}


def _list(_argv) -> int:
    from fastmeta.registry import ENVS

    width = max(len(n) for n in ENVS)
    for name in sorted(ENVS):
        spec = ENVS[name]
        print(
            f"{name:<{width}}  {spec.gym_id or '-':<32}  aliases: {', '.join(spec.aliases) or '-'}"
        )
    return 0


def _bench(argv) -> int:
    return importlib.import_module("fastmeta.bench.__main__").main(argv)


def _train(argv) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: fastmeta train {{{'|'.join(LEARNERS)}}} [options]")
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in LEARNERS:
        print(
            f"fastmeta train: unknown learner {name!r}; choose from {', '.join(LEARNERS)}",
            file=sys.stderr,
        )
        return 2
    module, func = LEARNERS[name].split(":")
    try:
        entry = getattr(importlib.import_module(module), func)
    except (ImportError, AttributeError) as e:
        print(
            f"fastmeta train {name}: this learner is not available in this build ({e})",
            file=sys.stderr,
        )
        return 2
    return entry(rest) or 0


def _sweep(argv) -> int:
    # fastmeta.sweep.runner imports Ray only when trials run (--dry-run works without it)
    try:
        runner = importlib.import_module("fastmeta.sweep.runner")
    except ImportError as e:
        print(
            f"fastmeta sweep: needs the learners and Ray: pip install 'fastmeta[train,cluster]' ({e})",
            file=sys.stderr,
        )
        return 2
    return runner.main(argv)


COMMANDS = {"list": _list, "bench": _bench, "train": _train, "sweep": _sweep}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        from fastmeta import __version__

        print(f"fastmeta {__version__}")
        return 0
    cmd = COMMANDS.get(argv[0])
    if cmd is None:
        print(
            f"fastmeta: unknown command {argv[0]!r}; choose from {', '.join(COMMANDS)}",
            file=sys.stderr,
        )
        return 2
    return cmd(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
