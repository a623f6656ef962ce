"""First-Explore's learner: the model, its optimiser, the batched envs and rollouts of one rank,
and one training update (spec §2.4 / §2.5).

One update: roll out a batch of lifetimes with the KV cache (rollout.py), run the trunk once over
the recorded tokens with gradient (losses.py), average the gradients over ranks, clip every
gradient entry, AdamW step with the warm-up/decay schedule (optim.py); for treasure/maze refresh
the roll copy every `roll_refresh` updates. Each update draws its env and sampling seeds from
(seed, update), so a run resumed from a checkpoint continues exactly as if it had never stopped.
On N ranks, rank r rolls out lifetimes [r*B/N, (r+1)*B/N) of the batch on those lifetimes' env
streams (`first_slot`).
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import numpy as np
import torch

import fastmeta
from fastmeta.agents.common.checkpoint import load_checkpoint
from fastmeta.agents.common.device import check_device
from fastmeta.agents.common.distributed import Dist
from fastmeta.agents.common.precision import autocast, outside_autocast
from fastmeta.agents.first_explore import evaluate as ev
from fastmeta.agents.first_explore.config import Args, args_from_config
from fastmeta.agents.first_explore.losses import bandit_loss, episodic_loss
from fastmeta.agents.first_explore.model import (
    FirstExploreModel,
    bandit_config,
    maze_config,
    treasure_config,
)
from fastmeta.agents.first_explore.optim import clip_elementwise_, lr_at, make_optimizer, set_lr
from fastmeta.agents.first_explore.rollout import BanditRollout, EpisodicRollout


def derive_seed(*key: int) -> int:
    return int(np.random.SeedSequence([int(k) & 0xFFFFFFFF for k in key]).generate_state(1)[0] >> 1)


def make_env(args: Args, num_envs: int, episodes: int, first_slot: int = 0):
    """The native batched env of `args.env` with `episodes_per_trial=episodes`: one trial is one
    First-Explore lifetime (for the bandit, one episode is one pull)."""
    name, params = {
        "bandit": ("FixedArmBandit", dict(minval=args.minval, num_arms=args.num_arms)),
        "treasure": ("DarkTreasureRoom", dict(minval=args.minval, episode_length=args.ep_len)),
        "maze": ("RayMaze", dict(p_reward=args.p_reward, episode_length=args.ep_len)),
    }[args.env]
    return fastmeta.make(
        name,
        num_envs=num_envs,
        seed=0,
        episodes_per_trial=episodes,
        first_slot=first_slot,
        **params,
    )


def model_config(args):
    """The model config of `args` (an Args or a resolved config dict)."""
    if isinstance(args, dict):
        args = args_from_config(args)
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

    def __init__(self, config, dist: Dist | None = None, device=None):
        args = config if isinstance(config, Args) else args_from_config(config)
        self.args = args
        self.dist = dist or Dist()
        self.device = check_device(device if device is not None else args.device)
        torch.manual_seed(args.seed)
        self.model = FirstExploreModel(model_config(args)).to(self.device)
        self.opt = make_optimizer(self.model.parameters(), args.weight_decay)
        self.params = list(self.model.parameters())
        self.update_idx = 0
        self.control = args.control == "always-exploit"
        # rank r rolls out its block of the batch's lifetimes, on the global lifetimes' streams
        first, b = self.dist.block(args.batch_size, "config key 'first_explore.batch_size'")
        if args.env == "bandit":
            self.roll_model, self.tau = self.model, 1.0  # on-policy: the same parameters
            self.env = make_env(args, b, args.pulls + 1, first)
            self.exploit_env = make_env(args, b, args.pulls + 1, first)
            self.rollout = BanditRollout(
                self.model,
                self.env,
                self.exploit_env,
                args.pulls,
                args.eps,
                "max" if self.control else "exp",
                self.device,
            )
            self.env_steps_per_update = args.batch_size * (2 * args.pulls + 1)
        else:
            self.roll_model, self.tau = copy.deepcopy(self.model), 0.0  # uniform until refresh
            self.roll_model.requires_grad_(False)
            n_ep = args.num_eps if self.control else 2 * args.num_eps
            self.env = make_env(args, b, n_ep, first)
            self.rollout = EpisodicRollout(
                self.roll_model,
                self.env,
                args.num_eps,
                args.ep_len,
                self.control,
                args.env == "treasure",
                self.device,
            )
            self.env_steps_per_update = args.batch_size * n_ep * args.ep_len

    def update(self) -> dict:
        """One training update: roll out this rank's lifetimes, then `apply` them."""
        return self.apply(self.collect())

    def collect(self):
        """This rank's batch of recorded lifetimes for the next update."""
        a, u = self.args, self.update_idx
        # sampling noise: rank 0 draws as a one-process run does, other ranks their own streams
        key = (a.seed, u, 1) if self.dist.rank == 0 else (a.seed, u, 1, self.dist.rank)
        gen = torch.Generator(device=self.device).manual_seed(derive_seed(*key))
        env_seed = derive_seed(a.seed, u, 0)
        if a.env == "bandit":
            return self.rollout.collect(env_seed, gen)
        return self.rollout.collect(env_seed, gen, self.tau)

    def apply(self, batch) -> dict:
        """Gradient of `batch` (averaged over ranks), element-wise clip, scheduled AdamW step."""
        a, u = self.args, self.update_idx
        loss, stats = self.gradient(batch)
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

    def gradient(self, batch) -> tuple:
        """Loss and gradients of one recorded batch (this rank's share), averaged over ranks;
        the loss is a mean over lifetimes, so equal shares average to the whole batch's."""
        a = self.args
        self.opt.zero_grad(set_to_none=True)
        with autocast(a.precision, self.device.type):
            if a.env == "bandit":
                loss, stats = bandit_loss(self.model, batch, self.control)
                stats["train_explore_reward"] = batch.explore_rew.mean()
                stats["train_exploit_reward"] = batch.exploit_rew.mean()
            else:
                loss, stats = episodic_loss(self.model, batch, self.rollout.layout, a.weighting)
                stats["train_context_return"] = batch.ctx_ret.mean()
                if batch.br_ret is not None:
                    stats["train_exploit_return"] = batch.br_ret.mean()
        with outside_autocast(self.device.type):
            loss.float().backward()
            self.dist.average_gradients(self.params)
        return loss, stats

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

    def load(self, path: Path) -> None:
        """Load the learner of a checkpoint written by a run (rank 0's share)."""
        state = load_checkpoint(path, map_location=self.device)
        if "ranks" in state:
            state = state["ranks"][0]["learner"]
        self.load_state_dict(state)

    def evaluate(self, num: int, k: int, seed: int) -> dict:
        """Greedy lifetime return with k explore pulls/episodes (fixed eval tasks per seed)."""
        res = ev.evaluate(self.model, self.args, [k], num, seed)
        return {"eval_return": float(res["mean_return"][0])}
