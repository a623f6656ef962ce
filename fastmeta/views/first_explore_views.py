"""Gymnasium views of the First-Explore envs (bandits, dark treasure room, ray maze).

`FirstExploreVectorEnv`: a step is one kernel call for every slot; `reset()` is a meta-reset (new
task in every slot). `FirstExploreEnv` is shaped like the baselines' gym ports: `reset()` starts
the next episode of the current lifetime (the task persists, the agent restarts from the task's
initial state, also when called in the middle of an episode), `reset(options={"new_task": True})`
or `reset_task()` draws a new task. The shared contract is in views/native.py.
"""
from __future__ import annotations

from fastmeta.views.native import NativeEnv, NativeVectorEnv


class FirstExploreVectorEnv(NativeVectorEnv):
    """Gymnasium VectorEnv over a native First-Explore env (`env.num_envs` slots)."""


class FirstExploreEnv(NativeEnv):
    """One slot of a native First-Explore env as a Gymnasium Env (episodes within a lifetime)."""

    def reset_task(self, task=None):
        """Draw a new task (or install `task`) and start its first episode."""
        return self.reset(options={"new_task": True, "task": task})
