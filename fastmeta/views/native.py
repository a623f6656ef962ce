"""Gymnasium views over any native batched env with same-step autoreset (the First-Explore envs
and the sign world; the DREAM grids have their own trial view in grid_trial.py).

`NativeVectorEnv` is a real `gymnasium.vector.VectorEnv`: a step is one native `step()` for all
slots, never a loop of single envs. `info["final_obs"]` holds the last observation of slots that
just ended, masked by `info["_final_obs"]`. `NativeEnv` is one slot as a `gymnasium.Env` whose
`reset()` starts the next episode of the current task. Both return copies, so results stay valid
after later steps.
"""
from __future__ import annotations

import gymnasium
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space


def check_render_mode(render_mode):
    if render_mode not in (None, "rgb_array"):
        raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
    return render_mode


class NativeVectorEnv(VectorEnv):
    """Gymnasium VectorEnv over a native env (`env.num_envs` slots); `reset()` is a meta-reset,
    `options={"tasks": ...}` pins tasks as the native `reset(tasks=...)` does."""

    def __init__(self, env, render_mode: str | None = None):
        self.env = env
        self.num_envs = env.num_envs
        self.render_mode = check_render_mode(render_mode)
        self.metadata = {"render_modes": ["rgb_array"], "autoreset_mode": AutoresetMode.SAME_STEP}
        self.single_observation_space = env.single_observation_space
        self.single_action_space = env.single_action_space
        self.observation_space = batch_space(env.single_observation_space, env.num_envs)
        self.action_space = batch_space(env.single_action_space, env.num_envs)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = self.env.reset(seed=seed, tasks=(options or {}).get("tasks"))
        if seed is not None:
            self.action_space.seed(seed)
            self.observation_space.seed(seed)
        return obs.copy(), {k: v.copy() for k, v in info.items()}

    def step(self, actions):
        obs, rew, term, trunc, info = self.env.step(np.asarray(actions))
        out = {k: v.copy() for k, v in info.items()}
        out["final_obs"] = self.env.final_obs.copy()
        out["_final_obs"] = term | trunc
        return obs.copy(), rew.copy(), term.copy(), trunc.copy(), out

    def render(self):
        return self.env.render() if self.render_mode == "rgb_array" else None

    def close_extras(self, **kwargs):
        self.env.close()


class NativeEnv(gymnasium.Env):
    """One slot of a native env (built with num_envs=1) as a Gymnasium Env. `reset()` continues
    the current task, restarting an unfinished episode through the native `restart_episode()`;
    a seed, `options={"new_task": True}` or `options={"task": t}` starts a new task. Subclasses
    say how a task is passed to the native reset."""

    def __init__(self, env, render_mode: str | None = None):
        if env.num_envs != 1:
            raise ValueError(f"the single-env view needs a native env with num_envs=1, got {env.num_envs}")
        self.env = env
        self.render_mode = check_render_mode(render_mode)
        self.metadata = {"render_modes": ["rgb_array"], "render_fps": 10}
        self.observation_space = env.single_observation_space
        self.action_space = env.single_action_space
        self._started = False
        self._mid_episode = False

    def _tasks(self, task):
        """The native reset's `tasks` argument for one task (None: draw one)."""
        return task

    def _info(self) -> dict:
        return {k: v[0].item() for k, v in self.env.info.items()}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = options or {}
        task = options.get("task")
        if not self._started or seed is not None or task is not None or options.get("new_task"):
            self.env.reset(seed=seed, tasks=None if task is None else self._tasks(task))
            self._started = True
        elif self._mid_episode:
            self.env.restart_episode()
        # else the native env has already begun the next episode (same-step autoreset)
        self._mid_episode = False
        return self.env.obs[0].copy(), self._info()

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
