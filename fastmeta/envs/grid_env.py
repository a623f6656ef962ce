"""What DREAM's four grid envs share: task tables, buffers and the calls into csrc/grid.pyx.

Each env file (vanilla_bus.py, distraction_bus.py, map_bus.py, cooking.py) states its contract
(size, start, spaces, splits) and where its objects stand for a task id; this class turns that into
the flat lookup tables the C kernel reads, and implements the batched contract of
docs/env_contract.md on top of `step_batch`.

Per slot, a *trial* is `episodes_per_trial` episodes in one task (DREAM: an exploration episode then
an exploitation episode; the baselines: two episodes). Every episode draws a fresh instruction
(goal corner or recipe) from the slot's stream, as the original's InstructionWrapper does at every
reset; `fixed_instructions=True` keeps the first one for the whole trial.
"""
from __future__ import annotations

import functools

import numpy as np
from gymnasium import spaces

from fastmeta.envs.base import BatchedEnv, check_int_array
from fastmeta.kernels import _grid

# Object kinds (the original's status codes) and the env kinds the kernel knows.
EMPTY, BUS, BOWL, DRAWER = 0, 1, 2, 3
KIND_BUS, KIND_MAP, KIND_COOKING = 0, 1, 2
NUM_ACTIONS = 9
MAX_STEPS = 20


class GridEnv(BatchedEnv):
    """Base of the four grid envs; subclasses fill in the class attributes and `objects`."""

    width: int
    height: int
    start: tuple
    obs_highs: tuple            # category count per observation component (embedding vocab sizes)
    instruction_highs: tuple
    env_id_high: int
    _kind: int

    # -- per-env definitions ------------------------------------------------------------------
    @classmethod
    def objects(cls, env_id: int) -> list:
        """[(kind, x, y, arg)] in the original's placement order; arg = bus dest (x, y) or ingredient."""
        raise NotImplementedError

    @classmethod
    def all_ids(cls) -> np.ndarray:
        return np.arange(cls.env_id_high, dtype=np.int64)

    @classmethod
    def train_ids(cls) -> np.ndarray:
        return cls.all_ids()

    @classmethod
    def test_ids(cls) -> np.ndarray:
        return cls.all_ids()

    # -- derived tables -----------------------------------------------------------------------
    @classmethod
    @functools.cache
    def tables(cls) -> tuple[np.ndarray, np.ndarray]:
        """Flat int8 [task, x, y] tables: object kind, and bus destination x*h+y / ingredient."""
        n, w, h = cls.env_id_high, cls.width, cls.height
        kind = np.zeros((n, w, h), dtype=np.int8)
        arg = np.zeros((n, w, h), dtype=np.int8)
        for e in range(n):
            for k, x, y, a in cls.objects(e):
                kind[e, x, y] = k
                arg[e, x, y] = a[0] * h + a[1] if k == BUS else a
        kind.setflags(write=False)
        arg.setflags(write=False)
        return kind.ravel(), arg.ravel()

    @classmethod
    def vector_view(cls):
        from fastmeta.views.grid_trial import GridTrialVectorEnv
        return GridTrialVectorEnv

    @classmethod
    def single_view(cls):
        from fastmeta.views.grid_trial import GridTrialEnv
        return GridTrialEnv

    # -- construction -------------------------------------------------------------------------
    def __init__(self, num_envs: int = 1, seed: int = 0, split: str = "train",
                 episodes_per_trial: int = 2, fixed_instructions: bool = False, num_threads: int = 1):
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        if isinstance(episodes_per_trial, bool) or not isinstance(episodes_per_trial, (int, np.integer)) \
                or episodes_per_trial < 1:
            raise ValueError(f"episodes_per_trial must be an int >= 1, got {episodes_per_trial!r}")
        if not isinstance(num_threads, (int, np.integer)) or num_threads < 1:
            raise ValueError(f"num_threads must be an int >= 1, got {num_threads!r}")
        super().__init__(num_envs, seed, obs_shape=(len(self.obs_highs),), obs_dtype=np.int64)
        n = self.num_envs
        self.split = split
        self.episodes_per_trial = int(episodes_per_trial)
        self.fixed_instructions = bool(fixed_instructions)
        self.num_threads = int(num_threads)
        self._split = np.ascontiguousarray(self.train_ids() if split == "train" else self.test_ids())
        self._cell_kind, self._cell_arg = self.tables()
        self._state = np.zeros((n, _grid.STATE_FIELDS), dtype=_grid.STATE_DTYPE)
        self._plan = np.zeros((n, self.episodes_per_trial, 2), dtype=np.int32)
        self.instructions = np.zeros((n, 2), dtype=np.int64)
        self._trial_done = np.zeros(n, dtype=bool)
        self._episode = np.zeros(n, dtype=np.int64)
        self._tasks = np.zeros(n, dtype=np.int64)
        self._all_slots = np.arange(n, dtype=np.int64)
        self._actions = np.zeros(n, dtype=np.int64)
        self.info = {"episode": self._episode, "trial_done": self._trial_done, "env_id": self._tasks}
        self.single_action_space = spaces.Discrete(NUM_ACTIONS)
        self.single_observation_space = spaces.Box(
            low=0, high=np.array(self.obs_highs, dtype=np.int64) - 1, dtype=np.int64)
        self._kernel = _grid.BatchKernel(self)
        self._needs_reset = True

    # -- tasks ----------------------------------------------------------------------------------
    @property
    def tasks(self) -> np.ndarray:
        """The env id of every slot (a copy)."""
        return self._tasks.copy()

    def _check_tasks(self, ids, slots) -> np.ndarray:
        ids = check_int_array("tasks", np.atleast_1d(np.asarray(ids)), (len(slots),), 0, self.env_id_high)
        return ids.astype(np.int64)

    def pin_tasks(self, ids, slots=None) -> None:
        """Keep slot `slots[k]` on task `ids[k]` from its next trial on (every trial after)."""
        slots = self.check_slots(slots)
        ids = self._check_tasks(ids, slots)
        self._state[slots, _grid.FIELD["task"]] = ids
        self._state[slots, _grid.FIELD["pinned"]] = 1

    def unpin_tasks(self, slots=None) -> None:
        self._state[self.check_slots(slots), _grid.FIELD["pinned"]] = 0

    # -- contract -------------------------------------------------------------------------------
    def reset(self, seed: int | None = None, tasks=None, instructions=None):
        """New trial in every slot. `tasks` (N,) pins this trial's env ids; `instructions`
        (N, episodes_per_trial, 2) pins the instruction of each of its episodes."""
        n, f = self.num_envs, _grid.FIELD
        if tasks is not None:
            tasks = self._check_tasks(tasks, self._all_slots)
        if instructions is not None:
            instructions = self._check_instructions(instructions)
        if seed is not None:
            self.seed(seed)
        pinned = self._state[:, f["pinned"]].copy()
        if tasks is not None:
            self._state[:, f["task"]] = tasks
            self._state[:, f["pinned"]] = 1
        if instructions is not None:
            self._plan[:] = instructions
            self._state[:, f["plan"]] = 1
        self._kernel.reset_slots(self._all_slots)
        if tasks is not None:
            self._state[:, f["pinned"]] = pinned
        self.rew[:] = 0.0
        self.terminated[:] = False
        self.truncated[:] = False
        self._trial_done[:] = False
        self._needs_reset = False
        return self.obs, self.info

    def _check_instructions(self, instructions) -> np.ndarray:
        shape = (self.num_envs, self.episodes_per_trial, 2)
        arr = np.asarray(instructions)
        check_int_array("instructions", arr, shape, 0, max(self.instruction_highs))
        for c, high in enumerate(self.instruction_highs):
            if arr[..., c].max(initial=0) >= high:
                raise ValueError(f"instructions[..., {c}] must be < {high}")
        return arr.astype(np.int32)

    def step(self, actions):
        if self._needs_reset:
            raise RuntimeError("call reset() before step()")
        actions = self._as_actions(actions)
        bad = self._kernel.step(actions, self.num_threads)
        if bad >= 0:
            raise ValueError(f"actions[{bad}] = {actions[bad]} is out of range [0, {NUM_ACTIONS - 1}]")
        return self.obs, self.rew, self.terminated, self.truncated, self.info

    def step_ids(self, actions, ids):
        """Step only the slots `ids` (envpool-style partial stepping); other slots keep their
        buffers as they were."""
        if self._needs_reset:
            raise RuntimeError("call reset() before step_ids()")
        ids = np.ascontiguousarray(check_int_array("env_id", np.asarray(ids), np.shape(ids), 0,
                                                   self.num_envs), dtype=np.int64)
        if len(np.unique(ids)) != len(ids):
            raise ValueError("env_id holds a slot twice")
        actions = np.ascontiguousarray(
            check_int_array("actions", np.asarray(actions), ids.shape, 0, NUM_ACTIONS), dtype=np.int64)
        bad = self._kernel.step_ids(actions, ids)
        assert bad < 0  # validated above
        return self.obs, self.rew, self.terminated, self.truncated, self.info

    def check_actions_for(self, actions) -> None:
        """Raise if `actions` holds an out-of-range action (for views that step subsets)."""
        check_int_array("actions", np.asarray(actions), np.shape(actions), 0, NUM_ACTIONS)

    def _as_actions(self, actions) -> np.ndarray:
        """The kernel reads int64; other integer dtypes are copied into a preallocated buffer."""
        if not isinstance(actions, np.ndarray):
            raise TypeError(f"actions must be a numpy integer array, got {type(actions).__name__}")
        if actions.dtype.kind not in "iu":
            raise TypeError(f"actions must have an integer dtype, got {actions.dtype}")
        if actions.shape != (self.num_envs,):
            raise ValueError(f"actions must have shape ({self.num_envs},), got {actions.shape}")
        if actions.dtype == np.int64 and actions.flags.c_contiguous:
            return actions
        if actions.dtype.kind == "u" and actions.size and actions.max() > np.iinfo(np.int64).max:
            raise ValueError("actions hold values out of range")
        np.copyto(self._actions, actions, casting="unsafe")
        return self._actions

    # -- inspection -------------------------------------------------------------------------
    def slot_state(self, i: int) -> dict:
        """Every state field of slot `i` (for tests, rendering and debugging)."""
        s = self._state[i]
        f = _grid.FIELD
        return {k: (s[v:v + 3].tolist() if k == "bowl" else int(s[v])) for k, v in f.items()}

    def render(self) -> np.ndarray:
        from fastmeta.envs.grid_render import render_grid
        return render_grid(self)
