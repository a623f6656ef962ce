"""Train DREAM on a fastmeta env: `python -m fastmeta.agents.dream.train --env distraction
--preset fast` (also `fastmeta train dream ...`), or `train(config, exp_dir)` from Python.

Loop per vector step: act for N slots (one call per agent), step the batched env, store, make
the gradient steps the original's cadence implies for the N new experiences. Meta-episode
counters (logging, evaluation, checkpoints) count finished exploitation episodes over all slots.
Outputs in `<out>/<name>/`: config.json, scalars.csv, evaluations.csv, tensorboard/, gifs/,
checkpoint.pt (atomic; `--resume` continues a run exactly). The loop itself, checkpoints and
the command line are shared with the baselines (fastmeta.agents.common.run_loop).
"""

from __future__ import annotations

import sys

from fastmeta.agents.common.cli import build_parser as cli_parser
from fastmeta.agents.common.cli import cli_main, system_overrides
from fastmeta.agents.common.slot_loop import EnvSlotsRunLoop
from fastmeta.agents.dream import config as cfg_mod
from fastmeta.agents.dream.evaluate import Evaluator
from fastmeta.agents.dream.learner import DreamLearner


class Trainer(EnvSlotsRunLoop):
    learner_class, evaluator_class = DreamLearner, Evaluator
    EPISODES = "meta_episodes"
    COUNTERS = ("explore_steps", "exploit_steps", "meta_episodes")
    WINDOWS = ("returns", "explore_rewards", "explore_lengths")
    EVAL_SIZE, GIF_KEY = "eval_meta_episodes", "gif_meta_episodes"
    TEST_STEPS = ("test_exploration_steps", "steps/test_exploration_per_episode")

    def step(self) -> int:
        env, lr, c = self.env, self.learner, self.counters
        if self._act_counts is None:
            n_x = int((env.episode_index == 0).sum())
            self._act_counts = self.dist.gather_ints([n_x, env.num_envs - n_x])
        (x_off, x_total), (u_off, u_total) = self.act_offsets(self._act_counts)
        _, out = lr.interact(
            lr.slots, env, self.to_device.put, offsets=((x_off, x_total), (u_off, u_total))
        )
        finished = int(out["exploit_slots"].numel()) if "exploit_slots" in out else 0
        nxt = int((env.episode_index == 0).sum())
        g = self.exchange(
            [
                finished,
                len(lr.explore_replay),
                len(lr.exploit_replay),
                nxt,
                env.num_envs - nxt,
            ]
        )
        self._act_counts = g[:, 3:5]
        n = int(g[:, 3:5].sum())  # every rank's slots: the global num_envs
        c["env_steps"] += n
        c["explore_steps"] += x_total
        c["exploit_steps"] += u_total
        c["meta_episodes"] += int(g[:, 0].sum())
        if "explore_slots" in out:
            self.windows["explore_rewards"].extend(out["explore_rewards"].tolist())
            self.windows["explore_lengths"].extend(out["explore_lengths"].tolist())
        if "exploit_slots" in out:
            self.windows["returns"].extend(out["exploit_returns"].tolist())
        # the smallest replay, times the ranks: each rank samples its share from its own
        sizes = (self.dist.world * int(g[:, 1].min()), self.dist.world * int(g[:, 2].min()))
        return lr.learn(x_total, u_total, *sizes)

    def scalars(self, means: dict) -> dict:
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
            if means.get(w) is not None:
                values[tag] = means[w]
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
        cfg_mod.ENVIRONMENTS,
    )


def resolve_args(args) -> dict:
    """The config the parsed command line describes."""
    return cfg_mod.resolve(
        args.preset or "default", args.config, args.binding, args.env, system_overrides(args)
    )


def _name(args, config) -> str:
    return f"dream-{config['environment']}-{args.preset or 'default'}-s{config['fastmeta']['seed']}"


def main(argv=None) -> int:
    return cli_main("dream", build_parser(), argv, resolve_args, train, _name)


if __name__ == "__main__":
    sys.exit(main())
