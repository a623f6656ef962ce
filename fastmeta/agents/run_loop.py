"""The training loop and command line of the learners that act on N env slots with recurrent
DQN agents: DREAM and the E-RL², IMPORT and VariBAD baselines
(`fastmeta train dream|rl2|import|varibad`).

`RunLoop` owns everything that does not depend on the learner: seeding, the batched env, the
budgets (`max_env_steps`, `max_minutes`, `stop_test_return`), the evaluation / logging /
checkpoint cadences, checkpoints holding all that exact resume needs, the progress bar and SIGTERM.
Cadences count finished episodes of the learner's unit (DREAM's meta-episodes, the baselines'
trials) over all slots. A learner's trainer names its learner, evaluator, counters and windows,
and supplies one vector step of bookkeeping and the scalars it logs.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections import deque
from pathlib import Path

import numpy as np
import torch

import fastmeta
from fastmeta.agents.checkpoint import CHECKPOINT, atomic_save, env_state, load_env_state
from fastmeta.agents.dream.config import ENVIRONMENTS, ConfigError
from fastmeta.agents.dream.evaluate import write_gifs
from fastmeta.agents.dream.run_log import RunLog
from fastmeta.agents.env_sizes import net_sizes
from fastmeta.agents.experiment_cli import add_experiment_arguments, experiment_dir


class RunLoop:
    """One training run in an experiment directory; subclasses fill in the names below."""

    learner_class: type  # (config, NetSizes, num_slots, device)
    evaluator_class: type  # (env_name, make_env, n, seed); .run(learner, gif_slots) -> dict
    EPISODES: str  # the counter of finished episodes that the cadences follow
    COUNTERS: tuple  # counters the step keeps besides env_steps (EPISODES among them)
    WINDOWS: tuple  # running windows of finished-episode statistics; "returns" first
    EVAL_SIZE: str  # fastmeta key: test slots per evaluation
    GIF_SLOTS: str  # fastmeta key: test slots recorded as GIFs
    TEST_STEPS: tuple  # (evaluator result key, scalar tag) of the mean test length

    def __init__(self, config: dict, exp_dir, progress: bool = True):
        fm = config["fastmeta"]
        self.config, self.fm = config, fm
        self.dir = Path(exp_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.progress = progress
        torch.set_num_threads(int(fm["torch_threads"]))
        torch.manual_seed(int(fm["seed"]))
        np.random.seed(int(fm["seed"]))
        device = fm["device"]
        if str(device).startswith("cuda") and not torch.cuda.is_available():
            raise RuntimeError(
                f"config key 'fastmeta.device' = {device!r} but CUDA is not available"
            )
        self.env_name = config["environment"]
        n = int(fm["num_envs"])

        def make(num_envs, split):
            # the native env itself: grids and the sign world share the contract the learners read
            return fastmeta.make(
                self.env_name,
                num_envs=num_envs,
                seed=int(fm["seed"]),
                split=split,
                episodes_per_trial=2,
            )

        self.env = make(n, "train")
        self.sizes = net_sizes(self.env)
        self.learner = self.learner_class(config, self.sizes, n, device)
        self.evaluator = self.evaluator_class(
            self.env_name, make, int(fm[self.EVAL_SIZE]), int(fm["seed"])
        )
        self.counters = {
            "env_steps": 0,
            **dict.fromkeys(self.COUNTERS, 0),
            "next_log": 0,
            "next_eval": 0,
            "next_checkpoint": int(fm["checkpoint_every"]),
            "elapsed_s": 0.0,
            "last_test": None,
            "evals": 0,
        }
        self.windows = {k: deque(maxlen=200) for k in self.WINDOWS}
        self._started = False
        with open(self.dir / "config.json", "w") as f:
            json.dump(config, f, indent=2)

    # -- what a learner's trainer supplies ------------------------------------------------------
    def step(self) -> int:
        """One vector step: act, step the env, store, learn; returns the gradient steps made."""
        raise NotImplementedError

    def scalars(self) -> dict:
        """The scalars logged every `log_every` episodes, under the original's tags."""
        raise NotImplementedError

    def gradient_steps(self) -> int:
        raise NotImplementedError

    # -- state --------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "learner": self.learner.state_dict(),
            "env": env_state(self.env),
            "counters": dict(self.counters),
            "windows": {k: list(v) for k, v in self.windows.items()},
            "torch_rng": torch.get_rng_state(),
            "config": self.config,
        }

    def save(self) -> None:
        atomic_save(self.state_dict(), self.dir / CHECKPOINT)

    def load(self, path=None) -> None:
        state = torch.load(
            path or self.dir / CHECKPOINT, map_location=self.learner.device, weights_only=False
        )
        self.learner.load_state_dict(state["learner"])
        load_env_state(self.env, state["env"])
        self.counters.update(state["counters"])
        for k, v in state["windows"].items():
            self.windows[k].clear()
            self.windows[k].extend(v)
        torch.set_rng_state(state["torch_rng"])
        self._started = True

    # -- logging, evaluation ------------------------------------------------------------------
    def log(self) -> None:
        c = self.counters
        self.run_log.scalars(self.scalars(), c[self.EPISODES], c["env_steps"])

    def evaluate(self) -> float:
        c = self.counters
        steps_key, steps_tag = self.TEST_STEPS
        res = self.evaluator.run(self.learner, gif_slots=int(self.fm[self.GIF_SLOTS]))
        c["last_test"] = res["test_return"]
        c["evals"] += 1
        self.run_log.scalars(
            {"reward/test": res["test_return"], steps_tag: res[steps_key]},
            c[self.EPISODES],
            c["env_steps"],
        )
        train_ret = (
            float(np.mean(self.windows["returns"])) if self.windows["returns"] else float("nan")
        )
        # One evaluations.csv layout for every learner, so runs compare directly: for the
        # baselines `meta_episode` counts trials and `test_exploration_steps` is the trial length.
        self.run_log.evaluation(
            {
                "elapsed_s": round(c["elapsed_s"], 2),
                "meta_episode": c[self.EPISODES],
                "env_steps": c["env_steps"],
                "gradient_steps": self.gradient_steps(),
                "test_return": round(res["test_return"], 4),
                "test_exploration_steps": round(res[steps_key], 2),
                "train_return": round(train_ret, 4),
            }
        )
        if "frames" in res:
            write_gifs(res["frames"], self.dir / "gifs", f"eval{c['evals']:04d}")
        return res["test_return"]

    # -- main loop ----------------------------------------------------------------------------
    def run(self, max_env_steps: int | None = None) -> dict:
        fm, c, ep = self.fm, self.counters, self.EPISODES
        max_env_steps = int(max_env_steps if max_env_steps is not None else fm["max_env_steps"])
        max_s = None if fm["max_minutes"] is None else 60.0 * float(fm["max_minutes"])
        stop_at = fm["stop_test_return"]
        every = {k: int(fm[k]) for k in ("eval_every", "log_every", "checkpoint_every")}

        def next_multiple(key):
            return (c[ep] // every[key] + 1) * every[key]

        self.run_log = RunLog(self.dir)
        if not self._started:
            self.env.reset(seed=int(fm["seed"]))
            self._started = True
        bar = None
        if self.progress:
            from tqdm import tqdm

            bar = tqdm(
                total=max_env_steps,
                initial=c["env_steps"],
                unit="step",
                dynamic_ncols=True,
                file=sys.stderr,
            )
        t_start, elapsed0, steps0 = time.perf_counter(), c["elapsed_s"], c["env_steps"]
        t_bar, steps_bar, grads_bar = t_start, c["env_steps"], 0
        grads_total = 0
        stopped = "budget"
        self._stop_requested = False
        previous = _install_sigterm(self)
        try:
            while c["env_steps"] < max_env_steps:
                if self._stop_requested:
                    stopped = "signal"
                    break
                if c[ep] >= c["next_eval"]:
                    c["next_eval"] = next_multiple("eval_every")
                    test = self.evaluate()
                    if stop_at is not None and test >= stop_at:
                        stopped = "target"
                        break
                grads = self.step()
                grads_total += grads
                c["elapsed_s"] = elapsed0 + time.perf_counter() - t_start
                if c[ep] >= c["next_log"]:
                    c["next_log"] = next_multiple("log_every")
                    self.log()
                if c[ep] >= c["next_checkpoint"]:
                    c["next_checkpoint"] = next_multiple("checkpoint_every")
                    self.save()
                if bar is not None:
                    now = time.perf_counter()
                    if now - t_bar > 1.0:
                        bar.update(c["env_steps"] - bar.n)
                        bar.set_postfix(
                            {
                                "steps/s": f"{(c['env_steps'] - steps_bar) / (now - t_bar):.0f}",
                                "updates/s": f"{grads_bar and grads_bar / (now - t_bar):.0f}",
                                "train": f"{np.mean(self.windows['returns']) if self.windows['returns'] else 0:.2f}",
                                "test": f"{c['last_test'] if c['last_test'] is not None else float('nan'):.2f}",
                            }
                        )
                        t_bar, steps_bar, grads_bar = now, c["env_steps"], 0
                    grads_bar += grads
                if max_s is not None and c["elapsed_s"] >= max_s:
                    stopped = "time"
                    break
            if stopped != "target":
                self.evaluate()
            self.save()
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            if bar is not None:
                bar.close()
            self.run_log.close()
        wall = time.perf_counter() - t_start
        return {
            "test_return": c["last_test"],
            "env_steps": c["env_steps"],
            ep: c[ep],
            "elapsed_s": c["elapsed_s"],
            "gradient_steps": self.gradient_steps(),
            "env_steps_per_s": (c["env_steps"] - steps0) / wall,
            "updates_per_s": grads_total / wall,
            "stopped": stopped,
            "updates_this_run": grads_total,
            "wall_s_this_run": wall,
        }

    @classmethod
    def train(
        cls,
        config: dict,
        exp_dir,
        resume: bool = False,
        progress: bool = True,
        max_env_steps: int | None = None,
    ) -> dict:
        """Train with a resolved config (see config.resolve); returns a summary dict."""
        trainer = cls(config, exp_dir, progress)
        if resume and (Path(exp_dir) / CHECKPOINT).exists():
            trainer.load()
        return trainer.run(max_env_steps)


def _install_sigterm(trainer):
    """SIGTERM ends the run cleanly (final evaluation and checkpoint); main thread only."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        trainer._stop_requested = True

    return signal.signal(signal.SIGTERM, handler)


# -- command line -----------------------------------------------------------------------------
def cli_parser(
    prog: str, description: str, name_prefix: str, presets, preset_help: str
) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument(
        "name",
        nargs="?",
        default=None,
        help=f"experiment name (default: {name_prefix}-<env>-<preset>-s<seed>)",
    )
    p.add_argument(
        "--env", default=None, choices=ENVIRONMENTS, help="benchmark (same as -b environment=...)"
    )
    p.add_argument("--preset", default="default", choices=presets, help=preset_help)
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
    add_experiment_arguments(p)
    return p


def cli_main(trainer_class: type, args: argparse.Namespace, resolve, name_prefix: str) -> int:
    """Resolve the config of parsed `args` with `resolve(preset, files, bindings, environment,
    overrides)`, train in `<out>/<name>` and print the summary as JSON."""
    overrides = {"fastmeta": {"seed": args.seed}} if args.seed is not None else None
    try:
        config = resolve(args.preset, args.config, args.binding, args.env, overrides)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    name = (
        args.name
        or f"{name_prefix}-{config['environment']}-{args.preset}-s{config['fastmeta']['seed']}"
    )
    exp_dir = experiment_dir(args, name)
    if exp_dir is None:
        return 2
    summary = trainer_class.train(
        config, exp_dir, resume=args.resume, progress=not args.no_progress
    )
    print(json.dumps(summary))
    return 0
