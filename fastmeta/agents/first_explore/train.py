"""Train First-Explore (or its always-exploit control) on a fastmeta env.

    python -m fastmeta.agents.first_explore.train --env bandit --preset fast
    fastmeta train first-explore --env treasure --control always-exploit -b total_updates=2000

One update (spec §2.4 / §2.5): roll out a batch of lifetimes with the KV cache (rollout.py), run
the trunk once over the recorded tokens with gradient (losses.py), clip every gradient entry,
AdamW step with the warm-up/decay schedule (optim.py); for treasure/maze refresh the roll copy
every `roll_refresh` updates. Each update draws its env and sampling seeds from (seed, update),
so a run resumed from a checkpoint continues exactly as if it had never stopped.

Outputs in `<out>/<name>/`: config.json (resolved Args), scalars.csv, evaluations.csv,
tensorboard/ (if installed), checkpoint.pt (written atomically).
"""

from __future__ import annotations

import argparse
import copy
import csv
import dataclasses
import json
import os
import sys
import time
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch

import fastmeta
from fastmeta.agents.experiment_cli import add_experiment_arguments, experiment_dir
from fastmeta.agents.first_explore import evaluate as ev
from fastmeta.agents.first_explore.losses import bandit_loss, episodic_loss
from fastmeta.agents.first_explore.model import (
    FirstExploreModel,
    bandit_config,
    maze_config,
    treasure_config,
)
from fastmeta.agents.first_explore.optim import clip_elementwise_, lr_at, make_optimizer, set_lr
from fastmeta.agents.first_explore.rollout import BanditRollout, EpisodicRollout

ENVS = ("bandit", "treasure", "maze")
CONTROLS = ("none", "always-exploit")
CHECKPOINT = "checkpoint.pt"


@dataclass
class Args:
    env: str = "bandit"  # bandit | treasure | maze
    control: str = "none"  # none (First-Explore) | always-exploit
    seed: int = 42
    # -- optimisation (spec §2.6)
    batch_size: int = 128
    total_updates: int = 200_000  # also sets the LR schedule
    lr: float = 1e-4  # peak of the warm-up / linear-decay schedule
    warmup_frac: float = 0.1
    weight_decay: float = 1e-4
    grad_clip: float = 0.25  # element-wise
    # -- env and lifetime (spec §2.8)
    minval: float = 0.5  # bandit mu_1; treasure rho; unused by the maze (as the original)
    num_arms: int = 10
    pulls: int = 99  # bandit explore pulls per training lifetime
    eps: float = 0.05  # bandit sampling mix
    num_eps: int = 9  # treasure/maze explore episodes per training lifetime
    ep_len: int = 9
    weighting: bool = True
    tau: float = 1.0  # roll-policy inverse temperature after the first refresh
    roll_refresh: int = 10_000  # updates between roll-policy refreshes (treasure/maze)
    p_reward: float = 0.3  # maze
    # -- model size; 0 keeps the original's (spec §2.2: 128 wide, 4 heads, MLP 512, 3/4 layers)
    n_layer: int = 0
    d_model: int = 0
    n_head: int = 0
    d_mlp: int = 0
    # -- monitoring and evaluation (spec §2.7)
    eval_every: int = 1000
    eval_lifetimes: int = 256
    eval_k: int = 10  # explore pulls/episodes before exploiting, in periodic evals
    eval_lifetime: int = 100  # pulls (bandit) or episodes (treasure: 10, maze: 4)
    log_every: int = 50
    checkpoint_every: int = 1000
    time_limit_min: float = 0.0  # stop (with a checkpoint and a final eval) after this; 0 = none
    # -- system
    threads: int = 1
    device: str = "cpu"
    tensorboard: bool = True


PRESETS: dict[str, dict[str, dict]] = {
    # the original's hyperparameters
    "paper": {
        "bandit": {},
        "treasure": dict(
            total_updates=1_000_000,
            minval=-4.0,
            num_eps=9,
            ep_len=9,
            roll_refresh=10_000,
            eval_k=2,
            eval_lifetime=10,
        ),
        "maze": dict(
            total_updates=1_000_000,
            minval=0.0,
            num_eps=3,
            ep_len=20,
            roll_refresh=5_000,
            eval_k=1,
            eval_lifetime=4,
        ),
    },
    # tuned to learn within an hour on a 2-core CPU: higher peak LR, short schedule
    "fast": {
        # a smaller trunk (2 layers, 64 wide) makes 4x more updates per minute than the
        # original's and learns faster per minute; the schedule spans about an hour on one core
        "bandit": dict(
            batch_size=64,
            n_layer=2,
            d_model=64,
            d_mlp=256,
            lr=3e-3,
            total_updates=14_000,
            time_limit_min=60.0,
            eval_every=500,
            log_every=100,
        ),
        # the bandit's small trunk and peak LR; the schedule spans about 45 minutes with three
        # other training processes on the two cores
        "treasure": dict(
            total_updates=2500,
            lr=3e-3,
            minval=-4.0,
            num_eps=9,
            ep_len=9,
            batch_size=64,
            n_layer=2,
            d_model=64,
            d_mlp=256,
            roll_refresh=300,
            eval_k=2,
            eval_lifetime=10,
            eval_every=250,
            time_limit_min=45.0,
        ),
        # the bandit's small trunk and peak LR, not tuned separately; an hour on one core
        "maze": dict(
            total_updates=10_000,
            lr=3e-3,
            minval=0.0,
            num_eps=3,
            ep_len=20,
            batch_size=64,
            n_layer=2,
            d_model=64,
            d_mlp=256,
            roll_refresh=500,
            eval_k=1,
            eval_lifetime=4,
            eval_every=500,
            time_limit_min=60.0,
        ),
    },
}


def _convert(name: str, text: str, default):
    if isinstance(default, bool):
        low = text.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"config key {name!r} expects a bool, got {text!r}")
    try:
        return type(default)(text)
    except ValueError:
        raise ValueError(
            f"config key {name!r} expects {type(default).__name__}, got {text!r}"
        ) from None


def resolve_args(
    env: str,
    preset: str = "paper",
    bindings=(),
    control: str = "none",
    overrides: dict | None = None,
) -> Args:
    """Args from defaults <- preset <- `key=value` bindings <- overrides; unknown keys raise."""
    if env not in ENVS:
        raise ValueError(f"unknown env {env!r}; choose from {', '.join(ENVS)}")
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
    if control not in CONTROLS:
        raise ValueError(f"unknown control {control!r}; choose from {', '.join(CONTROLS)}")
    args = Args(env=env, control=control)
    known = {f.name for f in fields(Args)}
    values = dict(PRESETS[preset][env])
    if control == "always-exploit":
        values["eval_k"] = 0  # the control never trains its explore head: exploit throughout
    for b in bindings:
        if "=" not in b:
            raise ValueError(f"binding {b!r} must look like key=value")
        k, v = b.split("=", 1)
        k = k.strip()
        if k not in known:
            raise ValueError(f"unknown config key {k!r}; known keys: {', '.join(sorted(known))}")
        values[k] = _convert(k, v.strip(), getattr(args, k))
    for k, v in (overrides or {}).items():
        if k not in known:
            raise ValueError(f"unknown config key {k!r}; known keys: {', '.join(sorted(known))}")
        values[k] = v
    args = dataclasses.replace(args, **values)
    if args.env not in ENVS or args.control not in CONTROLS:
        raise ValueError(f"env must be one of {ENVS} and control one of {CONTROLS}")
    model_config(args)  # size errors now, not after the envs are built
    return args


def derive_seed(*key: int) -> int:
    return int(np.random.SeedSequence([int(k) & 0xFFFFFFFF for k in key]).generate_state(1)[0] >> 1)


def make_env(args: Args, num_envs: int, episodes: int):
    """The native batched env of `args.env` with `episodes_per_trial=episodes`: one trial is one
    First-Explore lifetime (for the bandit, one episode is one pull)."""
    if args.env == "bandit":
        return fastmeta.make(
            "FixedArmBandit",
            num_envs=num_envs,
            seed=0,
            minval=args.minval,
            num_arms=args.num_arms,
            episodes_per_trial=episodes,
        )
    if args.env == "treasure":
        return fastmeta.make(
            "DarkTreasureRoom",
            num_envs=num_envs,
            seed=0,
            minval=args.minval,
            episode_length=args.ep_len,
            episodes_per_trial=episodes,
        )
    return fastmeta.make(
        "RayMaze",
        num_envs=num_envs,
        seed=0,
        p_reward=args.p_reward,
        episode_length=args.ep_len,
        episodes_per_trial=episodes,
    )


def model_config(args: Args):
    cfg = {
        "bandit": lambda: bandit_config(args.num_arms),
        "treasure": treasure_config,
        "maze": maze_config,
    }[args.env]()
    for k in ("n_layer", "d_model", "n_head", "d_mlp"):
        if getattr(args, k) < 0:
            raise ValueError(
                f"config key {k!r} must be >= 0 (0 keeps the original's), got {getattr(args, k)}"
            )
    sizes = {
        k: getattr(args, k)
        for k in ("n_layer", "d_model", "n_head", "d_mlp")
        if getattr(args, k) > 0
    }
    if sizes.get("d_model", cfg.d_model) % sizes.get("n_head", cfg.n_head):
        raise ValueError(
            f"d_model {sizes.get('d_model', cfg.d_model)} is not divisible by "
            f"n_head {sizes.get('n_head', cfg.n_head)}"
        )
    return dataclasses.replace(cfg, **sizes)


# ------------------------------------------------------------------------------------------------
class Learner:
    """Model, optimiser, envs and rollout of one run; `update()` performs one training update."""

    def __init__(self, args: Args):
        self.args = args
        self.device = torch.device(args.device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("device 'cuda' requested but CUDA is not available")
        # results depend on the thread count (matmul reduction order), so it is part of the config
        torch.set_num_threads(args.threads)
        torch.manual_seed(args.seed)
        self.model = FirstExploreModel(model_config(args)).to(self.device)
        self.opt = make_optimizer(self.model.parameters(), args.weight_decay)
        self.params = list(self.model.parameters())
        self.update_idx = 0
        self.control = args.control == "always-exploit"
        b = args.batch_size
        if args.env == "bandit":
            self.roll_model, self.tau = self.model, 1.0  # on-policy: the same parameters
            self.env = make_env(args, b, args.pulls + 1)
            self.exploit_env = make_env(args, b, args.pulls + 1)
            self.rollout = BanditRollout(
                self.model,
                self.env,
                self.exploit_env,
                args.pulls,
                args.eps,
                "max" if self.control else "exp",
                self.device,
            )
            self.env_steps_per_update = b * (2 * args.pulls + 1)
        else:
            self.roll_model, self.tau = copy.deepcopy(self.model), 0.0  # uniform until refresh
            self.roll_model.requires_grad_(False)
            n_ep = args.num_eps if self.control else 2 * args.num_eps
            self.env = make_env(args, b, n_ep)
            self.rollout = EpisodicRollout(
                self.roll_model,
                self.env,
                args.num_eps,
                args.ep_len,
                self.control,
                args.env == "treasure",
                self.device,
            )
            self.env_steps_per_update = b * n_ep * args.ep_len

    def update(self) -> dict:
        a, u = self.args, self.update_idx
        gen = torch.Generator(device=self.device).manual_seed(derive_seed(a.seed, u, 1))
        env_seed = derive_seed(a.seed, u, 0)
        if a.env == "bandit":
            batch = self.rollout.collect(env_seed, gen)
            loss, stats = bandit_loss(self.model, batch, self.control)
            stats["train_explore_reward"] = batch.explore_rew.mean()
            stats["train_exploit_reward"] = batch.exploit_rew.mean()
        else:
            batch = self.rollout.collect(env_seed, gen, self.tau)
            loss, stats = episodic_loss(self.model, batch, self.rollout.layout, a.weighting)
            stats["train_context_return"] = batch.ctx_ret.mean()
            if batch.br_ret is not None:
                stats["train_exploit_return"] = batch.br_ret.mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        clip_elementwise_(self.params, a.grad_clip)
        lr = lr_at(u, a.total_updates, a.lr, a.warmup_frac)
        set_lr(self.opt, lr)
        self.opt.step()
        self.update_idx += 1
        if a.env != "bandit" and self.update_idx % a.roll_refresh == 0:
            self.roll_model.load_state_dict(self.model.state_dict())
            self.tau = a.tau
        stats.update(loss=loss.detach(), lr=lr, tau=self.tau)
        return {k: float(v) for k, v in stats.items()}

    def state_dict(self) -> dict:
        sd = {
            "model": self.model.state_dict(),
            "opt": self.opt.state_dict(),
            "update": self.update_idx,
            "tau": self.tau,
            "args": dataclasses.asdict(self.args),
        }
        if self.roll_model is not self.model:
            sd["roll_model"] = self.roll_model.state_dict()
        return sd

    def load_state_dict(self, sd: dict) -> None:
        self.model.load_state_dict(sd["model"])
        self.opt.load_state_dict(sd["opt"])
        self.update_idx, self.tau = int(sd["update"]), float(sd["tau"])
        if "roll_model" in sd:
            self.roll_model.load_state_dict(sd["roll_model"])

    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        torch.save(self.state_dict(), tmp)
        os.replace(tmp, path)

    def load(self, path: Path) -> None:
        self.load_state_dict(torch.load(path, map_location=self.device, weights_only=False))

    def evaluate(self, num: int, k: int, seed: int) -> dict:
        """Greedy lifetime return with k explore pulls/episodes (fixed eval tasks per seed)."""
        res = ev.evaluate(self.model, self.args, [k], num, seed)
        return {"eval_return": float(res["mean_return"][0])}


# ------------------------------------------------------------------------------------------------
class ScalarLog:
    """scalars.csv (one row per logged update) and TensorBoard, if installed."""

    def __init__(self, directory: Path, columns: list[str], tensorboard: bool):
        self.path = directory / "scalars.csv"
        self.columns = columns
        new = not self.path.exists()
        self.f = open(self.path, "a", newline="")
        self.w = csv.writer(self.f)
        if new:
            self.w.writerow(columns)
        self.tb = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(directory / "tensorboard"))
            except ImportError:
                self.tb = None

    def write(self, row: dict, step: int) -> None:
        self.w.writerow([("" if row.get(c) is None else f"{row[c]:.6g}") for c in self.columns])
        self.f.flush()
        if self.tb:
            for k, v in row.items():
                if v is not None and k not in ("update",):
                    self.tb.add_scalar(k, v, step)

    def close(self) -> None:
        self.f.close()
        if self.tb:
            self.tb.close()


COLUMNS = [
    "update",
    "wall_time",
    "env_steps",
    "updates_per_s",
    "env_steps_per_s",
    "lr",
    "tau",
    "loss",
    "loss_explore",
    "loss_exploit",
    "explore_success",
    "exploit_success",
    "train_explore_reward",
    "train_exploit_reward",
    "train_context_return",
    "train_exploit_return",
    "eval_return",
]


def train(args: Args, exp_dir, resume: bool = False, progress: bool = True) -> dict:
    """Run (or continue) the training described by `args`; returns a summary dict."""
    exp_dir = Path(exp_dir)
    exp_dir.mkdir(parents=True, exist_ok=True)
    learner = Learner(args)
    ckpt = exp_dir / CHECKPOINT
    if resume and ckpt.exists():
        learner.load(ckpt)
    (exp_dir / "config.json").write_text(json.dumps(dataclasses.asdict(args), indent=2) + "\n")
    log = ScalarLog(exp_dir, COLUMNS, args.tensorboard)
    evals = exp_dir / "evaluations.csv"
    if not evals.exists():
        evals.write_text("update,elapsed_s,env_steps,k,eval_return\n")
    eval_seed = derive_seed(args.seed, 2**31 - 1)

    bar = None
    if progress:
        try:
            from tqdm import tqdm

            bar = tqdm(
                total=args.total_updates, initial=learner.update_idx, unit="upd", dynamic_ncols=True
            )
        except ImportError:
            bar = None
    start = time.perf_counter()
    elapsed_before = 0.0
    if resume and (exp_dir / "elapsed.json").exists():
        elapsed_before = json.loads((exp_dir / "elapsed.json").read_text())["elapsed_s"]
    t_last, u_last = start, learner.update_idx
    last_eval = None

    def run_eval():
        nonlocal last_eval
        r = learner.evaluate(args.eval_lifetimes, args.eval_k, eval_seed)["eval_return"]
        el = elapsed_before + time.perf_counter() - start
        with open(evals, "a") as f:
            f.write(
                f"{learner.update_idx},{el:.1f},{learner.update_idx * learner.env_steps_per_update},"
                f"{args.eval_k},{r:.6g}\n"
            )
        last_eval = r
        return r

    def checkpoint():
        learner.save(ckpt)
        (exp_dir / "elapsed.json").write_text(
            json.dumps({"elapsed_s": elapsed_before + time.perf_counter() - start})
        )

    stopped_early = False
    while learner.update_idx < args.total_updates:
        stats = learner.update()
        u = learner.update_idx
        if bar is not None:
            bar.update(1)
        if u % args.log_every == 0 or u == args.total_updates:
            now = time.perf_counter()
            ups = (u - u_last) / max(now - t_last, 1e-9)
            t_last, u_last = now, u
            row = dict(
                stats,
                update=u,
                wall_time=elapsed_before + now - start,
                env_steps=u * learner.env_steps_per_update,
                updates_per_s=ups,
                env_steps_per_s=ups * learner.env_steps_per_update,
            )
            if args.eval_every and u % args.eval_every == 0:
                row["eval_return"] = run_eval()
            log.write(row, u)
            if bar is not None:
                bar.set_postfix(
                    upd_s=f"{ups:.2f}",
                    env_steps_s=f"{row['env_steps_per_s']:.0f}",
                    loss=f"{stats['loss']:.3f}",
                    ret="-" if last_eval is None else f"{last_eval:.1f}",
                )
        if u % args.checkpoint_every == 0:
            checkpoint()
        if (
            args.time_limit_min
            and elapsed_before + time.perf_counter() - start > 60 * args.time_limit_min
        ):
            stopped_early = True
            break
    checkpoint()
    final = run_eval()
    if bar is not None:
        bar.close()
    log.close()
    return {
        "updates": learner.update_idx,
        "elapsed_s": elapsed_before + time.perf_counter() - start,
        "final_eval_return": final,
        "eval_k": args.eval_k,
        "stopped_by_time_limit": stopped_early,
        "exp_dir": str(exp_dir),
    }


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fastmeta train first-explore",
        description="Train First-Explore or its always-exploit control.",
    )
    p.add_argument(
        "name",
        nargs="?",
        default=None,
        help="experiment name (default: first-explore-<env>[-always-exploit]-<preset>-s<seed>)",
    )
    p.add_argument("--env", default="bandit", choices=ENVS)
    p.add_argument("--control", default="none", choices=CONTROLS)
    p.add_argument(
        "--preset",
        default="paper",
        choices=tuple(PRESETS),
        help="paper: the original's hyperparameters; fast: tuned for a 2-core CPU",
    )
    p.add_argument(
        "-b", "--binding", action="append", default=[], help="key=value override (repeatable)"
    )
    add_experiment_arguments(p)
    return p


def main(argv=None) -> int:
    opts = build_parser().parse_args(argv)
    try:
        args = resolve_args(
            opts.env,
            opts.preset,
            opts.binding,
            opts.control,
            {"seed": opts.seed} if opts.seed is not None else None,
        )
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    ctl = "" if args.control == "none" else f"-{args.control}"
    name = opts.name or f"first-explore-{args.env}{ctl}-{opts.preset}-s{args.seed}"
    exp_dir = experiment_dir(opts, name)
    if exp_dir is None:
        return 2
    if opts.resume and (exp_dir / "config.json").exists():
        saved = json.loads((exp_dir / "config.json").read_text())
        args = Args(**saved)
    summary = train(args, exp_dir, resume=opts.resume, progress=not opts.no_progress)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
