"""First-Explore configs in the shared layering (fastmeta.agents.common.config).

A run's config is {"environment", "first_explore": {...}, "fastmeta": {...}}: `first_explore`
holds the original's hyperparameters (spec §2.6-§2.8) and the model size, `fastmeta` the system
keys every learner shares (seed, device, torch_threads, precision, budgets, cadences; cadences
count updates). Layers: the base ⊕ the preset's layer for the env ⊕ the control's ⊕ JSON files ⊕
bindings ⊕ flags. A binding may name a key of either section without its prefix
(`-b total_updates=2000` is `-b first_explore.total_updates=2000`).
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass

from fastmeta.agents.common.config import ConfigError, layered_config

ENVIRONMENTS = ("bandit", "treasure", "maze")
CONTROLS = ("none", "always-exploit")
PRESETS = ("paper", "fast")

BASE = {
    "environment": "bandit",
    "first_explore": {
        "control": "none",  # none (First-Explore) | always-exploit
        # optimisation (spec §2.6)
        "batch_size": 128,
        "total_updates": 200_000,  # also sets the LR schedule
        "lr": 1e-4,  # peak of the warm-up / linear-decay schedule
        "warmup_frac": 0.1,
        "weight_decay": 1e-4,
        "grad_clip": 0.25,  # element-wise
        # env and lifetime (spec §2.8)
        "minval": 0.5,  # bandit mu_1; treasure rho; unused by the maze (as the original)
        "num_arms": 10,
        "pulls": 99,  # bandit explore pulls per training lifetime
        "eps": 0.05,  # bandit sampling mix
        "num_eps": 9,  # treasure/maze explore episodes per training lifetime
        "ep_len": 9,
        "weighting": True,
        "tau": 1.0,  # roll-policy inverse temperature after the first refresh
        "roll_refresh": 10_000,  # updates between roll-policy refreshes (treasure/maze)
        "p_reward": 0.3,  # maze
        # model size; 0 keeps the original's (spec §2.2: 128 wide, 4 heads, MLP 512, 3/4 layers)
        "n_layer": 0,
        "d_model": 0,
        "n_head": 0,
        "d_mlp": 0,
        # periodic evaluation (spec §2.7)
        "eval_lifetimes": 256,
        "eval_k": 10,  # explore pulls/episodes before exploiting
        "eval_lifetime": 100,  # pulls (bandit) or episodes (treasure: 10, maze: 4)
    },
    "fastmeta": {
        "seed": 42,
        "device": "cpu",
        "torch_threads": 1,
        "precision": "fp32",
        "max_env_steps": None,
        "max_minutes": None,
        "stop_test_return": None,
        "eval_every": 1000,
        "log_every": 50,
        "checkpoint_every": 1000,
        "tensorboard": True,
    },
}

_SMALL = {"batch_size": 64, "n_layer": 2, "d_model": 64, "d_mlp": 256, "lr": 3e-3}
# preset -> env -> (first_explore layer, fastmeta layer)
_PRESET_LAYERS = {
    # the original's hyperparameters
    "paper": {
        "bandit": ({}, {}),
        "treasure": (
            dict(
                total_updates=1_000_000,
                minval=-4.0,
                num_eps=9,
                ep_len=9,
                roll_refresh=10_000,
                eval_k=2,
                eval_lifetime=10,
            ),
            {},
        ),
        "maze": (
            dict(
                total_updates=1_000_000,
                minval=0.0,
                num_eps=3,
                ep_len=20,
                roll_refresh=5_000,
                eval_k=1,
                eval_lifetime=4,
            ),
            {},
        ),
    },
    # tuned to learn within an hour on a 2-core CPU: a smaller trunk (2 layers, 64 wide) makes
    # 4x more updates per minute than the original's, a higher peak LR, a short schedule
    "fast": {
        "bandit": (
            dict(_SMALL, total_updates=14_000),
            dict(max_minutes=60.0, eval_every=500, log_every=100),
        ),
        "treasure": (
            dict(
                _SMALL,
                total_updates=2500,
                minval=-4.0,
                num_eps=9,
                ep_len=9,
                roll_refresh=300,
                eval_k=2,
                eval_lifetime=10,
            ),
            dict(max_minutes=45.0, eval_every=250),
        ),
        "maze": (
            dict(
                _SMALL,
                total_updates=10_000,
                minval=0.0,
                num_eps=3,
                ep_len=20,
                roll_refresh=500,
                eval_k=1,
                eval_lifetime=4,
            ),
            dict(max_minutes=60.0, eval_every=500),
        ),
    },
}


@dataclass(frozen=True)
class Args:
    """The flat view of a resolved config the learner, rollouts and evaluation read."""

    env: str
    control: str
    seed: int
    device: str
    precision: str
    batch_size: int
    total_updates: int
    lr: float
    warmup_frac: float
    weight_decay: float
    grad_clip: float
    minval: float
    num_arms: int
    pulls: int
    eps: float
    num_eps: int
    ep_len: int
    weighting: bool
    tau: float
    roll_refresh: int
    p_reward: float
    n_layer: int
    d_model: int
    n_head: int
    d_mlp: int
    eval_lifetimes: int
    eval_k: int
    eval_lifetime: int


def args_from_config(config: dict) -> Args:
    fe, fm = config["first_explore"], config["fastmeta"]
    return Args(
        env=config["environment"],
        seed=int(fm["seed"]),
        device=str(fm["device"]),
        precision=str(fm.get("precision", "fp32")),
        **{k: fe[k] for k in (f.name for f in dataclasses.fields(Args)) if k in fe},
    )


def _prefixed(binding: str) -> str:
    key = binding.split("=", 1)[0].strip()
    if "." in key or key == "environment":
        return binding
    for section in ("first_explore", "fastmeta"):
        if key in BASE[section]:
            return f"{section}.{binding.strip()}"
    return binding


def resolve(
    environment: str = "bandit",
    preset: str = "paper",
    files=(),
    bindings=(),
    control: str | None = None,
    overrides: dict | None = None,
) -> dict:
    """The full config of a First-Explore run (see the module doc); errors name the key."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; available: {', '.join(PRESETS)}")
    if control is not None and control not in CONTROLS:
        raise ConfigError(f"unknown control {control!r}; choose from {', '.join(CONTROLS)}")

    def env_layers(env):
        fe, fm = _PRESET_LAYERS[preset][env]
        layers = [{"first_explore": copy.deepcopy(fe), "fastmeta": copy.deepcopy(fm)}]
        if control is not None:
            layers.append({"first_explore": {"control": control}})
        if control == "always-exploit":
            # the control never trains its explore head: it exploits throughout
            layers.append({"first_explore": {"eval_k": 0}})
        return layers

    config = layered_config(
        BASE,
        lambda env: BASE,
        [],
        files,
        [_prefixed(b) for b in bindings],
        environment,
        overrides,
        env_layers,
        environments=ENVIRONMENTS,
        choices={"first_explore.control": CONTROLS},
    )
    from fastmeta.agents.first_explore.learner import model_config

    model_config(args_from_config(config))  # size errors now, not after the envs are built
    return config
