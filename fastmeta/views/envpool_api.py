"""envpool's calling convention over every fastmeta env, so envpool users switch by one import:

    import fastmeta.views.envpool_api as envpool
    env = envpool.make("DistractionBus-v0", env_type="gymnasium", num_envs=64, batch_size=16)
    env.async_reset()
    obs, rew, term, trunc, info = env.recv()
    env.send(actions, info["env_id"])

`env_id` is always a slot index (0 .. num_envs-1); the task a slot holds is `info["task_id"]`.
Synchronous use (`batch_size == num_envs`) is `reset()` / `step(actions)`. A slot is stepped when
its action is sent, so `recv()` returns the first `batch_size` slots in the order they became
ready. Autoreset is envpool's (NEXT_STEP): the step after a trial ends starts the next trial and
ignores that slot's action. Observations are the meta-RL Dict of fastmeta.views.gymnasium_views.
Every `env_id` is checked (integer dtype, 1-D, in range, distinct, and in hand: received and not
sent since) before any slot moves.
"""

from __future__ import annotations

import collections

import numpy as np

from fastmeta.envs.base import check_index_array, check_positive_int
from fastmeta.registry import ENVS, make_vector, resolve


def list_all_envs() -> list[str]:
    return sorted(s.gym_id.split("/", 1)[1] for s in ENVS.values() if s.gym_id)


def make(
    task_id: str,
    env_type: str = "gymnasium",
    num_envs: int = 1,
    batch_size: int | None = None,
    seed: int = 0,
    **kwargs,
):
    if env_type != "gymnasium":
        raise ValueError(
            f"env_type must be 'gymnasium' (the only API fastmeta serves), got {env_type!r}"
        )
    return EnvPoolStyleEnv(task_id, num_envs, batch_size, seed, **kwargs)


def _stack_info(info: dict) -> dict:
    return {k: v for k, v in info.items() if not k.startswith("_")}


class EnvPoolStyleEnv:
    def __init__(self, task_id, num_envs, batch_size, seed, **kwargs):
        spec = resolve(task_id)
        num_envs = check_positive_int("num_envs", num_envs)
        batch_size = (
            num_envs if batch_size is None else check_positive_int("batch_size", batch_size)
        )
        if batch_size > num_envs:
            raise ValueError(f"batch_size must be in [1, num_envs={num_envs}], got {batch_size}")
        if "autoreset_mode" in kwargs:
            raise ValueError(
                "the envpool convention autoresets on the next step; autoreset_mode cannot be set"
            )
        self._vec = make_vector(spec.name, num_envs=num_envs, seed=seed, **kwargs)
        self.spec = spec
        self.config = dict(
            task_id=task_id, num_envs=num_envs, batch_size=batch_size, seed=seed, **kwargs
        )
        self.num_envs, self.batch_size = num_envs, batch_size
        self.observation_space = self._vec.single_observation_space
        self.action_space = self._vec.single_action_space
        self._all = np.arange(num_envs, dtype=np.int64)
        self._ready: collections.deque = collections.deque()
        self._results: dict = {}
        self._in_hand = np.zeros(num_envs, dtype=bool)  # received, not sent since
        self._started = False

    # -- synchronous ----------------------------------------------------------------------
    def reset(self, env_id=None):
        """Reset every slot (fastmeta meta-resets all slots at once)."""
        if env_id is not None:
            ids = check_index_array("env_id", env_id, self.num_envs)
            if len(ids) != self.num_envs:
                raise ValueError("fastmeta resets every env at once; pass env_id=None or every id")
        obs, info = self._vec.reset()
        self._ready.clear()
        self._results.clear()
        self._in_hand[:] = True
        self._started = True
        return obs, dict(_stack_info(info), env_id=self._all.copy())

    def step(self, action, env_id=None):
        """Step `env_id` (default every slot) and return their results (envpool's `step`)."""
        ids = self._all if env_id is None else check_index_array("env_id", env_id, self.num_envs)
        if len(ids) != self.batch_size:
            self.send(action, ids)
            return self.recv()
        self._check_in_hand(ids)
        obs, rew, term, trunc, info = self._vec.step_slots(action, ids)
        return obs, rew, term, trunc, dict(_stack_info(info), env_id=ids.copy())

    # -- asynchronous ---------------------------------------------------------------------
    def async_reset(self) -> None:
        obs, info = self._vec.reset()
        self._ready.clear()
        self._results.clear()
        self._in_hand[:] = False
        self._started = True
        rew = np.zeros(self.num_envs)
        flags = np.zeros(self.num_envs, dtype=bool)
        self._stash(self._all, obs, rew, flags, flags, _stack_info(info))

    def send(self, action, env_id=None) -> None:
        ids = self._all if env_id is None else check_index_array("env_id", env_id, self.num_envs)
        self._check_in_hand(ids)
        obs, rew, term, trunc, info = self._vec.step_slots(action, ids)
        self._stash(ids, obs, rew, term, trunc, _stack_info(info))

    def recv(self):
        if len(self._ready) < self.batch_size:
            raise RuntimeError(
                f"only {len(self._ready)} envs are ready, batch_size is "
                f"{self.batch_size}; send() more actions first"
            )
        ids = np.array([self._ready.popleft() for _ in range(self.batch_size)], dtype=np.int64)
        res = [self._results.pop(int(i)) for i in ids]
        self._in_hand[ids] = True
        obs = {k: np.stack([r[0][k] for r in res]) for k in res[0][0]}
        info = {k: np.array([r[4][k] for r in res]) for k in res[0][4]}
        info["env_id"] = ids
        return (
            obs,
            np.array([r[1] for r in res]),
            np.array([r[2] for r in res]),
            np.array([r[3] for r in res]),
            info,
        )

    def close(self):
        self._vec.close()

    # -- internals ------------------------------------------------------------------------
    def _check_in_hand(self, ids) -> None:
        if not self._started:
            raise RuntimeError("call reset() or async_reset() first")
        away = ids[~self._in_hand[ids]]
        if away.size:
            raise ValueError(
                f"env_id {away[:5].tolist()} not in hand: their results have not "
                "been received since they were last sent (recv() first)"
            )

    def _stash(self, ids, obs, rew, term, trunc, info) -> None:
        for k, i in enumerate(ids.tolist()):
            self._results[i] = (
                {key: v[k] for key, v in obs.items()},
                float(rew[k]),
                bool(term[k]),
                bool(trunc[k]),
                {key: v[k] for key, v in info.items()},
            )
            self._ready.append(i)
        self._in_hand[ids] = False
