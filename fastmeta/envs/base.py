"""The native batched env contract (docs/env_contract.md): buffers, validation, task pinning.

Subclasses declare their spaces and fill `_reset_slots` / `_step_kernel`; this module holds the
parts every env shares so that each env file only states its contract and calls its kernel.
"""
from __future__ import annotations

import numpy as np
from gymnasium import spaces

from fastmeta.kernels.rng import stream_states


def check_num_envs(num_envs) -> int:
    if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)):
        raise TypeError(f"num_envs must be an int, got {type(num_envs).__name__}")
    if num_envs < 1:
        raise ValueError(f"num_envs must be >= 1, got {num_envs}")
    return int(num_envs)


def check_int_array(name: str, arr, shape: tuple, low: int, high: int) -> np.ndarray:
    """Return `arr` as an integer ndarray of `shape` with values in [low, high), or raise."""
    if not isinstance(arr, np.ndarray):
        if isinstance(arr, (list, tuple)) or np.isscalar(arr):
            arr = np.asarray(arr)
        else:
            raise TypeError(f"{name} must be a numpy integer array, got {type(arr).__name__}")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must have an integer dtype, got {arr.dtype}")
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    if arr.size:
        lo, hi = arr.min(), arr.max()
        if lo < low or hi >= high:
            bad = int(np.flatnonzero((arr < low) | (arr >= high))[0])
            raise ValueError(
                f"{name}[{bad}] = {arr.flat[bad]} is out of range [{low}, {high - 1}]")
    return arr


class BatchedEnv:
    """N independent slots of one env, stepped together over preallocated numpy buffers."""

    #: registry name, set by subclasses
    name: str = "base"
    #: the per-slot spaces (Gymnasium objects), set by subclasses
    single_observation_space: spaces.Space
    single_action_space: spaces.Discrete

    def __init__(self, num_envs: int, seed: int, obs_shape: tuple, obs_dtype, rew_dtype=np.float64):
        self.num_envs = check_num_envs(num_envs)
        n = self.num_envs
        self.obs = np.zeros((n, *obs_shape), dtype=obs_dtype)
        self.final_obs = np.zeros_like(self.obs)
        self.rew = np.zeros(n, dtype=rew_dtype)
        self.terminated = np.zeros(n, dtype=bool)
        self.truncated = np.zeros(n, dtype=bool)
        self.rng_states = np.zeros(n, dtype=np.uint64)
        self.info: dict = {}
        self._seed = 0
        self.seed(seed)

    # -- randomness -------------------------------------------------------------------------
    def seed(self, seed: int) -> None:
        """Re-derive every slot's RNG stream from `seed`."""
        self.rng_states[:] = stream_states(seed, self.num_envs)
        self._seed = int(seed)

    # -- validation -------------------------------------------------------------------------
    def check_actions(self, actions) -> np.ndarray:
        return check_int_array("actions", actions, (self.num_envs,), 0, int(self.single_action_space.n))

    def check_slots(self, slots) -> np.ndarray:
        if slots is None:
            return np.arange(self.num_envs)
        slots = np.atleast_1d(np.asarray(slots))
        return check_int_array("slots", slots, slots.shape, 0, self.num_envs).astype(np.int64)

    # -- the interface every env fills --------------------------------------------------------
    def reset(self, seed: int | None = None, tasks=None):
        raise NotImplementedError

    def step(self, actions):
        raise NotImplementedError

    def render(self) -> np.ndarray:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, num_envs={self.num_envs})"
