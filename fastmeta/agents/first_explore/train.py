"""Train First-Explore (or its always-exploit control) on a fastmeta env, on the run loop every
learner shares (fastmeta.agents.common.run_loop).

    python -m fastmeta.agents.first_explore.train --env bandit --preset fast
    fastmeta train first-explore --env treasure --control always-exploit -b total_updates=2000
    fastmeta train first-explore --env bandit --preset paper --nproc 2

One step of the loop is one update (learner.py); cadences (`eval_every`, `log_every`,
`checkpoint_every`) count updates, and the run ends at `total_updates` (or a budget). Outputs in
`<out>/<name>/`: config.json, scalars.csv, evaluations.csv (update, env_steps, k, eval_return),
tensorboard/, checkpoint.pt (atomic, with the previous one kept; `--resume` continues exactly).
"""

from __future__ import annotations

import sys

import numpy as np

from fastmeta.agents.common.cli import build_parser as cli_parser
from fastmeta.agents.common.cli import cli_main, system_overrides
from fastmeta.agents.common.run_loop import RunLoop
from fastmeta.agents.first_explore import evaluate as ev
from fastmeta.agents.first_explore.config import (
    CONTROLS,
    ENVIRONMENTS,
    PRESETS,
    Args,
    args_from_config,
    resolve,
)
from fastmeta.agents.first_explore.learner import Learner, derive_seed, make_env, model_config

__all__ = ["Args", "Learner", "Trainer", "main", "make_env", "model_config", "resolve", "train"]

ENVS = ENVIRONMENTS


class Trainer(RunLoop):
    EPISODES = "updates"
    COUNTERS = ("updates",)
    WINDOWS = ("returns",)
    EVAL_COLUMNS = ("elapsed_s", "update", "env_steps", "k", "eval_return", "train_return")

    def build(self) -> None:
        self.args = args_from_config(self.config)
        self.learner = Learner(self.config, self.dist, self.device)
        self.eval_seed = derive_seed(self.args.seed, 2**31 - 1)
        self.stats: dict = {}

    def step(self) -> int:
        self.stats = self.learner.update()
        c = self.counters
        c["updates"] = self.learner.update_idx
        c["env_steps"] = self.learner.update_idx * self.learner.env_steps_per_update
        train = self.stats.get("train_exploit_reward", self.stats.get("train_context_return"))
        if train is not None:
            self.windows["returns"].append(train)
        return 1

    def finished(self) -> bool:
        return self.learner.update_idx >= self.args.total_updates

    def scalars(self, means: dict) -> dict:
        c = self.counters
        rate = c["updates"] / max(c["elapsed_s"], 1e-9)
        return {
            **self.stats,
            "updates_per_s": rate,
            "env_steps_per_s": rate * self.learner.env_steps_per_update,
            "reward/train": means.get("returns"),
        }

    def gradient_steps(self) -> int:
        return self.learner.update_idx

    def parameters_to_check(self) -> list:
        return list(self.learner.model.state_dict().values())

    def run_evaluation(self, gif_slots: int) -> dict:
        a = self.args
        res = ev.evaluate(self.learner.model, a, [a.eval_k], a.eval_lifetimes, self.eval_seed)
        r = float(np.asarray(res["mean_return"])[0])
        return {
            "test_return": r,
            "eval_return": r,
            "update": self.learner.update_idx,
            "k": a.eval_k,
            "scalars": {"eval_return": r},
        }


def train(config: dict, exp_dir, resume: bool = False, progress: bool = True) -> dict:
    """Run (or continue) the training `config` describes; returns a summary dict."""
    summary = Trainer.train(config, exp_dir, resume=resume, progress=progress)
    summary["final_eval_return"] = summary["test_return"]
    summary["exp_dir"] = str(exp_dir)
    return summary


def resolve_args(
    env: str = "bandit",
    preset: str = "paper",
    bindings=(),
    control: str | None = None,
    overrides: dict | None = None,
    files=(),
) -> dict:
    """The resolved config of a run (env, preset, bindings, control, overrides)."""
    return resolve(env, preset, files, bindings, control, overrides)


def build_parser():
    p = cli_parser(
        "fastmeta train first-explore",
        "Train First-Explore or its always-exploit control.",
        "first-explore",
        PRESETS,
        "paper (default): the original's hyperparameters; fast: tuned for a 2-core CPU",
        ENVIRONMENTS,
    )
    p.add_argument("--control", default=None, choices=CONTROLS)
    return p


def _resolve(args) -> dict:
    return resolve(
        args.env or "bandit",
        args.preset or "paper",
        args.config,
        args.binding,
        args.control,
        system_overrides(args),
    )


def _name(args, config) -> str:
    control = config["first_explore"]["control"]
    ctl = "" if control == "none" else f"-{control}"
    seed = config["fastmeta"]["seed"]
    return f"first-explore-{config['environment']}{ctl}-{args.preset or 'paper'}-s{seed}"


def main(argv=None) -> int:
    return cli_main("first-explore", build_parser(), argv, _resolve, train, _name)


if __name__ == "__main__":
    sys.exit(main())
