"""Tasks as arrays (First-Explore's bandits, treasure room, ray maze) on the native contract.

A *task* (arm means, treasure layout, maze and goals) is a small dataclass of arrays with a
leading slot axis: the caller can read it, slice it, pin it per slot and save/load it (fixed
evaluation sets). A task lasts a trial of `episodes_per_trial` episodes, as in every fastmeta env;
every episode restarts from the task's initial state, and the step after a trial's last episode
draws a new task in that slot (or re-installs the slot's pinned task).

Each env states its task fields (`task_fields`), and its kernels both sample a task into row `i`
and copy one in; this module only validates and arranges the arrays.
"""

from __future__ import annotations

import dataclasses

import numba
import numpy as np

from fastmeta.envs.base import BatchedEnv, check_positive_int, check_seed


def parallel_threads(num_threads: int) -> None:
    """Let numba's next parallel kernel use `num_threads` threads (capped by NUMBA_NUM_THREADS,
    the size of its pool)."""
    numba.set_num_threads(min(num_threads, numba.config.NUMBA_NUM_THREADS))


@dataclasses.dataclass
class TaskBatch:
    """Base of the task dataclasses: every field is an array whose first axis is the slot."""

    def __len__(self) -> int:
        return len(getattr(self, dataclasses.fields(self)[0].name))

    def __getitem__(self, index) -> "TaskBatch":
        """Tasks of the slots in `index` (an int keeps the slot axis, with length 1)."""
        if isinstance(index, (int, np.integer)):
            index = slice(int(index), int(index) + 1 or None)
        return type(self)(**{k: np.array(v[index]) for k, v in self.arrays().items()})

    def arrays(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def copy(self) -> "TaskBatch":
        return type(self)(**{k: v.copy() for k, v in self.arrays().items()})

    def save(self, path) -> None:
        """Write the tasks to an `.npz` file; `load` reads them back exactly."""
        np.savez(path, task_class=np.array(type(self).__name__), **self.arrays())

    @classmethod
    def load(cls, path) -> "TaskBatch":
        with np.load(path, allow_pickle=False) as data:
            saved = str(data["task_class"]) if "task_class" in data else None
            if saved != cls.__name__:
                raise ValueError(f"{path} holds {saved or 'no task class'}, not {cls.__name__}")
            names = [f.name for f in dataclasses.fields(cls)]
            missing = [n for n in names if n not in data]
            if missing:
                raise ValueError(f"{path} lacks task field(s) {', '.join(missing)}")
            return cls(**{n: data[n] for n in names})


class TaskBatchEnv(BatchedEnv):
    """A BatchedEnv whose tasks are TaskBatch arrays rather than integer ids.

    Subclasses set `Task`, implement `task_fields()` and the kernel calls `_install_tasks`
    (meta-reset every slot from sampled or given tasks), `_sample_tasks` and `_step`.
    """

    Task: type = TaskBatch
    #: steps per episode (None for envs whose episodes end by themselves)
    episode_length: int = 1

    def __init__(
        self, num_envs, seed, obs_shape, obs_dtype, rew_dtype, episodes_per_trial, first_slot=0
    ):
        super().__init__(
            num_envs, seed, obs_shape, obs_dtype, rew_dtype, episodes_per_trial, first_slot
        )
        n = self.num_envs
        self._task = self._empty_tasks(n)
        self._pinned = np.zeros(n, dtype=bool)
        self._pinned_task = self._empty_tasks(n)

    @property
    def max_episode_steps(self) -> int:
        return self.episode_length

    # -- tasks ----------------------------------------------------------------------------------
    def task_fields(self) -> dict:
        """{field: (per-slot shape, dtype)} of this env's Task."""
        raise NotImplementedError

    def _empty_tasks(self, n: int) -> TaskBatch:
        return self.Task(
            **{k: np.zeros((n, *shape), dtype=dt) for k, (shape, dt) in self.task_fields().items()}
        )

    def _task_state(self) -> dict:
        out = {f"current.{k}": v for k, v in self._task.arrays().items()}
        out.update({f"pinned.{k}": v for k, v in self._pinned_task.arrays().items()})
        out["pinned"] = self._pinned
        return out

    def _check_task_values(self, tasks: TaskBatch) -> None:
        """Raise ValueError if task values are outside what the env can simulate."""

    def check_tasks(self, tasks, n: int) -> TaskBatch:
        """`tasks` as a validated Task of `n` slots (one unbatched task is broadcast)."""
        if not isinstance(tasks, self.Task):
            raise TypeError(f"tasks must be a {self.Task.__name__}, got {type(tasks).__name__}")
        out = {}
        for k, (shape, dt) in self.task_fields().items():
            a = np.asarray(getattr(tasks, k))
            if a.shape == shape:
                a = np.broadcast_to(a, (n, *shape))
            if a.shape != (n, *shape):
                raise ValueError(
                    f"tasks.{k} must have shape {(n, *shape)} or {shape}, got {a.shape}"
                )
            kind = np.dtype(dt).kind
            if kind in "iub" and a.dtype.kind not in "iub":
                raise TypeError(f"tasks.{k} must have an integer/bool dtype, got {a.dtype}")
            if kind == "f":
                if a.dtype.kind not in "iuf":
                    raise TypeError(f"tasks.{k} must be numeric, got {a.dtype}")
                if not np.all(np.isfinite(a)):
                    raise ValueError(f"tasks.{k} must be finite")
            out[k] = np.ascontiguousarray(a, dtype=dt)
        checked = self.Task(**out)
        self._check_task_values(checked)
        return checked

    @property
    def tasks(self) -> TaskBatch:
        """The current task of every slot (a copy)."""
        return self._task.copy()

    def sample_tasks(self, n: int, seed: int = 0) -> TaskBatch:
        """`n` tasks drawn as a fresh env with this `seed` draws them at reset (fixed eval sets).

        They are always the tasks of slots 0 .. n-1, whatever this env's `first_slot`: a fixed
        evaluation set is a function of (n, seed) alone, the same on every rank."""
        from fastmeta.kernels.rng import stream_states

        n = check_positive_int("n", n)
        tasks = self._empty_tasks(n)
        self._sample_tasks(tasks, stream_states(check_seed(seed), n))
        return tasks

    def _pin(self, tasks, slots) -> None:
        for k, v in tasks.arrays().items():
            getattr(self._pinned_task, k)[slots] = v
        self._pinned[slots] = True

    def _unpin(self, slots) -> None:
        self._pinned[slots] = False

    @property
    def pinned(self) -> np.ndarray:
        return self._pinned.copy()

    # -- contract -------------------------------------------------------------------------------
    def _reset(self, tasks, instructions) -> None:
        if tasks is None:
            self._install_tasks(self._pinned, self._pinned_task)
        else:
            self._install_tasks(np.ones(self.num_envs, dtype=bool), tasks)
        self.episode_index[:] = 0
        self.trial_done[:] = False
        self.rew[:] = 0
        self.terminated[:] = False
        self.truncated[:] = False
        self._begin_trial()

    def restart_episode(self):
        """Abandon the current episode in every slot and restart it from the task's initial state
        (same task, same episode index, no random draws)."""
        self._check_ready("restart_episode()")
        self._install_tasks(np.ones(self.num_envs, dtype=bool), self._task.copy())
        self._begin_trial()
        return self.obs, self.info

    # -- kernels, per env -----------------------------------------------------------------------
    def _install_tasks(self, use_given: np.ndarray, given: TaskBatch) -> None:
        raise NotImplementedError

    def _sample_tasks(self, tasks: TaskBatch, rng_states: np.ndarray) -> None:
        raise NotImplementedError

    def _begin_trial(self) -> None:
        """After a reset installed the tasks: put every slot at its task's initial state."""

    def _step(self, actions: np.ndarray) -> None:
        raise NotImplementedError
