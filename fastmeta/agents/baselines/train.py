"""Train E-RL², IMPORT or VariBAD on a fastmeta grid env: `fastmeta train rl2|import|varibad
--env distraction --preset fast`, or `train(config, exp_dir)` from Python.

Loop per vector step: one act call for N trial slots, step the batched env, store, and after
every finished trial make the gradient steps its experiences are due (spec §3.5). Trial
counters (logging, evaluation, checkpoints) count finished trials over all slots. The loop,
checkpoints and command line are the DREAM learner's (fastmeta.agents.run_loop), so outputs in
`<out>/<name>/` are laid out as its: config.json, scalars.csv (tags agent_DQN/..., spec §3.4),
evaluations.csv (its `meta_episode` column counts trials), tensorboard/, gifs/, checkpoint.pt
(atomic; `--resume` continues a run exactly).
"""

from __future__ import annotations

import functools
import sys

import numpy as np
import torch

from fastmeta.agents.baselines import config as cfg_mod
from fastmeta.agents.baselines.evaluate import TrialEvaluator
from fastmeta.agents.baselines.learner import BaselineLearner
from fastmeta.agents.dream.evaluate import _t
from fastmeta.agents.run_loop import RunLoop, cli_main, cli_parser


class BaselineTrainer(RunLoop):
    learner_class, evaluator_class = BaselineLearner, TrialEvaluator
    EPISODES = "trials"
    COUNTERS = ("trials",)
    WINDOWS = ("returns", "lengths")
    EVAL_SIZE, GIF_SLOTS = "eval_trials", "gif_trials"
    TEST_STEPS = ("test_steps", "steps/test_steps_per_episode")

    def step(self) -> int:
        env, lr, dev, c = self.env, self.learner, self.learner.device, self.counters
        episode = env.episode_index.copy()
        a = lr.act(lr.slots, _t(env.obs, dev), _t(env.instructions, dev), _t(env.task_ids, dev))
        _, rew, term, trunc, _ = env.step(a.cpu().numpy())
        out = lr.observe(
            lr.slots,
            _t(episode, dev),
            _t(rew, dev, torch.float64),
            _t(term | trunc, dev),
            _t(env.trial_done, dev),
            _t(env.obs, dev),
            _t(env.instructions, dev),
        )
        c["env_steps"] += env.num_envs
        if out:
            self.windows["returns"].extend(out["returns"].tolist())
            self.windows["lengths"].extend(out["lengths"].tolist())
            c["trials"] += int(out["slots"].numel())
        return lr.learn(out)

    def scalars(self) -> dict:
        values = {f"agent_{k}": v for k, v in self.learner.summary().items()}
        values["steps/total"] = self.counters["env_steps"]
        if self.windows["returns"]:
            values["reward/train"] = float(np.mean(self.windows["returns"]))
            values["steps/steps_per_episode"] = float(np.mean(self.windows["lengths"]))
        return values

    def gradient_steps(self) -> int:
        return self.learner.agent.gradient_steps


train = BaselineTrainer.train


def build_parser(method: str):
    return cli_parser(
        f"fastmeta train {method}",
        f"Train the {method} baseline on a fastmeta env.",
        method,
        cfg_mod.PRESETS,
        "default/paper: the original's config and cadence; fast: vectorized",
    )


def main(method: str, argv=None) -> int:
    return cli_main(
        BaselineTrainer,
        build_parser(method).parse_args(argv),
        functools.partial(cfg_mod.resolve, method),
        method,
    )


def main_rl2(argv=None) -> int:
    return main("rl2", argv)


def main_import(argv=None) -> int:
    return main("import", argv)


def main_varibad(argv=None) -> int:
    return main("varibad", argv)


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in cfg_mod.METHODS:
        print(
            f"usage: python -m fastmeta.agents.baselines.train {{{'|'.join(cfg_mod.METHODS)}}} ...",
            file=sys.stderr,
        )
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2:]))
