"""Train DREAM on a fastmeta env: `python -m fastmeta.agents.dream.train --env distraction
--preset fast` (also `fastmeta train dream ...`), or `train(config, exp_dir)` from Python.

Loop per vector step: act for N slots (one call per agent), step the batched env, store, make
the gradient steps the original's cadence implies for the N new experiences. Meta-episode
counters (logging, evaluation, checkpoints) count finished exploitation episodes over all slots.
Outputs in `<out>/<name>/`: config.json, scalars.csv, evaluations.csv, tensorboard/, gifs/,
checkpoint.pt (atomic; `--resume` continues a run exactly).
"""
from __future__ import annotations

import argparse
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

import fastmeta
from fastmeta.agents.dream import config as cfg_mod
from fastmeta.agents.dream.env_view import DreamEnvView
from fastmeta.agents.dream.evaluate import Evaluator, _t, write_gifs
from fastmeta.agents.dream.learner import DreamLearner, EnvSpecInfo
from fastmeta.agents.dream.run_log import RunLog

CHECKPOINT = "checkpoint.pt"


# -- env state for exact resume ------------------------------------------------------------
def env_state(env) -> dict:
    """Every writable array and plain scalar of a native env (its whole simulation state)."""
    out = {}
    for k, v in vars(env).items():
        if isinstance(v, np.ndarray) and v.flags.writeable:
            out[k] = v.copy()
        elif isinstance(v, (bool, int, float, str)) and not k.startswith("__"):
            out[k] = v
    return out


def load_env_state(env, state: dict) -> None:
    for k, v in state.items():
        if isinstance(v, np.ndarray):
            np.copyto(getattr(env, k), v)     # in place: compiled kernels hold these buffers
        else:
            setattr(env, k, v)


def atomic_save(obj, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


# -- training -----------------------------------------------------------------------------
class Trainer:
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
            raise RuntimeError(f"config key 'fastmeta.device' = {device!r} but CUDA is not available")
        self.env_name = config["environment"]
        n = int(fm["num_envs"])

        def make(num_envs, split):
            return DreamEnvView(fastmeta.make(self.env_name, num_envs=num_envs, seed=int(fm["seed"]),
                                              split=split, episodes_per_trial=2))

        self.env = make(n, "train")
        self.spec = EnvSpecInfo(self.env)
        self.learner = DreamLearner(config, self.spec, n, device)
        self.evaluator = Evaluator(self.env_name, make, int(fm["eval_meta_episodes"]), int(fm["seed"]))
        self.counters = {"env_steps": 0, "explore_steps": 0, "exploit_steps": 0,
                         "meta_episodes": 0, "next_log": 0, "next_eval": 0, "next_checkpoint":
                         int(fm["checkpoint_every"]), "elapsed_s": 0.0, "last_test": None,
                         "evals": 0}
        self.windows = {k: deque(maxlen=200) for k in ("returns", "explore_rewards", "explore_lengths")}
        with open(self.dir / "config.json", "w") as f:
            json.dump(config, f, indent=2)

    # -- state --------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"learner": self.learner.state_dict(), "env": env_state(self.env.env),
                "counters": dict(self.counters), "windows": {k: list(v) for k, v in self.windows.items()},
                "torch_rng": torch.get_rng_state(), "config": self.config}

    def save(self) -> None:
        atomic_save(self.state_dict(), self.dir / CHECKPOINT)

    def load(self, path=None) -> None:
        state = torch.load(path or self.dir / CHECKPOINT, map_location=self.learner.device,
                           weights_only=False)
        self.learner.load_state_dict(state["learner"])
        load_env_state(self.env.env, state["env"])
        self.counters.update(state["counters"])
        for k, v in state["windows"].items():
            self.windows[k].clear()
            self.windows[k].extend(v)
        torch.set_rng_state(state["torch_rng"])
        self._started = True

    # -- one vector step ---------------------------------------------------------------------
    def step(self) -> int:
        env, lr, dev, c = self.env, self.learner, self.learner.device, self.counters
        episode = env.info["episode"].copy()
        a = lr.act(lr.slots, _t(env.obs, dev), _t(episode, dev), _t(env.instructions, dev),
                   _t(env.tasks, dev))
        _, rew, term, trunc, _ = env.step(a.cpu().numpy())
        out = lr.observe(lr.slots, _t(episode, dev), _t(rew, dev, torch.float64),
                         _t(term | trunc, dev), _t(env.final_obs, dev))
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

    # -- logging, evaluation -----------------------------------------------------------------
    def log(self) -> None:
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
        for tag, w in (("reward/train", "returns"), ("reward/exploration", "explore_rewards"),
                       ("steps/exploration_per_episode", "explore_lengths")):
            if len(self.windows[w]):
                values[tag] = float(np.mean(self.windows[w]))
        self.run_log.scalars(values, c["meta_episodes"], c["env_steps"])

    def evaluate(self) -> float:
        c = self.counters
        gif_n = int(self.fm["gif_meta_episodes"])
        res = self.evaluator.run(self.learner, gif_slots=gif_n)
        c["last_test"] = res["test_return"]
        c["evals"] += 1
        self.run_log.scalars({"reward/test": res["test_return"],
                              "steps/test_exploration_per_episode": res["test_exploration_steps"]},
                             c["meta_episodes"], c["env_steps"])
        train_ret = float(np.mean(self.windows["returns"])) if self.windows["returns"] else float("nan")
        self.run_log.evaluation({
            "elapsed_s": round(c["elapsed_s"], 2), "meta_episode": c["meta_episodes"],
            "env_steps": c["env_steps"],
            "gradient_steps": self.learner.exploit.gradient_steps + self.learner.explore.gradient_steps,
            "test_return": round(res["test_return"], 4),
            "test_exploration_steps": round(res["test_exploration_steps"], 2),
            "train_return": round(train_ret, 4)})
        if "frames" in res:
            write_gifs(res["frames"], self.dir / "gifs", f"eval{c['evals']:04d}")
        return res["test_return"]

    # -- main loop -------------------------------------------------------------------------
    def run(self, max_env_steps: int | None = None) -> dict:
        fm, c = self.fm, self.counters
        max_env_steps = int(max_env_steps if max_env_steps is not None else fm["max_env_steps"])
        max_s = None if fm["max_minutes"] is None else 60.0 * float(fm["max_minutes"])
        stop_at = fm["stop_test_return"]
        self.run_log = RunLog(self.dir)
        if not getattr(self, "_started", False):
            self.env.reset(seed=int(fm["seed"]))
            self._started = True
        bar = None
        if self.progress:
            from tqdm import tqdm
            bar = tqdm(total=max_env_steps, initial=c["env_steps"], unit="step", dynamic_ncols=True,
                       file=sys.stderr)
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
                if c["meta_episodes"] >= c["next_eval"]:
                    c["next_eval"] += int(fm["eval_every"]) * max(1, -(-(c["meta_episodes"] - c["next_eval"] + 1) // int(fm["eval_every"])))
                    test = self.evaluate()
                    if stop_at is not None and test >= stop_at:
                        stopped = "target"
                        break
                grads = self.step()
                grads_total += grads
                c["elapsed_s"] = elapsed0 + time.perf_counter() - t_start
                if c["meta_episodes"] >= c["next_log"]:
                    c["next_log"] = (c["meta_episodes"] // int(fm["log_every"]) + 1) * int(fm["log_every"])
                    self.log()
                if c["meta_episodes"] >= c["next_checkpoint"]:
                    c["next_checkpoint"] = (c["meta_episodes"] // int(fm["checkpoint_every"]) + 1) \
                        * int(fm["checkpoint_every"])
                    self.save()
                if bar is not None:
                    now = time.perf_counter()
                    if now - t_bar > 1.0:
                        bar.update(c["env_steps"] - bar.n)
                        bar.set_postfix({
                            "steps/s": f"{(c['env_steps'] - steps_bar) / (now - t_bar):.0f}",
                            "updates/s": f"{grads_bar and grads_bar / (now - t_bar):.0f}",
                            "train": f"{np.mean(self.windows['returns']) if self.windows['returns'] else 0:.2f}",
                            "test": f"{c['last_test'] if c['last_test'] is not None else float('nan'):.2f}"})
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
        return {"test_return": c["last_test"], "env_steps": c["env_steps"],
                "meta_episodes": c["meta_episodes"], "elapsed_s": c["elapsed_s"],
                "gradient_steps": self.learner.exploit.gradient_steps + self.learner.explore.gradient_steps,
                "env_steps_per_s": (c["env_steps"] - steps0) / wall,
                "updates_per_s": grads_total / wall,
                "stopped": stopped, "updates_this_run": grads_total, "wall_s_this_run": wall}


def _install_sigterm(trainer):
    """SIGTERM ends the run cleanly (final evaluation and checkpoint); main thread only."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        trainer._stop_requested = True

    return signal.signal(signal.SIGTERM, handler)


def train(config: dict, exp_dir, resume: bool = False, progress: bool = True,
          max_env_steps: int | None = None) -> dict:
    """Train with a resolved config (see config.resolve); returns a summary dict."""
    trainer = Trainer(config, exp_dir, progress)
    if resume and (Path(exp_dir) / CHECKPOINT).exists():
        trainer.load()
    return trainer.run(max_env_steps)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fastmeta train dream", description="Train DREAM on a fastmeta env.")
    p.add_argument("name", nargs="?", default=None, help="experiment name (default: <env>-<preset>-s<seed>)")
    p.add_argument("--env", default=None, choices=cfg_mod.ENVIRONMENTS,
                   help="benchmark (same as -b environment=...)")
    p.add_argument("--preset", default="default", choices=cfg_mod.PRESETS,
                   help="default/paper: the original's config and cadence; fast: tuned for speed")
    p.add_argument("-c", "--config", action="append", default=[], help="JSON config file (repeatable, merged in order)")
    p.add_argument("-b", "--binding", action="append", default=[], help="key.sub=value override (repeatable)")
    p.add_argument("-s", "--seed", type=int, default=None)
    p.add_argument("--out", default="experiments", help="directory holding experiment directories")
    p.add_argument("--resume", action="store_true", help="continue from <out>/<name>/checkpoint.pt")
    p.add_argument("--force", action="store_true", help="reuse an existing experiment directory")
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    overrides = {"fastmeta": {"seed": args.seed}} if args.seed is not None else None
    try:
        config = cfg_mod.resolve(args.preset, args.config, args.binding, args.env, overrides)
    except cfg_mod.ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    name = args.name or f"dream-{config['environment']}-{args.preset}-s{config['fastmeta']['seed']}"
    exp_dir = Path(args.out) / name
    if exp_dir.exists() and not (args.resume or args.force):
        print(f"error: {exp_dir} exists; pass --resume to continue it or --force to reuse it",
              file=sys.stderr)
        return 2
    summary = train(config, exp_dir, resume=args.resume, progress=not args.no_progress)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
