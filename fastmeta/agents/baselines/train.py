"""Train E-RL², IMPORT or VariBAD on a fastmeta grid env: `fastmeta train rl2|import|varibad
--env distraction --preset fast`, or `train(config, exp_dir)` from Python.

Loop per vector step: one act call for N trial slots, step the batched env, store, and after
every finished trial make the gradient steps its experiences are due (spec §3.5). Trial
counters (logging, evaluation, checkpoints) count finished trials over all slots. Outputs in
`<out>/<name>/` as the DREAM learner's: config.json, scalars.csv (tags agent_DQN/..., spec
§3.4), evaluations.csv (its `meta_episode` column counts trials), tensorboard/, gifs/,
checkpoint.pt (atomic; `--resume` continues a run exactly).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import deque
from pathlib import Path

import numpy as np
import torch

import fastmeta
from fastmeta.agents.baselines import config as cfg_mod
from fastmeta.agents.baselines.evaluate import TrialEvaluator
from fastmeta.agents.baselines.learner import BaselineLearner
from fastmeta.agents.dream.config import ENVIRONMENTS, ConfigError
from fastmeta.agents.dream.env_view import DreamEnvView
from fastmeta.agents.dream.evaluate import _t, write_gifs
from fastmeta.agents.dream.learner import EnvSpecInfo
from fastmeta.agents.dream.run_log import RunLog
from fastmeta.agents.dream.train import atomic_save, env_state, load_env_state

CHECKPOINT = "checkpoint.pt"


class BaselineTrainer:
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

        def make(num_envs, split):
            # the DREAM learner's view: grid and sign envs read alike
            return DreamEnvView(fastmeta.make(self.env_name, num_envs=num_envs, seed=int(fm["seed"]),
                                              split=split, episodes_per_trial=2))

        self.env = make(int(fm["num_envs"]), "train")
        self.spec = EnvSpecInfo(self.env)
        self.learner = BaselineLearner(config, self.spec, self.env.num_envs, device)
        self.evaluator = TrialEvaluator(self.env_name, make, int(fm["eval_trials"]), int(fm["seed"]))
        self.counters = {"env_steps": 0, "trials": 0, "next_log": 0, "next_eval": 0,
                         "next_checkpoint": int(fm["checkpoint_every"]), "elapsed_s": 0.0,
                         "last_test": None, "evals": 0}
        self.windows = {k: deque(maxlen=200) for k in ("returns", "lengths")}
        self._started = False
        with open(self.dir / "config.json", "w") as f:
            json.dump(config, f, indent=2)

    # -- state ----------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"learner": self.learner.state_dict(), "env": env_state(self.env.env),
                "counters": dict(self.counters),
                "windows": {k: list(v) for k, v in self.windows.items()},
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

    # -- one vector step -------------------------------------------------------------------------
    def step(self) -> int:
        env, lr, dev, c = self.env, self.learner, self.learner.device, self.counters
        episode = env.info["episode"].copy()
        a = lr.act(lr.slots, _t(env.obs, dev), _t(env.instructions, dev), _t(env.tasks, dev))
        _, rew, term, trunc, info = env.step(a.cpu().numpy())
        out = lr.observe(lr.slots, _t(episode, dev), _t(rew, dev, torch.float64),
                         _t(term | trunc, dev), _t(info["trial_done"], dev), _t(env.obs, dev),
                         _t(env.instructions, dev))
        c["env_steps"] += env.num_envs
        if out:
            self.windows["returns"].extend(out["returns"].tolist())
            self.windows["lengths"].extend(out["lengths"].tolist())
            c["trials"] += int(out["slots"].numel())
        return lr.learn(out)

    # -- logging, evaluation ---------------------------------------------------------------------
    def log(self) -> None:
        c = self.counters
        values = {f"agent_{k}": v for k, v in self.learner.summary().items()}
        values["steps/total"] = c["env_steps"]
        if self.windows["returns"]:
            values["reward/train"] = float(np.mean(self.windows["returns"]))
            values["steps/steps_per_episode"] = float(np.mean(self.windows["lengths"]))
        self.run_log.scalars(values, c["trials"], c["env_steps"])

    def evaluate(self) -> float:
        c = self.counters
        res = self.evaluator.run(self.learner, gif_slots=int(self.fm["gif_trials"]))
        c["last_test"] = res["test_return"]
        c["evals"] += 1
        self.run_log.scalars({"reward/test": res["test_return"],
                              "steps/test_steps_per_episode": res["test_steps"]},
                             c["trials"], c["env_steps"])
        train_ret = float(np.mean(self.windows["returns"])) if self.windows["returns"] else float("nan")
        # evaluations.csv keeps the DREAM learner's columns: meta_episode counts trials and
        # test_exploration_steps holds the mean test trial length
        self.run_log.evaluation({
            "elapsed_s": round(c["elapsed_s"], 2), "meta_episode": c["trials"],
            "env_steps": c["env_steps"], "gradient_steps": self.learner.agent.gradient_steps,
            "test_return": round(res["test_return"], 4),
            "test_exploration_steps": round(res["test_steps"], 2),
            "train_return": round(train_ret, 4)})
        if "frames" in res:
            write_gifs(res["frames"], self.dir / "gifs", f"eval{c['evals']:04d}")
        return res["test_return"]

    # -- main loop ---------------------------------------------------------------------------
    def run(self, max_env_steps: int | None = None) -> dict:
        fm, c = self.fm, self.counters
        max_env_steps = int(max_env_steps if max_env_steps is not None else fm["max_env_steps"])
        max_s = None if fm["max_minutes"] is None else 60.0 * float(fm["max_minutes"])
        stop_at = fm["stop_test_return"]
        every = {k: int(fm[k]) for k in ("eval_every", "log_every", "checkpoint_every")}
        self.run_log = RunLog(self.dir)
        if not self._started:
            self.env.reset(seed=int(fm["seed"]))
            self._started = True
        bar = None
        if self.progress:
            from tqdm import tqdm
            bar = tqdm(total=max_env_steps, initial=c["env_steps"], unit="step",
                       dynamic_ncols=True, file=sys.stderr)
        t_start, elapsed0 = time.perf_counter(), c["elapsed_s"]
        grads_total, stopped = 0, "budget"
        try:
            while c["env_steps"] < max_env_steps:
                if c["trials"] >= c["next_eval"]:
                    c["next_eval"] = (c["trials"] // every["eval_every"] + 1) * every["eval_every"]
                    test = self.evaluate()
                    if stop_at is not None and test >= stop_at:
                        stopped = "target"
                        break
                grads_total += self.step()
                c["elapsed_s"] = elapsed0 + time.perf_counter() - t_start
                if c["trials"] >= c["next_log"]:
                    c["next_log"] = (c["trials"] // every["log_every"] + 1) * every["log_every"]
                    self.log()
                if c["trials"] >= c["next_checkpoint"]:
                    c["next_checkpoint"] = (c["trials"] // every["checkpoint_every"] + 1) \
                        * every["checkpoint_every"]
                    self.save()
                if bar is not None and bar.n + 2000 <= c["env_steps"]:
                    bar.update(c["env_steps"] - bar.n)
                    bar.set_postfix({
                        "train": f"{np.mean(self.windows['returns']) if self.windows['returns'] else 0:.2f}",
                        "test": f"{c['last_test'] if c['last_test'] is not None else float('nan'):.2f}"})
                if max_s is not None and c["elapsed_s"] >= max_s:
                    stopped = "time"
                    break
            if stopped != "target":
                self.evaluate()
            self.save()
        finally:
            if bar is not None:
                bar.close()
            self.run_log.close()
        return {"test_return": c["last_test"], "env_steps": c["env_steps"], "trials": c["trials"],
                "elapsed_s": c["elapsed_s"], "gradient_steps": self.learner.agent.gradient_steps,
                "stopped": stopped, "updates_this_run": grads_total,
                "wall_s_this_run": time.perf_counter() - t_start}


def train(config: dict, exp_dir, resume: bool = False, progress: bool = True,
          max_env_steps: int | None = None) -> dict:
    """Train with a resolved config (see config.resolve); returns a summary dict."""
    trainer = BaselineTrainer(config, exp_dir, progress)
    if resume and (Path(exp_dir) / CHECKPOINT).exists():
        trainer.load()
    return trainer.run(max_env_steps)


def build_parser(method: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"fastmeta train {method}",
                                description=f"Train the {method} baseline on a fastmeta env.")
    p.add_argument("name", nargs="?", default=None,
                   help="experiment name (default: <method>-<env>-<preset>-s<seed>)")
    p.add_argument("--env", default=None, choices=ENVIRONMENTS,
                   help="benchmark (same as -b environment=...)")
    p.add_argument("--preset", default="default", choices=cfg_mod.PRESETS,
                   help="default/paper: the original's config and cadence; fast: vectorized")
    p.add_argument("-c", "--config", action="append", default=[],
                   help="JSON config file (repeatable, merged in order)")
    p.add_argument("-b", "--binding", action="append", default=[],
                   help="key.sub=value override (repeatable)")
    p.add_argument("-s", "--seed", type=int, default=None)
    p.add_argument("--out", default="experiments", help="directory holding experiment directories")
    p.add_argument("--resume", action="store_true", help="continue from <out>/<name>/checkpoint.pt")
    p.add_argument("--force", action="store_true", help="reuse an existing experiment directory")
    p.add_argument("--no-progress", action="store_true")
    return p


def main(method: str, argv=None) -> int:
    args = build_parser(method).parse_args(argv)
    overrides = {"fastmeta": {"seed": args.seed}} if args.seed is not None else None
    try:
        config = cfg_mod.resolve(method, args.preset, args.config, args.binding, args.env, overrides)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    name = args.name or f"{method}-{config['environment']}-{args.preset}-s{config['fastmeta']['seed']}"
    exp_dir = Path(args.out) / name
    if exp_dir.exists() and not (args.resume or args.force):
        print(f"error: {exp_dir} exists; pass --resume to continue it or --force to reuse it",
              file=sys.stderr)
        return 2
    summary = train(config, exp_dir, resume=args.resume, progress=not args.no_progress)
    print(json.dumps(summary))
    return 0


def main_rl2(argv=None) -> int:
    return main("rl2", argv)


def main_import(argv=None) -> int:
    return main("import", argv)


def main_varibad(argv=None) -> int:
    return main("varibad", argv)


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in cfg_mod.METHODS:
        print(f"usage: python -m fastmeta.agents.baselines.train {{{'|'.join(cfg_mod.METHODS)}}} ...",
              file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2:]))
