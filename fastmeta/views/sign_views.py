"""Gymnasium views of the native sign env (`fastmeta/Sign-v0`).

`SignVectorEnv`: a step is one physics kernel call and one batched render pass; `info["final_obs"]`
holds the last frame of slots that just ended. `SignEnv` is one world as a `gymnasium.Env`; each
`reset()` starts the next episode of the current trial, or restarts an unfinished one (see
views/native.py for the contract).
"""
from __future__ import annotations

from fastmeta.views.native import NativeEnv, NativeVectorEnv


class SignVectorEnv(NativeVectorEnv):
    """Gymnasium VectorEnv over a native `Sign` env (`env.num_envs` worlds)."""


class SignEnv(NativeEnv):
    """One sign world as a Gymnasium Env; `reset()` continues the trial (restarting an unfinished
    episode with a fresh spawn), a seed or `options={"new_task": True}` (or `{"task": t}`)
    starts a new one."""

    def _tasks(self, task):
        return [task]
