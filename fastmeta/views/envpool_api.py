"""envpool's calling convention over fastmeta envs, so envpool users switch by one import:

    import fastmeta.views.envpool_api as envpool
    env = envpool.make("DistractionBus-v0", env_type="gymnasium", num_envs=64, batch_size=16)
    env.async_reset()
    obs, rew, term, trunc, info = env.recv()
    env.send(actions, info["env_id"])

Synchronous use (`batch_size == num_envs`) is `reset()` / `step(actions)`. Envs are stepped when
their actions are sent, so `recv()` returns the first `batch_size` envs in the order they became
ready. Autoreset is envpool's: the step after a trial ends starts the next trial and ignores that
env's action. Observations are the trial Dict of fastmeta.views.grid_trial (or the env's own
vector view).
"""
from __future__ import annotations

import collections

import numpy as np

import fastmeta
from fastmeta.registry import resolve


def list_all_envs() -> list[str]:
    from fastmeta.registry import ENVS
    return sorted(s.gym_id.split("/", 1)[1] for s in ENVS.values() if s.gym_id)


def make(task_id: str, env_type: str = "gymnasium", num_envs: int = 1, batch_size: int | None = None,
         seed: int = 0, **kwargs):
    if env_type != "gymnasium":
        raise ValueError(f"env_type must be 'gymnasium' (the only API fastmeta serves), got {env_type!r}")
    return EnvPoolStyleEnv(task_id, num_envs, batch_size, seed, **kwargs)


class EnvPoolStyleEnv:
    def __init__(self, task_id, num_envs, batch_size, seed, **kwargs):
        spec = resolve(task_id)
        batch_size = num_envs if batch_size is None else batch_size
        if not 1 <= batch_size <= num_envs:
            raise ValueError(f"batch_size must be in [1, num_envs={num_envs}], got {batch_size}")
        native_cls = spec.load()
        view_cls = native_cls.vector_view()
        native = fastmeta.make(spec.name, num_envs=num_envs, seed=seed, **kwargs)
        self._vec = view_cls(native)
        self.spec = spec
        self.config = dict(task_id=task_id, num_envs=num_envs, batch_size=batch_size, seed=seed, **kwargs)
        self.num_envs, self.batch_size = num_envs, batch_size
        self.observation_space = self._vec.single_observation_space
        self.action_space = self._vec.single_action_space
        self._ready: collections.deque = collections.deque()
        self._results: dict = {}

    # -- synchronous ----------------------------------------------------------------------
    def reset(self, env_id=None):
        if env_id is not None and len(np.asarray(env_id)) != self.num_envs:
            raise ValueError("fastmeta resets every env at once; pass env_id=None")
        obs, info = self._vec.reset()
        info = dict(info, env_id=np.arange(self.num_envs), task=info["env_id"])
        return obs, info

    def step(self, action, env_id=None):
        if env_id is None or np.array_equal(np.asarray(env_id), np.arange(self.num_envs)):
            obs, rew, term, trunc, info = self._vec.step(action)
            return obs, rew, term, trunc, dict(info, env_id=np.arange(self.num_envs), task=info["env_id"])
        self.send(action, env_id)
        return self.recv()

    # -- asynchronous ---------------------------------------------------------------------
    def async_reset(self) -> None:
        obs, _ = self._vec.reset()
        self._ready.clear()
        self._results.clear()
        for i in range(self.num_envs):
            self._results[i] = ({k: v[i].copy() for k, v in obs.items()}, 0.0, False, False,
                                int(self._vec.env.tasks[i]))
            self._ready.append(i)

    def send(self, action, env_id=None) -> None:
        ids = np.arange(self.num_envs) if env_id is None else np.asarray(env_id, dtype=np.int64)
        if ids.ndim != 1 or len(np.unique(ids)) != len(ids):
            raise ValueError("env_id must be a 1-D array of distinct env indices")
        waiting = [int(i) for i in ids if int(i) in self._results]
        if waiting:
            raise ValueError(f"env(s) {waiting[:5]} have results not yet received; recv() first")
        obs, rew, term, trunc, info = self._vec._advance(np.asarray(action), ids)
        for k, i in enumerate(ids.tolist()):
            self._results[i] = ({key: v[k] for key, v in obs.items()}, float(rew[k]), bool(term[k]),
                                bool(trunc[k]), int(info["env_id"][k]))
            self._ready.append(i)

    def recv(self):
        if len(self._ready) < self.batch_size:
            raise RuntimeError(f"only {len(self._ready)} envs are ready, batch_size is {self.batch_size}; "
                               "send() more actions first")
        ids = [self._ready.popleft() for _ in range(self.batch_size)]
        res = [self._results.pop(i) for i in ids]
        obs = {k: np.stack([r[0][k] for r in res]) for k in res[0][0]}
        return (obs, np.array([r[1] for r in res]), np.array([r[2] for r in res]),
                np.array([r[3] for r in res]),
                {"env_id": np.array(ids, dtype=np.int64), "task": np.array([r[4] for r in res])})

    def close(self):
        self._vec.close()
