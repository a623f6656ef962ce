"""Train DREAM on a fastmeta env: `python -m fastmeta.agents.dream.train --env distraction
--preset fast` (also `fastmeta train dream ...`), or `train(config, exp_dir)` from Python.

Loop per vector step: act for N slots (one call per agent), step the batched env, store, make
the gradient steps the original's cadence implies for the N new experiences. Meta-episode
counters (logging, evaluation, checkpoints) count finished exploitation episodes over all slots.
Outputs in `<out>/<name>/`: config.json, scalars.csv, evaluations.csv, tensorboard/, gifs/,
checkpoint.pt (atomic; `--resume` continues a run exactly). The loop itself, checkpoints and
the command line are shared with the baselines (fastmeta.agents.run_loop).
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from fastmeta.agents.dream import config as cfg_mod
from fastmeta.agents.dream.evaluate import Evaluator, _t
from fastmeta.agents.dream.learner import DreamLearner
from fastmeta.agents.run_loop import RunLoop, cli_main, cli_parser


class Trainer(RunLoop):
    learner_class, evaluator_class = DreamLearner, Evaluator
    EPISODES = "meta_episodes"
    COUNTERS = ("explore_steps", "exploit_steps", "meta_episodes")
    WINDOWS = ("returns", "explore_rewards", "explore_lengths")
    EVAL_SIZE, GIF_SLOTS = "eval_meta_episodes", "gif_meta_episodes"
    TEST_STEPS = ("test_exploration_steps", "steps/test_exploration_per_episode")

    def step(self) -> int:
        env, lr, dev, c = self.env, self.learner, self.learner.device, self.counters
        episode = env.episode_index.copy()
        a = lr.act(
            lr.slots,
            _t(env.obs, dev),
            _t(episode, dev),
            _t(env.instructions, dev),
            _t(env.task_ids, dev),
        )
        _, rew, term, trunc, _ = env.step(a.cpu().numpy())
        out = lr.observe(
            lr.slots,
            _t(episode, dev),
            _t(rew, dev, torch.float64),
            _t(term | trunc, dev),
            _t(env.final_obs, dev),
        )
        n_explore = int((episode == 0).sum())
        n = env.num_envs
        c["env_steps"] += n
        c["explore_steps"] += n_explore
        c["exploit_steps"] += n - n_explore
        if "explore_slots" in out:
            self.windows["explore_rewards"].extend(out["explore_rewards"].tolist())
            self.windows["explore_lengths"].extend(out["explore_lengths"].tolist())
        if "exploit_slots" in out:
            self.windows["returns"].extend(out["exploit_returns"].tolist())
            c["meta_episodes"] += int(out["exploit_slots"].numel())
        return lr.learn(n_explore, n - n_explore)

    def scalars(self) -> dict:
        c, lr = self.counters, self.learner
        values = {}
        for prefix, agent in (("instruction_DQN", lr.exploit), ("exploration_DQN", lr.explore)):
            for k, v in agent.summary().items():
                values[f"{prefix}/{k}"] = v
        for k, v in lr.aux_stats.items():
            if len(v):
                values[f"instruction_DQN/{k}"] = sum(v) / len(v)
        values["steps/exploration"] = c["explore_steps"]
        values["steps/instruction"] = c["exploit_steps"]
        for tag, w in (
            ("reward/train", "returns"),
            ("reward/exploration", "explore_rewards"),
            ("steps/exploration_per_episode", "explore_lengths"),
        ):
            if len(self.windows[w]):
                values[tag] = float(np.mean(self.windows[w]))
        return values

    def gradient_steps(self) -> int:
        return self.learner.exploit.gradient_steps + self.learner.explore.gradient_steps


train = Trainer.train


def build_parser():
    return cli_parser(
        "fastmeta train dream",
        "Train DREAM on a fastmeta env.",
        "dream",
        cfg_mod.PRESETS,
        "default/paper: the original's config and cadence; fast: tuned for speed",
    )


def main(argv=None) -> int:
    return cli_main(Trainer, build_parser().parse_args(argv), cfg_mod.resolve, "dream")


if __name__ == "__main__":
    sys.exit(main())
