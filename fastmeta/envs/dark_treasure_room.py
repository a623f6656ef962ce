"""DarkTreasureRoom: First-Explore's dark room with k valued treasures (`BatchedDarkRoom`).

Contract (spec first_explore.md §1.2):
  room          roomsize x roomsize integer cells (default 9; up to 11); start (R//2, R//2) = (4, 4)
  task          k = 8 treasures, x and y each uniform on 0..R-1 independently, *with replacement*
                (treasures may share a cell or sit on the start cell); values uniform [minval, maxval)
                with maxval = 2; TreasureTask(x, y: int32 (N, k), value: float32 (N, k))
  minval        the paper's rho: -4 deceptive, 0 control; TREASURE_VARIANTS lists the original ids
  actions       5: 0 stay, 1 y+1, 2 x+1, 3 y-1, 4 x-1, each coordinate clipped to the room
  collection    after the move, every treasure on the new cell not yet collected this episode pays,
                several on one cell together; a treasure on the start cell pays only once the
                agent is on it after a step (e.g. action 0)
  observation   (x, y) as raw int32, as the original
  episode       episode_length = 9 steps (= roomsize), then truncated; every episode restarts at
                the start with all treasures uncollected
  lifetime      episodes_per_lifetime = 10 (9 explore episodes + 1 exploit, as First-Explore trains)
  reward        float32. reward_mode="step" (default): the per-step reward, as the baselines' gym
                port; reward_mode="running_return": the running episode return, which is what the
                original puts in `state.reward` and First-Explore's tokens carry.
                `env.episode_return` (also `info["episode_return"]`) always holds the running
                return of the current episode (0 right after an autoreset).
  num_threads   1 (default): step on the calling thread; > 1: steps split the slots across that
                many numba threads (capped by NUMBA_NUM_THREADS); results are bit-identical
                either way, resets and episode boundaries stay on one thread

All slots step together and every episode has the same length, so the step counter `env.t` is
shared by all slots.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
from gymnasium import spaces

from fastmeta.envs.lifetime import (LifetimeEnv, TaskBatch, check_choice, check_num_threads,
                                    check_positive_int, check_real, parallel_threads)
from fastmeta.kernels import treasure_room as K

DEFAULTS = dict(minval=-4.0, maxval=2.0, k=8, roomsize=9, episode_length=None,
                episodes_per_lifetime=10, reward_mode="step")
REWARD_MODES = ("step", "running_return")

#: minval of the original's registered gym ids (control_files/*/environments/treasure_env.py)
TREASURE_VARIANTS = {
    "HardTreasureEnv-v0": -4.0,
    "EasyTreasureEnv-v0": 0.0,
    "MediTreasureEnv-v0": -3.0,
    "2TreasureEnv-v0": -2.0 * math.sqrt(2.0),
    "3TreasureEnv-v0": -2.0 * math.sqrt(3.0),
}


@dataclasses.dataclass
class TreasureTask(TaskBatch):
    """Treasure layouts, one row per slot: x, y int32 (N, k); value float32 (N, k)."""
    x: np.ndarray
    y: np.ndarray
    value: np.ndarray


class DarkTreasureRoom(LifetimeEnv):
    """`num_envs` dark rooms; a lifetime collects treasures of one layout over many episodes."""

    name = "DarkTreasureRoom"
    Task = TreasureTask
    metadata = {"render_modes": ["rgb_array"]}
    CELL = 8  # render pixels per cell

    def __init__(self, num_envs: int = 1, seed: int = 0, minval: float = DEFAULTS["minval"],
                 maxval: float = DEFAULTS["maxval"], k: int = DEFAULTS["k"],
                 roomsize: int = DEFAULTS["roomsize"], episode_length: int | None = None,
                 episodes_per_lifetime: int = DEFAULTS["episodes_per_lifetime"],
                 reward_mode: str = DEFAULTS["reward_mode"], num_threads: int = 1):
        self.num_threads = check_num_threads(num_threads)
        self.minval = check_real("minval", minval)
        self.maxval = check_real("maxval", maxval)
        if not self.minval < self.maxval:
            raise ValueError(f"minval must be < maxval, got minval={minval}, maxval={maxval}")
        self.k = check_positive_int("k", k)
        self.roomsize = check_positive_int("roomsize", roomsize)
        if self.roomsize > 11:
            raise ValueError(f"roomsize must be <= 11 (cells are tracked in 128 bits), got {roomsize}")
        self.episode_length = check_positive_int(
            "episode_length", self.roomsize if episode_length is None else episode_length)
        self.reward_mode = check_choice("reward_mode", reward_mode, REWARD_MODES)
        self.start = self.roomsize // 2
        # float32 bounds of the value draw (see kernels/treasure_room.py)
        self._lo = np.float32(self.minval)
        self._below_max = np.nextafter(np.float32(self.maxval), np.float32(-np.inf))
        self.single_observation_space = spaces.Box(0, self.roomsize - 1, shape=(2,), dtype=np.int32)
        self.single_action_space = spaces.Discrete(5)
        super().__init__(num_envs, seed, (2,), np.int32, np.float32, episodes_per_lifetime)
        n = self.num_envs
        self.episode_return = np.zeros(n, dtype=np.float32)
        self.info["episode_return"] = self.episode_return
        self._occ = np.zeros((n, 2), dtype=np.uint64)
        self._avail = np.zeros((n, 2), dtype=np.uint64)  # cells with uncollected treasure
        self._packed = np.zeros((n, 2 * self.k), dtype=np.float32)  # see kernels/treasure_room.py
        self._hits = np.zeros(n, dtype=np.int64)          # kernel scratch: slots that collect
        self.t = 0
        self.reset()

    def task_fields(self) -> dict:
        return {"x": ((self.k,), np.int32), "y": ((self.k,), np.int32),
                "value": ((self.k,), np.float32)}

    def _check_task_values(self, tasks):
        for name in ("x", "y"):
            a = getattr(tasks, name)
            if a.size and (a.min() < 0 or a.max() >= self.roomsize):
                raise ValueError(f"tasks.{name} must lie in [0, {self.roomsize - 1}]")

    # -- kernels ----------------------------------------------------------------------------------
    def _draw_args(self):
        return self.roomsize, self.minval, self.maxval - self.minval, self._below_max

    def _sample_tasks(self, tasks, rng_states):
        K.sample_tasks(tasks.x, tasks.y, tasks.value, rng_states, *self._draw_args())

    def _install_tasks(self, use_given, given):
        t = self._task
        K.install_tasks(use_given, given.x, given.y, given.value, t.x, t.y, t.value, self._occ,
                        self._packed, self.rng_states, *self._draw_args())

    def _begin_lifetime(self):
        K.begin_episode(self.obs, self.episode_return, self._occ, self._avail, self.start)
        self.t = 0

    def _step(self, actions):
        kernel = K.step
        if self.num_threads > 1:
            parallel_threads(self.num_threads)
            kernel = K.step_parallel
        bad = kernel(actions, self.obs, self.rew, self.episode_return, self._packed, self._avail,
                     self._hits, self.roomsize, self.reward_mode == "running_return")
        if bad >= 0:
            self._raise_bad_action(actions, bad)
        if self.t == 0:  # the previous step ended an episode (or reset() just ran)
            self.truncated[:] = False
            self.trial_done[:] = False
        self.t += 1
        if self.t < self.episode_length:
            return
        self.t = 0
        episode = int(self.episode[0]) + 1
        if episode >= self.episodes_per_lifetime:
            episode = 0
            self._install_tasks(self._pinned, self._pinned_task)  # before the episode restarts
            self.trial_done[:] = True
        K.end_episode(self.obs, self.final_obs, self.truncated, self.episode_return, self._occ,
                      self._avail, self.start)
        self.episode[:] = episode

    # -- views ------------------------------------------------------------------------------------
    def render(self) -> np.ndarray:
        """uint8 (N, 8R, 8R, 3), x to the right and y up. A cell's colour is the summed value of
        its treasures (green positive, red negative, brighter = larger); cells emptied this episode
        are drawn dim; the agent is a white square."""
        n, r, c = self.num_envs, self.roomsize, self.CELL
        t = self._task
        total = np.zeros((n, r, r), dtype=np.float64)          # [slot, x, y]
        np.add.at(total, (np.arange(n)[:, None], t.x, t.y), t.value)
        occupied = np.zeros((n, r, r), dtype=bool)
        occupied[np.arange(n)[:, None], t.x, t.y] = True
        cells = np.arange(r * r, dtype=np.uint64).reshape(r, r)
        word = (cells >> np.uint64(6)).astype(np.int64)
        bit = np.uint64(1) << (cells & np.uint64(63))
        taken = (self._avail[:, word] & bit) == 0
        scale = max(abs(self.minval), abs(self.maxval), 1e-9)
        mag = np.clip(np.abs(total) / scale, 0, 1)
        rgb = np.full((n, r, r, 3), 24.0)
        rgb[..., 0] = np.where(occupied & (total < 0), 60 + 195 * mag, rgb[..., 0])
        rgb[..., 1] = np.where(occupied & (total >= 0), 60 + 195 * mag, rgb[..., 1])
        rgb[occupied & (total == 0)] = 90
        rgb[taken & occupied] *= 0.35
        rgb[np.arange(n), self.obs[:, 0], self.obs[:, 1]] = 255
        img = rgb.transpose(0, 2, 1, 3)[:, ::-1]               # rows = y, top row = largest y
        img = np.repeat(np.repeat(img, c, axis=1), c, axis=2)
        img[:, ::c, :] = 0                                      # grid lines
        img[:, :, ::c] = 0
        return img.astype(np.uint8)

    @classmethod
    def vector_view(cls):
        from fastmeta.views.first_explore_views import FirstExploreVectorEnv
        return FirstExploreVectorEnv

    @classmethod
    def single_view(cls):
        from fastmeta.views.first_explore_views import FirstExploreEnv
        return FirstExploreEnv
