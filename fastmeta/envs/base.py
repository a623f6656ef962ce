"""The one native batched env contract (docs/env_contract.md) every fastmeta env follows.

A native env steps `num_envs` independent *slots* over preallocated numpy buffers. A slot lives
through *trials*: `episodes_per_trial` episodes on one *task* (a DREAM env id, a bandit's arm
means, a treasure layout, a maze), then a new task. This module holds everything the envs share:

* the validators (actions, slots, seeds, tasks, instructions, num_threads), all applied before any
  state changes;
* the template of `reset` / `step` / `step_slots` / `pin_tasks` / `close`, so each env file only
  states its contract and calls its kernels (`_reset`, `_step`, `_pin`, `_unpin`);
* the info vocabulary (`episode_index`, `trial_done`, and `task_id` where tasks are integer ids);
* explicit parameters and state: `env.params` is what the env was built with, `env.get_state()`
  an `EnvState` holding copies of the arrays named by the env's `state_fields`; pickling, deep
  copies and checkpoints go through them;
* the global slot ids: an env built with `first_slot=f` holds slots f .. f+num_envs-1 of a larger
  batch, and its slot k draws from global slot f+k's stream, so the blocks of a data-parallel
  learner's ranks together step exactly as one env of the whole batch.
"""

from __future__ import annotations

import dataclasses
import inspect
import types

import numpy as np
from gymnasium import spaces

from fastmeta.kernels.rng import stream_states

MAX_SEED = 2**64


# -- validators (one set, shared by every env and view) ---------------------------------------
def check_num_envs(num_envs) -> int:
    if isinstance(num_envs, bool) or not isinstance(num_envs, (int, np.integer)):
        raise TypeError(f"num_envs must be an int, got {type(num_envs).__name__}")
    if num_envs < 1:
        raise ValueError(f"num_envs must be >= 1, got {num_envs}")
    return int(num_envs)


def check_positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def check_num_threads(value) -> int:
    """`num_threads` as an int >= 1. It never changes results, only how many threads step them."""
    return check_positive_int("num_threads", value)


def check_real(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return float(value)


def check_choice(name: str, value, choices: tuple):
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def check_first_slot(first_slot, num_envs: int) -> int:
    """`first_slot` as an int >= 0: the global index of slot 0 (slot ids stay below 2**64)."""
    if isinstance(first_slot, bool) or not isinstance(first_slot, (int, np.integer)):
        raise TypeError(f"first_slot must be an int, got {type(first_slot).__name__}")
    if first_slot < 0:
        raise ValueError(f"first_slot must be >= 0, got {first_slot}")
    if int(first_slot) + num_envs > MAX_SEED:
        raise ValueError(f"first_slot + num_envs must be <= 2**64, got {first_slot} + {num_envs}")
    return int(first_slot)


def check_seed(seed) -> int:
    """A seed is an int in [0, 2**64): one seed derives every slot's stream."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if not 0 <= int(seed) < MAX_SEED:
        raise ValueError(f"seed must be in [0, 2**64), got {seed}")
    return int(seed)


def as_int_array(name: str, arr) -> np.ndarray:
    """`arr` as an integer ndarray: lists and scalars are converted, floats and bools refused."""
    if not isinstance(arr, np.ndarray):
        if isinstance(arr, (list, tuple)) or (np.isscalar(arr) and not isinstance(arr, str)):
            arr = np.asarray(arr)
        else:
            raise TypeError(f"{name} must be a numpy integer array, got {type(arr).__name__}")
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must have an integer dtype, got {arr.dtype}")
    return arr


def check_int_array(name: str, arr, shape: tuple, low: int, high: int) -> np.ndarray:
    """Return `arr` as an integer ndarray of `shape` with values in [low, high), or raise."""
    arr = as_int_array(name, arr)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    if arr.size:
        lo, hi = arr.min(), arr.max()
        if lo < low or hi >= high:
            bad = int(np.flatnonzero((arr.ravel() < low) | (arr.ravel() >= high))[0])
            raise ValueError(f"{name}[{bad}] = {arr.flat[bad]} is out of range [{low}, {high - 1}]")
    return arr


def bad_action_error(actions, high: int) -> ValueError:
    bad = int(np.flatnonzero((actions < 0) | (actions >= high))[0])
    return ValueError(f"actions[{bad}] = {actions[bad]} is out of range [0, {high - 1}]")


def check_actions(actions, n: int, high: int) -> np.ndarray:
    """Integer actions of shape (n,) in [0, high), or raise naming the first bad one."""
    actions = as_int_array("actions", actions)
    if actions.shape != (n,):
        raise ValueError(f"actions must have shape ({n},), got {actions.shape}")
    if actions.size and (actions.min() < 0 or actions.max() >= high):
        raise bad_action_error(actions, high)
    return actions


def check_index_array(name: str, ids, n: int) -> np.ndarray:
    """A 1-D int64 array of distinct indices in [0, n) (slots, envpool env ids), or raise."""
    ids = as_int_array(name, np.atleast_1d(ids) if not isinstance(ids, np.ndarray) else ids)
    if ids.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {ids.shape}")
    check_int_array(name, ids, ids.shape, 0, n)
    ids = ids.astype(np.int64, copy=False)
    seen = np.zeros(n, dtype=bool)
    seen[ids] = True
    if np.count_nonzero(seen) != len(ids):
        raise ValueError(f"{name} holds an index twice")
    return ids


# -- explicit state ---------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class EnvState:
    """A native env's whole simulation state: copies of the arrays and scalars its class names in
    `state_fields`, with the class and parameters they belong to."""

    env: str
    params: dict
    arrays: dict
    scalars: dict


def _rebuild(cls, params: dict, state: EnvState | None):
    env = cls(**params)
    if state is not None:
        env.set_state(state)
    return env


class BatchedEnv:
    """N independent slots of one env, stepped together over preallocated numpy buffers.

    `first_slot` is the global id of slot 0: slot k draws from the stream of slot first_slot+k,
    so an env of a block of a global batch behaves as that block of one env of the whole batch.
    """

    #: registry name, set by subclasses
    name: str = "base"
    #: the per-slot spaces (Gymnasium objects), set by subclasses
    single_observation_space: spaces.Space
    single_action_space: spaces.Discrete
    #: number of integer task ids (DREAM envs, sign); None where tasks are arrays (First-Explore)
    num_tasks: int | None = None
    #: category count of each instruction component; () for envs without instructions
    instruction_highs: tuple = ()
    #: attributes holding the simulation state besides the common buffers (see get_state)
    state_fields: tuple = ()
    #: whether `_step`'s kernel rejects out-of-range actions itself (before changing anything)
    kernel_checks_actions: bool = True

    _COMMON_STATE = (
        "obs",
        "final_obs",
        "rew",
        "terminated",
        "truncated",
        "rng_states",
        "episode_index",
        "trial_done",
        "_needs_reset",
    )

    def __new__(cls, *args, **kwargs):
        self = super().__new__(cls)
        bound = inspect.signature(cls.__init__).bind(None, *args, **kwargs)
        bound.apply_defaults()
        params = dict(bound.arguments)
        params.pop("self", None)
        self._env_params = types.MappingProxyType(params)
        return self

    def __init__(
        self,
        num_envs: int,
        seed: int,
        obs_shape: tuple,
        obs_dtype,
        rew_dtype=np.float64,
        episodes_per_trial: int = 1,
        first_slot: int = 0,
    ):
        self.num_envs = check_num_envs(num_envs)
        self.first_slot = check_first_slot(first_slot, self.num_envs)
        self.episodes_per_trial = check_positive_int("episodes_per_trial", episodes_per_trial)
        n = self.num_envs
        self.obs = np.zeros((n, *obs_shape), dtype=obs_dtype)
        self.final_obs = np.zeros_like(self.obs)
        self.rew = np.zeros(n, dtype=rew_dtype)
        self.terminated = np.zeros(n, dtype=bool)
        self.truncated = np.zeros(n, dtype=bool)
        self.episode_index = np.zeros(n, dtype=np.int64)  # episode within the trial
        self.trial_done = np.zeros(n, dtype=bool)  # the slot's trial just ended
        self.rng_states = np.zeros(n, dtype=np.uint64)
        self.info: dict = {"episode_index": self.episode_index, "trial_done": self.trial_done}
        self._actions = np.zeros(n, dtype=np.int64)  # scratch for converted actions
        self._needs_reset = True
        self._closed = False
        self.seed(check_seed(seed))

    # -- parameters and state ---------------------------------------------------------------
    @property
    def params(self) -> types.MappingProxyType:
        """What this env was built with (num_envs, seed, first_slot and every env parameter),
        read-only."""
        return self._env_params

    def _state_names(self) -> tuple:
        return self._COMMON_STATE + tuple(self.state_fields)

    def get_state(self) -> EnvState:
        """Copies of every array and scalar of the simulation (exact resume, checkpoints)."""
        arrays, scalars = {}, {}
        for k in self._state_names():
            v = getattr(self, k)
            if isinstance(v, np.ndarray):
                arrays[k] = v.copy()
            else:
                scalars[k] = getattr(v, "item", lambda: v)()
        for k, v in self._task_state().items():
            arrays[f"task.{k}"] = v.copy()
        return EnvState(type(self).__name__, dict(self._env_params), arrays, scalars)

    def set_state(self, state: EnvState) -> None:
        """Install a state taken by `get_state()` of an env of the same class and num_envs;
        checked whole before anything is written."""
        self._check_open()
        if not isinstance(state, EnvState):
            raise TypeError(f"state must be an EnvState, got {type(state).__name__}")
        if state.env != type(self).__name__:
            raise ValueError(f"state is of a {state.env} env, not {type(self).__name__}")
        names = set(self._state_names())
        tasks = self._task_state()
        expected = {k for k in names if isinstance(getattr(self, k), np.ndarray)}
        expected |= {f"task.{k}" for k in tasks}
        if set(state.arrays) != expected or set(state.scalars) != names - expected:
            raise ValueError(f"state fields do not match {type(self).__name__}'s")
        for k, v in state.arrays.items():
            mine = tasks[k[5:]] if k.startswith("task.") else getattr(self, k)
            if v.shape != mine.shape or v.dtype != mine.dtype:
                raise ValueError(
                    f"state.{k} has shape {v.shape} {v.dtype}, this env "
                    f"{mine.shape} {mine.dtype} (num_envs={self.num_envs})"
                )
        for k, v in state.arrays.items():  # in place: compiled kernels hold these buffers
            np.copyto(tasks[k[5:]] if k.startswith("task.") else getattr(self, k), v)
        for k, v in state.scalars.items():
            setattr(self, k, v)
        self._after_set_state()

    def _task_state(self) -> dict:
        """Arrays of task state kept in objects rather than attributes (First-Explore tasks)."""
        return {}

    def _after_set_state(self) -> None:
        """Refresh derived buffers (e.g. rendered frames) after set_state."""

    def __reduce__(self):
        state = None if self._closed else self.get_state()
        return (_rebuild, (type(self), dict(self._env_params), state))

    # -- task ids (envs whose tasks are integer ids) -------------------------------------------
    @classmethod
    def all_ids(cls) -> np.ndarray:
        if cls.num_tasks is None:
            raise TypeError(f"{cls.name}'s tasks are arrays, not integer ids")
        return np.arange(cls.num_tasks, dtype=np.int64)

    @classmethod
    def train_ids(cls) -> np.ndarray:
        """The task ids `split="train"` draws from (all of them unless the env splits them)."""
        return cls.all_ids()

    @classmethod
    def test_ids(cls) -> np.ndarray:
        """The task ids `split="test"` draws from."""
        return cls.all_ids()

    # -- randomness -------------------------------------------------------------------------
    def seed(self, seed: int) -> None:
        """Re-derive every slot's RNG stream from `seed` (slot k gets global slot
        first_slot + k's)."""
        self.rng_states[:] = stream_states(check_seed(seed), self.num_envs, self.first_slot)

    # -- validation -------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"this {self.name} env is closed")

    def _check_ready(self, what: str = "step()") -> None:
        self._check_open()
        if self._needs_reset:
            raise RuntimeError(f"call reset() before {what}")

    def check_slots(self, slots) -> np.ndarray:
        """Slots as distinct int64 indices in [0, num_envs); None means every slot."""
        if slots is None:
            return np.arange(self.num_envs, dtype=np.int64)
        return check_index_array("slots", slots, self.num_envs)

    def _as_actions(self, actions, n: int) -> np.ndarray:
        """`actions` as C-contiguous int64 of shape (n,): type and shape checked here, the range
        by `_check_action_range` (or by the kernel's first pass, which changes nothing)."""
        actions = as_int_array("actions", actions)
        if actions.shape != (n,):
            raise ValueError(f"actions must have shape ({n},), got {actions.shape}")
        if actions.dtype != np.int64 or not actions.flags.c_contiguous:
            if (
                actions.dtype.kind == "u"
                and actions.size
                and actions.max() > np.iinfo(np.int64).max
            ):
                raise bad_action_error(actions, int(self.single_action_space.n))
            out = self._actions[:n]
            np.copyto(out, actions, casting="unsafe")
            actions = out
        if not self.kernel_checks_actions:
            self._check_action_range(actions)
        return actions

    def _check_action_range(self, actions: np.ndarray) -> None:
        high = int(self.single_action_space.n)
        if actions.size and (actions.min() < 0 or actions.max() >= high):
            raise bad_action_error(actions, high)

    def _raise_bad_action(self, actions, bad: int) -> None:
        """A kernel found actions[bad] out of range (and changed nothing)."""
        raise bad_action_error(actions, int(self.single_action_space.n))

    def check_tasks(self, tasks, n: int):
        """Integer task ids, shape (n,), in [0, num_tasks) (envs with array tasks override)."""
        if not isinstance(tasks, np.ndarray):
            tasks = np.atleast_1d(as_int_array("tasks", tasks))
        return check_int_array("tasks", tasks, (n,), 0, self.num_tasks).astype(np.int64)

    def check_instructions(self, instructions) -> np.ndarray:
        """(N, episodes_per_trial, len(instruction_highs)) int, each component below its high."""
        if not self.instruction_highs:
            raise ValueError(f"{self.name} has no instructions to pin")
        dim = len(self.instruction_highs)
        shape = (self.num_envs, self.episodes_per_trial, dim)
        arr = as_int_array("instructions", instructions)
        if dim == 1 and arr.shape == shape[:2]:
            arr = arr[..., None]
        check_int_array("instructions", arr, shape, 0, max(self.instruction_highs))
        for c, high in enumerate(self.instruction_highs):
            if arr[..., c].max(initial=0) >= high:
                raise ValueError(f"instructions[..., {c}] must be < {high}")
        return arr.astype(np.int64)

    # -- the contract -----------------------------------------------------------------------
    def reset(self, seed: int | None = None, tasks=None, instructions=None):
        """Meta-reset every slot: a new trial on a task (given, pinned or drawn), then its first
        episode. `seed` re-derives the RNG streams; `tasks` fixes this trial's task per slot;
        `instructions` (envs that have them) fixes the instruction of each of its episodes."""
        self._check_open()
        if seed is not None:
            seed = check_seed(seed)
        if tasks is not None:
            tasks = self.check_tasks(tasks, self.num_envs)
        if instructions is not None:
            instructions = self.check_instructions(instructions)
        if seed is not None:
            self.seed(seed)
        self._reset(tasks, instructions)
        self._needs_reset = False
        return self.obs, self.info

    def step(self, actions):
        """Step every slot; same-step autoreset (final_obs holds the last observation of slots
        whose episode just ended, obs already the next episode's first)."""
        self._check_ready()
        self._step(self._as_actions(actions, self.num_envs))
        return self.obs, self.rew, self.terminated, self.truncated, self.info

    def step_slots(self, actions, slots):
        """Step only `slots` (actions[k] for slot slots[k]); every other slot, its RNG stream and
        its buffers stay exactly as they were (envpool-style partial stepping)."""
        self._check_ready("step_slots()")
        slots = check_index_array("slots", slots, self.num_envs)
        actions = self._as_actions(actions, len(slots))
        if len(slots) == self.num_envs and (slots == np.arange(self.num_envs)).all():
            self._step(actions)
        elif len(slots):
            if self.kernel_checks_actions:
                self._check_action_range(actions)
            self._step_slots(actions, slots)
        return self.obs, self.rew, self.terminated, self.truncated, self.info

    def _step_slots(self, actions: np.ndarray, slots: np.ndarray) -> None:
        """Generic partial step: step every slot, then put the others' state rows back.
        Envs with a kernel that steps a subset override this."""
        keep = np.ones(self.num_envs, dtype=bool)
        keep[slots] = False
        rows = [
            v
            for k in self._state_names()
            if isinstance(v := getattr(self, k), np.ndarray) and v.shape[:1] == (self.num_envs,)
        ]
        rows += [v for v in self._task_state().values() if v.shape[:1] == (self.num_envs,)]
        saved = [v[keep] for v in rows]
        full = np.zeros(self.num_envs, dtype=np.int64)
        full[slots] = actions
        self._step(full)
        for v, s in zip(rows, saved):
            v[keep] = s

    def pin_tasks(self, tasks, slots=None) -> None:
        """Slots `slots` get `tasks` at every later trial instead of drawn ones (the current trial
        is left alone; `reset()` starts them now)."""
        self._check_open()
        slots = self.check_slots(slots)
        self._pin(self.check_tasks(tasks, len(slots)), slots)

    def unpin_tasks(self, slots=None) -> None:
        self._check_open()
        self._unpin(self.check_slots(slots))

    def render(self) -> np.ndarray:
        raise NotImplementedError

    def close(self) -> None:
        """End the env: later calls raise. Releases what it holds (a GL context)."""
        self._closed = True

    @property
    def closed(self) -> bool:
        return self._closed

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, num_envs={self.num_envs})"

    # -- per env ------------------------------------------------------------------------------
    def _reset(self, tasks, instructions) -> None:
        raise NotImplementedError

    def _step(self, actions: np.ndarray) -> None:
        raise NotImplementedError

    def _pin(self, tasks, slots: np.ndarray) -> None:
        raise NotImplementedError

    def _unpin(self, slots: np.ndarray) -> None:
        raise NotImplementedError
