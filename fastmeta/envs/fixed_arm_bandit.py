"""FixedArmBandit: First-Explore's "bandit with one fixed arm" (`MeanBandit`), as a batched env.

Contract (spec first_explore.md §1.1):
  arms          num_arms = 10; arm 0 pays exactly `minval` with no noise (the fixed arm);
                arms 1..9 pay mean_a + noise * N(0, 1), means iid N(0, 1) per task, noise = 0.5
  minval        0.5 deceptive (paper's mu_1), 0 control
  observation   empty float32 vector, shape (0,)
  episode       one pull: every step ends an episode (terminated=True)
  trial         episodes_per_trial = 100 pulls per task; then a new task is drawn
  reward        float32, as in the original (which runs in float32)
  noise         every pull draws one normal, even arm 0's: two envs built and reset with the same
                seed hold the same tasks and give pull t the same noise whatever was pulled
                before (the common random numbers of the original's exploit copy, spec §2.4)
  task          BanditTask(means: float32 (N, num_arms)); arm 0 of a task is what the fixed arm pays

GaussianBandit (gaussian_bandit.py) is the same env with every arm random.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from gymnasium import spaces

from fastmeta.envs.base import check_positive_int, check_real
from fastmeta.envs.task_batch import TaskBatch, TaskBatchEnv
from fastmeta.kernels import bandit as K

DEFAULTS = dict(num_arms=10, minval=0.5, noise=0.5, episodes_per_trial=100)


@dataclasses.dataclass
class BanditTask(TaskBatch):
    """Arm means, one row per slot: float32 (N, num_arms)."""

    means: np.ndarray


class FixedArmBandit(TaskBatchEnv):
    """`num_envs` bandits whose arm 0 pays exactly `minval`; other arms are N(mean, noise^2)."""

    name = "FixedArmBandit"
    Task = BanditTask
    _fixed_arm = True
    metadata = {"render_modes": ["rgb_array"]}
    state_fields = ("last_action",)

    def __init__(
        self,
        num_envs: int = 1,
        seed: int = 0,
        minval: float = DEFAULTS["minval"],
        noise: float = DEFAULTS["noise"],
        num_arms: int = DEFAULTS["num_arms"],
        episodes_per_trial: int = DEFAULTS["episodes_per_trial"],
        first_slot: int = 0,
    ):
        self.minval = check_real("minval", minval)
        self.noise = check_real("noise", noise)
        if self.noise < 0:
            raise ValueError(f"noise must be >= 0, got {noise}")
        self.num_arms = check_positive_int("num_arms", num_arms)
        if self.num_arms < 2:
            raise ValueError(f"num_arms must be >= 2, got {num_arms}")
        self.single_observation_space = spaces.Box(-np.inf, np.inf, shape=(0,), dtype=np.float32)
        self.single_action_space = spaces.Discrete(self.num_arms)
        super().__init__(
            num_envs, seed, (0,), np.float32, np.float32, episodes_per_trial, first_slot
        )
        self.last_action = np.full(self.num_envs, -1, dtype=np.int64)

    def task_fields(self) -> dict:
        return {"means": ((self.num_arms,), np.float32)}

    # -- kernels ----------------------------------------------------------------------------------
    def _sample_tasks(self, tasks, rng_states):
        K.sample_tasks(tasks.means, rng_states, self._fixed_arm, np.float32(self.minval))

    def _install_tasks(self, use_given, given):
        K.install_tasks(
            self._task.means,
            use_given,
            given.means,
            self.rng_states,
            self._fixed_arm,
            np.float32(self.minval),
        )
        self.last_action[:] = -1

    def _step(self, actions):
        bad = K.step(
            actions,
            self._task.means,
            self._pinned,
            self._pinned_task.means,
            self.rng_states,
            self._fixed_arm,
            np.float32(self.minval),
            self.noise,
            self.episodes_per_trial,
            self.rew,
            self.terminated,
            self.truncated,
            self.episode_index,
            self.trial_done,
        )
        if bad >= 0:
            self._raise_bad_action(actions, bad)
        self.last_action[:] = actions

    # -- rendering --------------------------------------------------------------------------------
    def render(self) -> np.ndarray:
        """uint8 (N, 64, 16*num_arms, 3): one bar per arm mean (green above 0, red below, the
        fixed arm blue), last pulled arm marked by a white strip at the bottom."""
        n, k = self.num_envs, self.num_arms
        h, w = 64, 16
        img = np.full((n, h, w * k, 3), 32, dtype=np.uint8)
        mid = h // 2
        scale = (mid - 6) / 3.0  # +-3 standard deviations fill the half-height
        px = np.clip(np.rint(self._task.means * scale), -(mid - 6), mid - 6).astype(int)
        rows = np.arange(h)[None, :, None]
        for a in range(k):
            top = np.minimum(mid, mid - px[:, a])[:, None, None]
            bot = np.maximum(mid, mid - px[:, a])[:, None, None]
            bar = (rows >= top) & (rows <= bot)
            colour = np.where(px[:, a, None] >= 0, [[60, 200, 60]], [[220, 60, 60]])
            if self._fixed_arm and a == 0:
                colour = np.broadcast_to(np.array([[70, 110, 230]]), (n, 3))
            sl = img[:, :, a * w + 2 : (a + 1) * w - 2]
            sl[...] = np.where(bar[..., None], colour[:, None, None, :], sl)
            pulled = self.last_action == a
            img[pulled, h - 4 :, a * w + 2 : (a + 1) * w - 2] = 255
        img[:, mid, :] = 128
        return img
