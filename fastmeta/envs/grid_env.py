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

from fastmeta.envs.base import BatchedEnv, check_choice, check_num_threads
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
    obs_highs: tuple  # category count per observation component (embedding vocab sizes)
    instruction_highs: tuple
    num_tasks: int
    max_episode_steps = MAX_STEPS
    _kind: int
    state_fields = ("_state", "_plan", "instructions", "task_ids")

    # -- per-env definitions ------------------------------------------------------------------
    @classmethod
    def objects(cls, env_id: int) -> list:
        """[(kind, x, y, arg)] in the original's placement order; arg = bus dest (x, y) or ingredient."""
        raise NotImplementedError

    # -- derived tables -----------------------------------------------------------------------
    @classmethod
    @functools.cache
    def tables(cls) -> tuple[np.ndarray, np.ndarray]:
        """Flat int8 [task, x, y] tables: object kind, and bus destination x*h+y / ingredient."""
        n, w, h = cls.num_tasks, cls.width, cls.height
        kind = np.zeros((n, w, h), dtype=np.int8)
        arg = np.zeros((n, w, h), dtype=np.int8)
        for e in range(n):
            for k, x, y, a in cls.objects(e):
                kind[e, x, y] = k
                arg[e, x, y] = a[0] * h + a[1] if k == BUS else a
        kind.setflags(write=False)
        arg.setflags(write=False)
        return kind.ravel(), arg.ravel()

    # -- construction -------------------------------------------------------------------------
    def __init__(
        self,
        num_envs: int = 1,
        seed: int = 0,
        split: str = "train",
        episodes_per_trial: int = 2,
        fixed_instructions: bool = False,
        num_threads: int = 1,
        first_slot: int = 0,
    ):
        check_choice("split", split, ("train", "test"))
        self.num_threads = check_num_threads(num_threads)
        super().__init__(
            num_envs,
            seed,
            obs_shape=(len(self.obs_highs),),
            obs_dtype=np.int64,
            episodes_per_trial=episodes_per_trial,
            first_slot=first_slot,
        )
        n = self.num_envs
        self.split = split
        self.fixed_instructions = bool(fixed_instructions)
        self._split = np.ascontiguousarray(
            self.train_ids() if split == "train" else self.test_ids()
        )
        self._cell_kind, self._cell_arg = self.tables()
        self._state = np.zeros((n, _grid.STATE_FIELDS), dtype=_grid.STATE_DTYPE)
        self._plan = np.zeros((n, self.episodes_per_trial, 2), dtype=np.int32)
        self.instructions = np.zeros((n, 2), dtype=np.int64)
        self.task_ids = np.zeros(n, dtype=np.int64)
        self._all_slots = np.arange(n, dtype=np.int64)
        self.info["task_id"] = self.task_ids
        self.single_action_space = spaces.Discrete(NUM_ACTIONS)
        self.single_observation_space = spaces.Box(
            low=0, high=np.array(self.obs_highs, dtype=np.int64) - 1, dtype=np.int64
        )
        self._kernel = _grid.BatchKernel(
            kind=self._kind,
            width=self.width,
            height=self.height,
            start=tuple(self.start),
            cell_kind=self._cell_kind,
            cell_arg=self._cell_arg,
            obs=self.obs,
            final_obs=self.final_obs,
            instructions=self.instructions,
            plan=self._plan,
            state=self._state,
            rew=self.rew,
            terminated=self.terminated,
            truncated=self.truncated,
            trial_done=self.trial_done,
            episode_index=self.episode_index,
            task_ids=self.task_ids,
            rng_states=self.rng_states,
            split=self._split,
            episodes_per_trial=self.episodes_per_trial,
            fixed_instructions=self.fixed_instructions,
        )

    # -- tasks ----------------------------------------------------------------------------------
    @property
    def tasks(self) -> np.ndarray:
        """The env id of every slot (a copy)."""
        return self.task_ids.copy()

    def _pin(self, ids, slots) -> None:
        self._state[slots, _grid.FIELD["task"]] = ids
        self._state[slots, _grid.FIELD["pinned"]] = 1

    def _unpin(self, slots) -> None:
        self._state[slots, _grid.FIELD["pinned"]] = 0

    # -- contract -------------------------------------------------------------------------------
    def _reset(self, tasks, instructions) -> None:
        """New trial in every slot; `tasks` (N,) fixes this trial's env ids, `instructions`
        (N, episodes_per_trial, 2) the instruction of each of its episodes."""
        f = _grid.FIELD
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
        self.trial_done[:] = False

    def _step(self, actions) -> None:
        bad = self._kernel.step(actions, self.num_threads)
        if bad >= 0:
            self._raise_bad_action(actions, bad)

    def _step_slots(self, actions, slots) -> None:
        bad = self._kernel.step_ids(actions, slots)
        assert bad < 0  # validated by step_slots

    # -- inspection -------------------------------------------------------------------------
    def slot_state(self, i: int) -> dict:
        """Every state field of slot `i` (for tests, rendering and debugging)."""
        s = self._state[i]
        f = _grid.FIELD
        return {k: (s[v : v + 3].tolist() if k == "bowl" else int(s[v])) for k, v in f.items()}

    def render(self) -> np.ndarray:
        from fastmeta.envs.grid_render import render_grid

        return render_grid(self)
