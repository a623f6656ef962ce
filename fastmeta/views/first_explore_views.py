"""Gymnasium views of the First-Explore envs (bandits, dark treasure room, ray maze).

`FirstExploreVectorEnv` is a real `gymnasium.vector.VectorEnv` over one native batched env: a
step is one kernel call, never a loop of single envs. Autoreset is same-step (the native
contract): `info["final_obs"]` holds the last observation of slots that just ended, masked by
`info["_final_obs"]`. `reset()` is a meta-reset (new task in every slot).

`FirstExploreEnv` is a single `gymnasium.Env`, shaped like the baselines' gym ports: `reset()`
starts the next episode of the current lifetime (the task persists, the agent restarts from the
task's initial state), `reset(options={"new_task": True})` or `reset_task()` draws a new task.
Both views return copies, so results stay valid after later steps.
"""
from __future__ import annotations

import gymnasium
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space


class FirstExploreVectorEnv(VectorEnv):
    """Gymnasium VectorEnv over a native First-Explore env (`env.num_envs` slots)."""

    def __init__(self, env, render_mode: str | None = None):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.env = env
        self.num_envs = env.num_envs
        self.render_mode = render_mode
        self.metadata = {"render_modes": ["rgb_array"], "autoreset_mode": AutoresetMode.SAME_STEP}
        self.single_observation_space = env.single_observation_space
        self.single_action_space = env.single_action_space
        self.observation_space = batch_space(env.single_observation_space, env.num_envs)
        self.action_space = batch_space(env.single_action_space, env.num_envs)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        tasks = (options or {}).get("tasks")
        obs, info = self.env.reset(seed=seed, tasks=tasks)
        if seed is not None:
            self.action_space.seed(seed)
            self.observation_space.seed(seed)
        return obs.copy(), {k: v.copy() for k, v in info.items()}

    def step(self, actions):
        obs, rew, term, trunc, info = self.env.step(np.asarray(actions))
        out = {k: v.copy() for k, v in info.items()}
        done = term | trunc
        out["final_obs"] = self.env.final_obs.copy()
        out["_final_obs"] = done
        return obs.copy(), rew.copy(), term.copy(), trunc.copy(), out

    def render(self):
        return self.env.render() if self.render_mode == "rgb_array" else None

    def close_extras(self, **kwargs):
        self.env.close()


class FirstExploreEnv(gymnasium.Env):
    """One slot of a native First-Explore env as a Gymnasium Env (episodes within a lifetime)."""

    def __init__(self, env, render_mode: str | None = None):
        if env.num_envs != 1:
            raise ValueError(f"the single-env view needs a native env with num_envs=1, got {env.num_envs}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.env = env
        self.render_mode = render_mode
        self.metadata = {"render_modes": ["rgb_array"], "render_fps": 10}
        self.observation_space = env.single_observation_space
        self.action_space = env.single_action_space
        self._started = False
        self._mid_episode = False

    def _info(self) -> dict:
        return {k: v[0].item() for k, v in self.env.info.items()}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Next episode of the current task; a new task on the first call, with a seed, or with
        `options={"new_task": True}` (`options={"task": t}` installs task `t`)."""
        super().reset(seed=seed)
        options = options or {}
        task = options.get("task")
        if not self._started or seed is not None or task is not None or options.get("new_task"):
            self.env.reset(seed=seed, tasks=task)
            self._started = True
        elif self._mid_episode:
            self.env.restart_episode()
        # else the native env has already begun the next episode (same-step autoreset)
        self._mid_episode = False
        return self.env.obs[0].copy(), self._info()

    def reset_task(self, task=None):
        """Draw a new task (or install `task`) and start its first episode."""
        return self.reset(options={"new_task": True, "task": task})

    def step(self, action):
        if not self._started:
            raise RuntimeError("call reset() before step()")
        if isinstance(action, bool) or np.ndim(action) != 0:
            raise ValueError(f"action must be a scalar integer, got {action!r}")
        obs, rew, term, trunc, _ = self.env.step(np.asarray(action).reshape(1))
        self._mid_episode = not (term[0] or trunc[0])
        if not self._mid_episode:
            obs = self.env.final_obs
        return obs[0].copy(), float(rew[0]), bool(term[0]), bool(trunc[0]), self._info()

    def render(self):
        return self.env.render()[0] if self.render_mode == "rgb_array" else None

    def close(self):
        self.env.close()
