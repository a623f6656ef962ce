"""The sizes the DREAM and baseline networks and replays are built with, read from a native env.

Everything here is a plain function of the native contract's public attributes
(docs/env_contract.md): the observation buffer and space, `instruction_highs`, `num_tasks`,
`max_episode_steps` and the action space. The only distinction is the observation's kind: an
image (uint8 frames, embedded by convolutions) or a grid (a vector of categories, embedded per
component; its category counts are the observation space's `high + 1`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class NetSizes:
    obs_kind: str  # "image" or "grid"
    obs_shape: tuple  # one slot's observation shape
    obs_highs: tuple  # grid: category count per component; image: ()
    obs_dtype: torch.dtype  # how replays store observations
    instruction_highs: tuple  # category count per instruction component
    num_tasks: int  # task ids are in [0, num_tasks)
    num_actions: int
    max_episode_steps: int


def net_sizes(env) -> NetSizes:
    """The NetSizes of native env `env` (grids and the sign world alike)."""
    obs_shape = tuple(env.obs.shape[1:])
    image = env.obs.dtype == np.uint8 and len(obs_shape) == 3
    if image:
        obs_highs, obs_dtype = (), torch.uint8
    else:
        high = np.asarray(env.single_observation_space.high)
        if high.dtype.kind not in "iu":
            raise ValueError(f"a grid observation must have integer categories, got {high.dtype}")
        obs_highs = tuple(int(h) + 1 for h in high.reshape(-1))
        obs_dtype = torch.uint8 if max(obs_highs) <= 256 else torch.int16
    return NetSizes(
        obs_kind="image" if image else "grid",
        obs_shape=obs_shape,
        obs_highs=obs_highs,
        obs_dtype=obs_dtype,
        instruction_highs=tuple(int(h) for h in env.instruction_highs),
        num_tasks=int(env.num_tasks),
        num_actions=int(env.single_action_space.n),
        max_episode_steps=int(env.max_episode_steps),
    )


def eval_task_ids(env) -> np.ndarray:
    """The task ids evaluation draws from: the env's test split."""
    return np.asarray(env.test_ids(), dtype=np.int64).reshape(-1)
