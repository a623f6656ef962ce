"""The few env facts DREAM reads, uniform over the grid envs and the sign env.

Grid envs expose `instructions` (N, 2), `instruction_highs`, split ids and instruction pinning at
reset. The sign env keeps its instruction as `instruction` (N,), renders frames, and cannot pin
instructions (the original's sign world is unseeded too), so its test protocol pins the tasks only.
"""
from __future__ import annotations

import numpy as np

SIGN_INSTRUCTION_HIGHS = (2,)      # 0 = go to the box, 1 = go to the key (spec §4.3)


class DreamEnvView:
    def __init__(self, env):
        self.env = env
        self.is_sign = not hasattr(env, "instructions")
        self.num_envs = env.num_envs
        self.single_action_space = env.single_action_space
        self.env_id_high = env.env_id_high
        self.instruction_highs = SIGN_INSTRUCTION_HIGHS if self.is_sign else tuple(env.instruction_highs)
        self.obs_highs = tuple(getattr(env, "obs_highs", ()))
        self.max_steps = int(getattr(env, "max_episode_steps", 20))

    # -- buffers -----------------------------------------------------------------------------
    @property
    def obs(self):
        return self.env.obs

    @property
    def final_obs(self):
        return self.env.final_obs

    @property
    def info(self):
        return self.env.info

    @property
    def tasks(self):
        return self.env.tasks

    @property
    def instructions(self) -> np.ndarray:
        return self.env.instruction[:, None] if self.is_sign else self.env.instructions

    # -- calls -------------------------------------------------------------------------------
    def test_ids(self) -> np.ndarray:
        if self.is_sign:
            return np.arange(self.env_id_high, dtype=np.int64)
        return np.asarray(self.env.test_ids()).reshape(-1)

    def reset(self, seed=None, tasks=None, instructions=None):
        if self.is_sign:
            return self.env.reset(seed=seed, tasks=tasks)
        return self.env.reset(seed=seed, tasks=tasks, instructions=instructions)

    def step(self, actions):
        return self.env.step(actions)

    def render(self):
        return self.env.render()
