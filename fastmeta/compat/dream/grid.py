"""The original `envs.grid` surface: `Action`, and `GridEnv`, the base of the grid drop-ins.

A GridEnv here is one env stepped by the compiled `GridCore` (csrc/grid.pyx), the same step
function the batched kernel runs, so the drop-in and `fastmeta.make` cannot drift apart.
"""

import enum

import numpy as np
from gymnasium import spaces

from fastmeta.compat.dream.meta_exploration import MetaExplorationState
from fastmeta.kernels import _grid


class Action(enum.IntEnum):
    left = 0
    up = 1
    right = 2
    down = 3
    noop = 4
    ride_bus = 5
    end_episode = 6
    pickup = 7
    drop = 8


def _default_wrapper(observation):
    import torch  # only this default needs torch (the train extra), as in sign.py

    return torch.tensor(observation)


class GridEnv:
    """One grid env with the original's class-level interface (dream.md §1.7, §9)."""

    native = None  # the fastmeta.envs class holding the layout and splits
    _integer_success = True
    _instruction_wrapper = None

    def __init__(self, env_id, wrapper=None):
        native = self.native
        self.env_id = np.asarray(env_id, dtype=np.int64).reshape(1)
        task = int(self.env_id[0])
        if not 0 <= task < native.num_tasks:
            raise ValueError(f"env id {task} is out of range [0, {native.num_tasks - 1}]")
        kind, arg = native.tables()
        self._core = _grid.GridCore(
            native._kind, native.width, native.height, *native.start, kind, arg, task
        )
        self._wrapper = _default_wrapper if wrapper is None else wrapper
        self.action_space = spaces.Discrete(len(Action))
        highs = np.array(native.obs_highs, dtype=np.int64)
        self.observation_space = spaces.Dict(
            {
                "observation": spaces.Box(np.zeros_like(highs), highs, dtype=np.int64),
                "env_id": spaces.Box(np.array([0]), np.array([native.num_tasks]), dtype=np.int64),
            }
        )

    # -- class-level interface --------------------------------------------------------------
    @classmethod
    def env_ids(cls):
        """(train ids, test ids), each an int64 array of shape (n, 1)."""
        return cls.native.train_ids().reshape(-1, 1), cls.native.test_ids().reshape(-1, 1)

    @classmethod
    def create_env(cls, seed, test=False, wrapper=None):
        train, test_ids = cls.env_ids()
        split = test_ids if test else train
        env_id = split[np.random.RandomState(seed).randint(len(split))]
        return cls(env_id, wrapper)

    @classmethod
    def instruction_wrapper(cls):
        return cls._instruction_wrapper

    # -- env ---------------------------------------------------------------------------------
    @property
    def unwrapped(self):
        return self

    @property
    def steps(self):
        return self._core.steps

    def reset(self):
        obs = self._core.reset()
        return MetaExplorationState(self._wrapper(obs), 0, None, self.env_id)

    def _raw_step(self, action):
        obs, done, r, complete = self._core.step(int(action))
        return self._wrapper(obs), done, r, complete

    def step(self, action):
        obs, done, _, _ = self._raw_step(action)
        return MetaExplorationState(obs, 0, action, self.env_id), 0, done, {}

    def render(self, mode=None):
        from fastmeta.compat.dream.rendering import GridRender

        return GridRender.of(self)

    def close(self):
        pass
