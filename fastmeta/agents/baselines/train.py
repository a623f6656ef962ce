"""Train E-RL², IMPORT or VariBAD on a fastmeta grid env: `fastmeta train rl2|import|varibad
--env distraction --preset fast`, or `train(config, exp_dir)` from Python.

Loop per vector step: one act call for N trial slots, step the batched env, store, and after
every finished trial make the gradient steps its experiences are due (spec §3.5). Trial
counters (logging, evaluation, checkpoints) count finished trials over all slots. The loop,
checkpoints and command line are the DREAM learner's (fastmeta.agents.common.run_loop), so outputs in
`<out>/<name>/` are laid out as its: config.json, scalars.csv (tags agent_DQN/..., spec §3.4),
evaluations.csv (its `meta_episode` column counts trials), tensorboard/, gifs/, checkpoint.pt
(atomic; `--resume` continues a run exactly).
"""

from __future__ import annotations

import sys

import torch

from fastmeta.agents.baselines import config as cfg_mod
from fastmeta.agents.baselines.evaluate import TrialEvaluator
from fastmeta.agents.baselines.learner import BaselineLearner
from fastmeta.agents.common.cli import build_parser as cli_parser
from fastmeta.agents.common.cli import cli_main, system_overrides
from fastmeta.agents.common.slot_loop import EnvSlotsRunLoop
from fastmeta.agents.dream.config import ENVIRONMENTS


class BaselineTrainer(EnvSlotsRunLoop):
    learner_class, evaluator_class = BaselineLearner, TrialEvaluator
    EPISODES = "trials"
    COUNTERS = ("trials",)
    WINDOWS = ("returns", "lengths")
    EVAL_SIZE, GIF_KEY = "eval_trials", "gif_trials"
    TEST_STEPS = ("test_steps", "steps/test_steps_per_episode")

    def step(self) -> int:
        env, lr, c, put = self.env, self.learner, self.counters, self.to_device.put
        n, rank, world = env.num_envs, self.dist.rank, self.dist.world
        episode = env.episode_index.copy()
        a = lr.act(
            lr.slots,
            put("obs", env.obs),
            put("instructions", env.instructions),
            put("task_ids", env.task_ids),
            offset=(rank * n, world * n),
        )
        _, rew, term, trunc, _ = env.step(a.cpu().numpy())
        out = lr.observe(
            lr.slots,
            torch.from_numpy(episode).to(lr.device),
            put("rew", rew, torch.float64),
            put("done", term | trunc),
            put("trial_done", env.trial_done),
            put("next_obs", env.obs),
            put("next_instructions", env.instructions),
            number_trials=False,
        )
        fin = out["slots"] if out else torch.zeros(0, dtype=torch.long)
        g = self.exchange([fin.numel(), len(lr.replay)])
        total = int(g[:, 0].sum())
        c["env_steps"] += n * world
        if not total:
            return 0
        lr.number_new_trials(fin, int(g[:rank, 0].sum()), total)
        c["trials"] += total
        if out:
            self.windows["returns"].extend(out["returns"].tolist())
            self.windows["lengths"].extend(out["lengths"].tolist())
        mine = (out["lengths"].tolist(), out["trials"].tolist()) if out else ([], [])
        if self.dist.enabled:
            parts = self.dist.gather_object(mine, to_all=True)  # in rank order: global trial order
            mine = ([x for p in parts for x in p[0]], [x for p in parts for x in p[1]])
        finished = {"lengths": mine[0], "trials": mine[1]}
        return lr.learn(finished, world * int(g[:, 1].min()))

    def scalars(self, means: dict) -> dict:
        values = {f"agent_{k}": v for k, v in self.learner.summary().items()}
        values["steps/total"] = self.counters["env_steps"]
        if means.get("returns") is not None:
            values["reward/train"] = means["returns"]
            values["steps/steps_per_episode"] = means["lengths"]
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
        ENVIRONMENTS,
    )


def main(method: str, argv=None) -> int:
    def resolve(args):
        return cfg_mod.resolve(
            method,
            args.preset or "default",
            args.config,
            args.binding,
            args.env,
            system_overrides(args),
        )

    def name(args, config):
        env, seed = config["environment"], config["fastmeta"]["seed"]
        return f"{method}-{env}-{args.preset or 'default'}-s{seed}"

    return cli_main(method, build_parser(method), argv, resolve, train, name)


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
