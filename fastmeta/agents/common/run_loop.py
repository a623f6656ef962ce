"""The training loop every learner runs on (`fastmeta train dream|rl2|import|varibad|first-explore`).

`RunLoop` owns everything that does not depend on the learner: seeding, the device, the budgets
(`max_env_steps`, `max_minutes`, `stop_test_return`), the evaluation / logging / checkpoint
cadences, checkpoints holding all that exact resume needs, the progress bar, SIGTERM, and
data-parallel ranks (fastmeta.agents.common.distributed). Cadences count the learner's unit
(`EPISODES`: DREAM's meta-episodes, the baselines' trials, First-Explore's updates) summed over
all ranks, so every rank evaluates, logs and checkpoints at the same step.

A learner's trainer subclasses it: `build()` makes the learner (and its envs and evaluator), and
`step()` makes one vector step (or update) and returns the gradient steps made. Rank 0 alone
evaluates, logs, writes GIFs and checkpoints; a checkpoint holds every rank's learner, replay, RNG
and env state, and resumes only with the same number of ranks.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections import deque
from pathlib import Path

import numpy as np
import torch

from fastmeta.agents.common.checkpoint import (
    CHECKPOINT,
    CheckpointError,
    atomic_save,
    load_checkpoint,
)
from fastmeta.agents.common.device import check_device
from fastmeta.agents.common.distributed import Dist
from fastmeta.agents.common.gifs import write_gifs
from fastmeta.agents.common.precision import check_precision
from fastmeta.agents.common.run_log import RunLog

EVAL_COLUMNS = (
    "elapsed_s",
    "meta_episode",
    "env_steps",
    "gradient_steps",
    "test_return",
    "test_exploration_steps",
    "train_return",
)


class RunLoop:
    """One training run in an experiment directory; subclasses fill in the names below."""

    EPISODES: str  # the counter the cadences follow (summed over ranks)
    COUNTERS: tuple  # counters the step keeps besides env_steps (EPISODES among them)
    WINDOWS: tuple  # running windows of finished-episode statistics; "returns" first
    EVAL_COLUMNS: tuple = EVAL_COLUMNS  # evaluations.csv columns (after wall_time)
    GIF_KEY: str | None = None  # fastmeta key: test slots recorded as GIFs (None: no GIFs)

    def __init__(self, config: dict, exp_dir, progress: bool = True, dist: Dist | None = None):
        fm = config["fastmeta"]
        self.config, self.fm = config, fm
        self.dist = dist if dist is not None else Dist.from_environment(fm["device"])
        self.dir = Path(exp_dir)
        if self.dist.is_main:
            self.dir.mkdir(parents=True, exist_ok=True)
        self.progress = progress and self.dist.is_main
        # results depend on the thread count (reduction order), so it is part of the config
        torch.set_num_threads(int(fm["torch_threads"]))
        torch.manual_seed(int(fm["seed"]))
        np.random.seed(int(fm["seed"]))
        try:
            self.device = check_device(self.dist.device(fm["device"]))
        except ValueError as e:
            raise RuntimeError(f"config key 'fastmeta.device': {e}") from None
        self.precision = check_precision(fm.get("precision", "fp32"))
        self.build()
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
        self._stop_local = False
        self.run_log = None
        if self.dist.is_main:
            with open(self.dir / "config.json", "w") as f:
                json.dump(config, f, indent=2)

    # -- what a learner's trainer supplies ------------------------------------------------------
    def build(self) -> None:
        """Make self.learner (and envs, evaluator); called once from __init__."""
        raise NotImplementedError

    def step(self) -> int:
        """One vector step (or update): act, step, store, learn; returns the gradient steps made.
        Must call `self.exchange` once (every rank, every step)."""
        raise NotImplementedError

    def scalars(self, means: dict) -> dict:
        """Scalars logged every `log_every` units; `means` holds each window's mean over ranks."""
        raise NotImplementedError

    def gradient_steps(self) -> int:
        raise NotImplementedError

    def run_evaluation(self, gif_slots: int) -> dict:
        """Rank 0's evaluation: a dict with "test_return" and the extra evaluations.csv columns."""
        raise NotImplementedError

    def finished(self) -> bool:
        """Whether the learner's own schedule is over (First-Explore's `total_updates`)."""
        return False

    def rank_state(self) -> dict:
        """This rank's share of a checkpoint (learner, replay, envs)."""
        return {"learner": self.learner.state_dict()}

    def load_rank_state(self, state: dict) -> None:
        self.learner.load_state_dict(state["learner"])

    # -- ranks ---------------------------------------------------------------------------------
    def exchange(self, values) -> np.ndarray:
        """Every rank's small int vector as a [world, k] array, exchanged once per step; a stop
        request (SIGTERM, time budget) of any rank travels with it."""
        g = self.dist.gather_ints([int(self._stop_local), *[int(v) for v in values]])
        self._stop_all = bool(g[:, 0].any())
        self._exchanged = True
        return g[:, 1:]

    def window_means(self) -> dict:
        """Each window's mean over every rank's recent values (a collective on several ranks)."""
        local = {k: (float(np.sum(v)), len(v)) for k, v in self.windows.items()}
        parts = self.dist.gather_object(local, to_all=True)
        out = {}
        for k in self.windows:
            s = sum(p[k][0] for p in parts)
            n = sum(p[k][1] for p in parts)
            out[k] = s / n if n else None
        return out

    # -- state ---------------------------------------------------------------------------------
    def save(self) -> None:
        """Write the checkpoint (collective: every rank hands rank 0 its state)."""
        if self.dist.enabled:
            self.dist.check_identical(self.parameters_to_check(), "learner parameters")
        mine = {
            **self.rank_state(),
            "windows": {k: list(v) for k, v in self.windows.items()},
            "torch_rng": torch.get_rng_state(),
        }
        states = self.dist.gather_object(mine)
        if self.dist.is_main:
            atomic_save(
                {
                    "world_size": self.dist.world,
                    "ranks": states,
                    "counters": dict(self.counters),
                    "config": self.config,
                    "log_sizes": self.run_log.sizes() if self.run_log is not None else None,
                },
                self.dir / CHECKPOINT,
            )
        self.dist.barrier()

    def parameters_to_check(self) -> list:
        """Tensors that must be identical on every rank (compared at each checkpoint)."""
        return []

    def load(self, path=None) -> None:
        path = Path(path or self.dir / CHECKPOINT)
        state = load_checkpoint(path, map_location="cpu")
        world = state.get("world_size")
        if world is None or "ranks" not in state:
            raise CheckpointError(
                f"{path} was written by an older fastmeta and cannot be resumed by this one"
            )
        if world != self.dist.world:
            raise CheckpointError(
                f"{path} was written by a run of {world} rank(s); resume it with the same "
                f"number (--nproc {world}), not {self.dist.world}"
            )
        mine = _to_device(state["ranks"][self.dist.rank], self.device)
        self.load_rank_state(mine)
        self.counters.update(state["counters"])
        for k, v in mine["windows"].items():
            self.windows[k].clear()
            self.windows[k].extend(v)
        torch.set_rng_state(mine["torch_rng"].cpu())
        self._started = True
        if state.get("log_sizes"):
            c = self.counters
            self._resume_at = {
                **state["log_sizes"],
                "meta_episode": c[self.EPISODES],
                "env_steps": c["env_steps"],
            }

    # -- logging, evaluation ------------------------------------------------------------------
    def log(self) -> None:
        means = self.window_means()
        if self.dist.is_main:
            c = self.counters
            self.run_log.scalars(self.scalars(means), c[self.EPISODES], c["env_steps"])

    def evaluate(self) -> float:
        """Rank 0 evaluates; every rank learns the test return (collective)."""
        c = self.counters
        means = self.window_means()
        test = None
        if self.dist.is_main:
            res = self.run_evaluation(int(self.fm[self.GIF_KEY] or 0) if self.GIF_KEY else 0)
            test = res["test_return"]
            train_ret = means.get("returns")
            row = {
                "elapsed_s": round(c["elapsed_s"], 2),
                "meta_episode": c[self.EPISODES],
                self.EPISODES: c[self.EPISODES],
                "env_steps": c["env_steps"],
                "gradient_steps": self.gradient_steps(),
                "train_return": round(train_ret, 4) if train_ret is not None else float("nan"),
                **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in res.items()},
            }
            self.run_log.evaluation(row)
            self.run_log.scalars(
                {k: v for k, v in res.get("scalars", {}).items()},
                c[self.EPISODES],
                c["env_steps"],
            )
            if "frames" in res:
                write_gifs(res["frames"], self.dir / "gifs", f"eval{c['evals'] + 1:04d}")
        test = self.dist.broadcast_object(test)
        c["last_test"] = test
        c["evals"] += 1
        return test

    # -- main loop ----------------------------------------------------------------------------
    def run(self, max_env_steps: int | None = None) -> dict:
        fm, c, ep = self.fm, self.counters, self.EPISODES
        if max_env_steps is None:
            max_env_steps = fm.get("max_env_steps")
        max_env_steps = float("inf") if max_env_steps is None else int(max_env_steps)
        max_s = None if fm["max_minutes"] is None else 60.0 * float(fm["max_minutes"])
        stop_at = fm["stop_test_return"]
        every = {k: int(fm[k]) for k in ("eval_every", "log_every", "checkpoint_every")}

        def next_multiple(key):
            return (c[ep] // every[key] + 1) * every[key]

        if self.dist.is_main:
            self.run_log = RunLog(
                self.dir,
                self.EVAL_COLUMNS,
                bool(fm.get("tensorboard", True)),
                resume_at=self._resume_at,
            )
            self._resume_at = None
        if not self._started:
            self.start()
            self._started = True
        bar = self._progress_bar(max_env_steps)
        t_start, elapsed0, steps0 = time.perf_counter(), c["elapsed_s"], c["env_steps"]
        t_bar, steps_bar, grads_bar = t_start, c["env_steps"], 0
        grads_total = 0
        stopped = "budget"
        self._stop_local = False
        self._stop_all = False
        previous = _install_sigterm(self)
        try:
            while c["env_steps"] < max_env_steps and not self.finished():
                if self._stop_all:
                    stopped = "signal" if self._signalled else "time"
                    break
                if c[ep] >= c["next_eval"]:
                    c["next_eval"] = next_multiple("eval_every")
                    test = self.evaluate()
                    if stop_at is not None and test >= stop_at:
                        stopped = "target"
                        break
                self._exchanged = False
                grads = self.step()
                if not self._exchanged:
                    self.exchange([])
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
                    grads_bar += grads
                    if now - t_bar > 1.0:
                        self._bar_update(bar, now - t_bar, c["env_steps"] - steps_bar, grads_bar)
                        t_bar, steps_bar, grads_bar = now, c["env_steps"], 0
                if max_s is not None and c["elapsed_s"] >= max_s:
                    self._stop_local = True  # every rank stops after the next exchange
            if stopped != "target":
                self.evaluate()
            self.save()
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            if bar is not None:
                bar.close()
            if self.run_log is not None:
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
            "ranks": self.dist.world,
        }

    def start(self) -> None:
        """Begin a fresh run (reset the envs); not called on resume."""

    _signalled = False
    _resume_at = None  # where the logs stood at the checkpoint a run resumed from

    def _progress_bar(self, total):
        if not self.progress:
            return None
        from tqdm import tqdm

        return tqdm(
            total=None if total == float("inf") else total,
            initial=self.counters["env_steps"],
            unit="step",
            dynamic_ncols=True,
            file=sys.stderr,
        )

    def _bar_update(self, bar, dt, steps, grads) -> None:
        c = self.counters
        bar.update(c["env_steps"] - bar.n)
        returns = self.windows.get("returns")
        bar.set_postfix(
            {
                "steps/s": f"{steps / dt:.0f}",
                "updates/s": f"{grads / dt:.1f}",
                "train": f"{np.mean(returns) if returns else 0:.2f}",
                "test": f"{c['last_test'] if c['last_test'] is not None else float('nan'):.2f}",
            }
        )

    @classmethod
    def train(
        cls,
        config: dict,
        exp_dir,
        resume: bool = False,
        progress: bool = True,
        max_env_steps: int | None = None,
    ) -> dict:
        """Train with a resolved config; returns a summary dict."""
        trainer = cls(config, exp_dir, progress)
        if resume and _any_checkpoint(Path(exp_dir)):
            trainer.load()
        return trainer.run(max_env_steps)


def _any_checkpoint(directory: Path) -> bool:
    from fastmeta.agents.common.checkpoint import previous_path

    return (directory / CHECKPOINT).exists() or previous_path(directory / CHECKPOINT).exists()


_HOST_KEYS = ("generator", "torch_rng")  # RNG states: torch keeps them as CPU byte tensors


def _to_device(obj, device):
    """Tensors of a checkpoint loaded on the CPU, moved to `device` (RNG states stay put)."""
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        return {k: v if k in _HOST_KEYS else _to_device(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_device(v, device) for v in obj)
    return obj


def _install_sigterm(trainer):
    """SIGTERM ends the run cleanly (final evaluation and checkpoint); main thread only."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        trainer._stop_local = True
        trainer._signalled = True

    return signal.signal(signal.SIGTERM, handler)


def default_threads(world: int) -> int:
    """Threads per rank when the user names none: the machine's cores shared by the ranks."""
    return max(1, (os.cpu_count() or 1) // max(1, world))
