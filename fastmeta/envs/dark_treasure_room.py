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
  trial         episodes_per_trial = 10 (9 explore episodes + 1 exploit, as First-Explore trains)
  reward        float32. reward_mode="step" (default): the per-step reward, as the baselines' gym
                port; reward_mode="running_return": the running episode return, which is what the
                original puts in `state.reward` and First-Explore's tokens carry.
                `env.episode_return` (also `info["episode_return"]`) always holds the running
                return of the current episode (0 right after an autoreset).
  num_threads   1 (default): step on the calling thread; > 1: steps split the slots across that
                many numba threads (capped by NUMBA_NUM_THREADS); results are bit-identical
                either way. Resets, and the lockstep path's episode boundaries, stay on one
                thread

Step counting: `env.elapsed` (int64 (N,)) holds each slot's steps taken in its current episode,
so `step_slots(actions, slots)` moves only `slots` (natively: the other slots, their RNG streams
and buffers stay exactly as they were) and slots may then sit at different points of their
episodes and trials. Lockstep fast path: after `reset()` (and `restart_episode()` while every
slot is in the same episode) all slots share one step count, and as long as only full `step()`s
follow they keep sharing it; `step()` then runs the one-pass kernel and ends every slot's episode
together, as cheaply as an env without per-slot counters (`elapsed` is then filled only when
read). The first partial step switches the env to the per-slot kernel
(`kernels.treasure_room.step_ids`, about twice the cost per slot) until the next reset or a
`set_state` where all slots agree; results are bit-identical either way.

Collected treasures: `env.collected(slot)` is a bool array (k,) saying which of the slot's
treasures it has collected this episode (it stood on the treasure's cell after a step of this
episode; treasures sharing a cell are collected together). Right after an episode ends (same-step
autoreset) it already describes the new episode: nothing collected.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from gymnasium import spaces

from fastmeta.envs.base import check_choice, check_num_threads, check_positive_int, check_real
from fastmeta.envs.task_batch import TaskBatch, TaskBatchEnv, parallel_threads
from fastmeta.kernels import treasure_room as K

DEFAULTS = dict(
    minval=-4.0,
    maxval=2.0,
    k=8,
    roomsize=9,
    episode_length=None,
    episodes_per_trial=10,
    reward_mode="step",
)
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


class DarkTreasureRoom(TaskBatchEnv):
    """`num_envs` dark rooms; a trial collects treasures of one layout over many episodes.

    Beyond the native contract: `elapsed` (int64 (N,), each slot's steps in its current episode),
    `episode_return` (float32 (N,), the running return of the current episode) and the public
    hook `collected(slot) -> np.ndarray` of bool, shape (k,): which of slot `slot`'s k treasures
    it has collected this episode, i.e. the agent stood on the treasure's cell after a step of
    this episode. Treasures sharing a cell are collected together; a treasure on the start cell
    is not collected by the episode's start; right after an autoreset none is collected. It is
    read from the kernel's per-cell mask of cells still holding uncollected treasure and the
    task's x, y.
    """

    name = "DarkTreasureRoom"
    Task = TreasureTask
    metadata = {"render_modes": ["rgb_array"]}
    CELL = 8  # render pixels per cell
    state_fields = ("episode_return", "_occ", "_avail", "_packed", "elapsed")

    def __init__(
        self,
        num_envs: int = 1,
        seed: int = 0,
        minval: float = DEFAULTS["minval"],
        maxval: float = DEFAULTS["maxval"],
        k: int = DEFAULTS["k"],
        roomsize: int = DEFAULTS["roomsize"],
        episode_length: int | None = None,
        episodes_per_trial: int = DEFAULTS["episodes_per_trial"],
        reward_mode: str = DEFAULTS["reward_mode"],
        num_threads: int = 1,
        first_slot: int = 0,
    ):
        self.num_threads = check_num_threads(num_threads)
        self.minval = check_real("minval", minval)
        self.maxval = check_real("maxval", maxval)
        if not self.minval < self.maxval:
            raise ValueError(f"minval must be < maxval, got minval={minval}, maxval={maxval}")
        self.k = check_positive_int("k", k)
        self.roomsize = check_positive_int("roomsize", roomsize)
        if self.roomsize > 11:
            raise ValueError(
                f"roomsize must be <= 11 (cells are tracked in 128 bits), got {roomsize}"
            )
        self.episode_length = check_positive_int(
            "episode_length", self.roomsize if episode_length is None else episode_length
        )
        self.reward_mode = check_choice("reward_mode", reward_mode, REWARD_MODES)
        self.start = self.roomsize // 2
        # float32 bounds of the value draw (see kernels/treasure_room.py)
        self._lo = np.float32(self.minval)
        self._below_max = np.nextafter(np.float32(self.maxval), np.float32(-np.inf))
        self.single_observation_space = spaces.Box(0, self.roomsize - 1, shape=(2,), dtype=np.int32)
        self.single_action_space = spaces.Discrete(5)
        super().__init__(num_envs, seed, (2,), np.int32, np.float32, episodes_per_trial, first_slot)
        n = self.num_envs
        self.episode_return = np.zeros(n, dtype=np.float32)
        self.info["episode_return"] = self.episode_return
        self._occ = np.zeros((n, 2), dtype=np.uint64)
        self._avail = np.zeros((n, 2), dtype=np.uint64)  # cells with uncollected treasure
        self._packed = np.zeros((n, 2 * self.k), dtype=np.float32)  # see kernels/treasure_room.py
        self._hits = np.zeros(n, dtype=np.int64)  # kernel scratch: slots that collect
        self._all_slots = np.arange(n, dtype=np.int64)
        self._elapsed = np.zeros(n, dtype=np.int64)  # per-slot steps (see `elapsed`)
        # lockstep: the step count every slot shares (then `_elapsed` is stale and `elapsed`
        # refreshes it on read), or None once slots have been stepped apart
        self._shared_t: int | None = 0

    @property
    def elapsed(self) -> np.ndarray:
        """Steps each slot has taken in its current episode, int64 (N,) (the env's own array)."""
        if self._shared_t is not None:
            self._elapsed.fill(self._shared_t)
        return self._elapsed

    def _sync_lockstep(self) -> None:
        """Use the lockstep path exactly when every slot is at the same step of the same episode."""
        e, ep = self._elapsed, self.episode_index
        same = bool((e == e[0]).all() and (ep == ep[0]).all())
        self._shared_t = int(e[0]) if same else None

    def _after_set_state(self) -> None:
        self._sync_lockstep()

    def task_fields(self) -> dict:
        return {
            "x": ((self.k,), np.int32),
            "y": ((self.k,), np.int32),
            "value": ((self.k,), np.float32),
        }

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
        K.install_tasks(
            use_given,
            given.x,
            given.y,
            given.value,
            t.x,
            t.y,
            t.value,
            self._occ,
            self._packed,
            self.rng_states,
            *self._draw_args(),
        )

    def _begin_trial(self):
        K.begin_episode(self.obs, self.episode_return, self._occ, self._avail, self.start)
        self._elapsed[:] = 0
        self._sync_lockstep()

    def _step(self, actions):
        t = self._shared_t
        if t is None:  # slots were stepped apart: each goes by its own counter
            self._step_ids(actions, self._all_slots)
            return
        kernel = K.step
        if self.num_threads > 1:
            parallel_threads(self.num_threads)
            kernel = K.step_parallel
        bad = kernel(
            actions,
            self.obs,
            self.rew,
            self.episode_return,
            self._packed,
            self._avail,
            self._hits,
            self.roomsize,
            self.reward_mode == "running_return",
        )
        if bad >= 0:
            self._raise_bad_action(actions, bad)
        if t == 0:  # the previous step ended an episode (or reset() just ran)
            self.truncated[:] = False
            self.trial_done[:] = False
        t += 1
        if t < self.episode_length:
            self._shared_t = t
            return
        self._shared_t = 0
        episode = int(self.episode_index[0]) + 1
        if episode >= self.episodes_per_trial:
            episode = 0
            self._install_tasks(self._pinned, self._pinned_task)  # before the episode restarts
            self.trial_done[:] = True
        K.end_episode(
            self.obs,
            self.final_obs,
            self.truncated,
            self.episode_return,
            self._occ,
            self._avail,
            self.start,
        )
        self.episode_index[:] = episode

    def _step_slots(self, actions, slots):
        if self._shared_t is not None:  # leave lockstep: from now on every slot counts alone
            self._elapsed.fill(self._shared_t)
            self._shared_t = None
        self._step_ids(actions, slots)

    def _step_ids(self, actions, slots):
        """Step `slots` with the per-slot kernel (actions[s] for slot slots[s])."""
        kernel = K.step_ids
        if self.num_threads > 1:
            parallel_threads(self.num_threads)
            kernel = K.step_ids_parallel
        t, p = self._task, self._pinned_task
        bad = kernel(
            actions,
            slots,
            (
                self.obs,
                self.final_obs,
                self.rew,
                self.episode_return,
                self.truncated,
                self.trial_done,
                self._elapsed,
                self.episode_index,
            ),
            (t.x, t.y, t.value, self._occ, self._packed, self._avail),
            (self._pinned, p.x, p.y, p.value, self.rng_states),
            (
                *self._draw_args(),
                self.start,
                self.episode_length,
                self.episodes_per_trial,
                self.reward_mode == "running_return",
            ),
        )
        if bad >= 0:
            self._raise_bad_action(actions, bad)

    # -- inspection -------------------------------------------------------------------------------
    def collected(self, slot) -> np.ndarray:
        """bool (k,): which of slot `slot`'s treasures it has collected this episode (the agent
        stood on the treasure's cell after a step of this episode). Read from the per-cell mask of
        cells still holding uncollected treasure, so treasures sharing a cell go together."""
        self._check_ready("collected()")
        if slot is None or np.ndim(slot) != 0:
            raise ValueError(f"slot must be one slot index, got {slot!r}")
        slot = int(self.check_slots(slot)[0])
        t = self._task
        cell = t.x[slot].astype(np.uint64) * np.uint64(self.roomsize) + t.y[slot].astype(np.uint64)
        words = self._avail[slot, (cell >> np.uint64(6)).astype(np.intp)]
        return ((words >> (cell & np.uint64(63))) & np.uint64(1)) == 0

    # -- rendering --------------------------------------------------------------------------------
    def render(self) -> np.ndarray:
        """uint8 (N, 8R, 8R, 3), x to the right and y up. A cell's colour is the summed value of
        its treasures (green positive, red negative, brighter = larger); cells emptied this episode
        are drawn dim; the agent is a white square."""
        n, r, c = self.num_envs, self.roomsize, self.CELL
        t = self._task
        total = np.zeros((n, r, r), dtype=np.float64)  # [slot, x, y]
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
        img = rgb.transpose(0, 2, 1, 3)[:, ::-1]  # rows = y, top row = largest y
        img = np.repeat(np.repeat(img, c, axis=1), c, axis=2)
        img[:, ::c, :] = 0  # grid lines
        img[:, :, ::c] = 0
        return img.astype(np.uint8)
