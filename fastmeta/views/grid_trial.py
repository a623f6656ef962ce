"""Gymnasium views of the grid envs: the E-RL²-style trial (dream.md §2.7) as a VectorEnv.

One Gymnasium episode is one *trial*: `episodes_per_trial` episodes in the same task. Each step's
observation is a Dict of
  observation  the grid observation (int64),
  instruction  the current episode's goal / recipe (int64),
  prev_action  0 at an episode's first step, else the previous action + 1 (the original's
               `prev_action + 1` embedding input, None -> 0),
  prev_reward  the previous step's real reward (float64, never zeroed),
  done         1 on the first step of a later episode of the trial (the boundary the original's
               MultiEpisodeWrapper marks), else 0.
Rewards of the first episode are reported as 0 when `first_episode_no_optimization` (default,
as the original's baselines train). The trial ends terminated if its last episode terminated,
truncated if that episode ran out of steps.
"""
from __future__ import annotations

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space


def trial_observation_space(env) -> spaces.Dict:
    return spaces.Dict({
        "observation": env.single_observation_space,
        "instruction": spaces.Box(0, np.array(env.instruction_highs, dtype=np.int64) - 1, dtype=np.int64),
        "prev_action": spaces.Discrete(env.single_action_space.n + 1),
        "prev_reward": spaces.Box(-np.inf, np.inf, shape=(), dtype=np.float64),
        "done": spaces.Discrete(2),
    })


def parse_autoreset_mode(mode) -> AutoresetMode:
    """Accept AutoresetMode members and their names in any spelling ("next_step", "NextStep")."""
    if isinstance(mode, AutoresetMode):
        parsed = mode
    else:
        key = str(mode).replace("_", "").replace("-", "").lower()
        parsed = {m.value.lower(): m for m in AutoresetMode}.get(key)
    if parsed not in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP):
        raise ValueError(f"autoreset_mode must be 'next_step' or 'same_step', got {mode!r}")
    return parsed


class GridTrialVectorEnv(VectorEnv):
    """A batched gymnasium VectorEnv over one native grid env (no per-env Python objects)."""

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": ["rgb_array"]}

    def __init__(self, env, first_episode_no_optimization: bool = True,
                 autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
                 render_mode: str | None = "rgb_array", max_episode_steps=None):
        self.env = env
        self.num_envs = env.num_envs
        mode = parse_autoreset_mode(autoreset_mode)
        self.autoreset_mode = mode
        self.metadata = {**self.metadata, "autoreset_mode": mode}
        self.render_mode = render_mode
        self.first_episode_no_optimization = bool(first_episode_no_optimization)
        self.single_observation_space = trial_observation_space(env)
        self.single_action_space = env.single_action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        n = self.num_envs
        self._obs = {
            "observation": np.zeros_like(env.obs),
            "instruction": np.zeros((n, 2), dtype=np.int64),
            "prev_action": np.zeros(n, dtype=np.int64),
            "prev_reward": np.zeros(n, dtype=np.float64),
            "done": np.zeros(n, dtype=np.int64),
        }
        self._rew = np.zeros(n, dtype=np.float64)
        self._term = np.zeros(n, dtype=bool)
        self._trunc = np.zeros(n, dtype=bool)
        self._pending_reset = np.zeros(n, dtype=bool)
        self._prev_instr = np.zeros((n, 2), dtype=np.int64)
        self._prev_episode = np.zeros(n, dtype=np.int64)

    # -- helpers ------------------------------------------------------------------------------
    def _publish_start(self, mask=None):
        """Observation of slots that are at the first step of a trial."""
        o, env = self._obs, self.env
        sel = slice(None) if mask is None else mask
        o["observation"][sel] = env.obs[sel]
        o["instruction"][sel] = env.instructions[sel]
        o["prev_action"][sel] = 0
        o["prev_reward"][sel] = 0.0
        o["done"][sel] = 0

    # -- VectorEnv ----------------------------------------------------------------------------
    def reset(self, *, seed=None, options=None):
        options = options or {}
        unknown = set(options) - {"tasks", "instructions"}
        if unknown:
            raise ValueError(f"unknown reset option(s) {sorted(unknown)}; accepted: tasks, instructions")
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise TypeError("seed must be an int (one seed derives every slot's stream)")
        self.env.reset(seed=seed, **options)
        self._publish_start()
        self._pending_reset[:] = False
        return self._obs, {"env_id": self.env.tasks, "episode": self.env.info["episode"].copy()}

    def step(self, actions):
        return self._advance(actions, slice(None))

    def _advance(self, actions, sel):
        """Step the slots `sel` (all: slice(None); else an index array) with `actions`."""
        env, o = self.env, self._obs
        actions = np.asarray(actions)
        if actions.dtype.kind not in "iu":
            raise TypeError(f"actions must have an integer dtype, got {actions.dtype}")
        ids = np.arange(self.num_envs)[sel]
        if actions.shape != ids.shape:
            raise ValueError(f"actions must have shape {ids.shape}, got {actions.shape}")
        env.check_actions_for(actions)
        self._prev_instr[sel] = env.instructions[sel]
        self._prev_episode[sel] = env.info["episode"][sel]
        pending = self._pending_reset[sel]
        if pending.any() or not isinstance(sel, slice):
            # NEXT_STEP: pending slots already started their next trial natively; they do not move
            move = ~pending
            if move.any():
                env.step_ids(actions[move], ids[move])
            env.rew[ids[pending]] = 0.0
            env.terminated[ids[pending]] = False
            env.truncated[ids[pending]] = False
            env.info["trial_done"][ids[pending]] = False
        else:
            env.step(actions)
        ended = (env.terminated | env.truncated)[sel]
        trial_done = env.info["trial_done"][sel]
        self._rew[sel] = env.rew[sel]
        if self.first_episode_no_optimization:
            self._rew[ids[self._prev_episode[sel] == 0]] = 0.0
        self._term[sel] = env.terminated[sel] & trial_done
        self._trunc[sel] = env.truncated[sel] & trial_done
        o["observation"][sel] = env.obs[sel]
        o["instruction"][sel] = env.instructions[sel]
        o["prev_action"][sel] = np.where(ended | pending, 0, actions + 1)
        o["prev_reward"][sel] = env.rew[sel]
        o["done"][sel] = ended
        infos = {"env_id": env._tasks[sel].copy(), "episode": env.info["episode"][sel].copy()}
        done_ids = ids[trial_done]
        if done_ids.size:
            if self.autoreset_mode == AutoresetMode.NEXT_STEP:
                # report the trial's last observation now; the next call starts the new trial
                o["observation"][done_ids] = env.final_obs[done_ids]
                o["instruction"][done_ids] = self._prev_instr[done_ids]
                o["done"][done_ids] = 1
                infos["env_id"][trial_done] = -1  # the new task shows from the next step
            else:
                final = np.full(len(ids), None, dtype=object)
                for k in np.flatnonzero(trial_done):
                    i = ids[k]
                    final[k] = {"observation": env.final_obs[i].copy(),
                                "instruction": self._prev_instr[i].copy(),
                                "prev_action": np.int64(actions[k] + 1),
                                "prev_reward": np.float64(env.rew[i]), "done": np.int64(1)}
                infos["final_obs"], infos["_final_obs"] = final, trial_done.copy()
                self._publish_start(done_ids)
        self._pending_reset[sel] = trial_done if self.autoreset_mode == AutoresetMode.NEXT_STEP \
            else False
        if isinstance(sel, slice):
            return self._obs, self._rew, self._term, self._trunc, infos
        return ({k: v[ids] for k, v in o.items()}, self._rew[ids], self._term[ids],
                self._trunc[ids], infos)

    def render(self):
        return self.env.render()

    def close_extras(self, **kwargs):
        self.env.close()


class GridTrialEnv(gymnasium.Env):
    """The single-env Gymnasium view (`gymnasium.make("fastmeta/<Id>-v0")`): one trial per episode."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, env, first_episode_no_optimization: bool = True, render_mode="rgb_array"):
        self._vec = GridTrialVectorEnv(env, first_episode_no_optimization,
                                       autoreset_mode=AutoresetMode.SAME_STEP)
        self.observation_space = self._vec.single_observation_space
        self.action_space = self._vec.single_action_space
        self.render_mode = render_mode
        self._action = np.zeros(1, dtype=np.int64)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        obs, info = self._vec.reset(seed=seed, options=options)
        return self._unbatch(obs), {"env_id": int(info["env_id"][0])}

    def step(self, action):
        if not self.action_space.contains(action):
            raise ValueError(f"action {action!r} is not in {self.action_space}")
        self._action[0] = action
        obs, rew, term, trunc, info = self._vec.step(self._action)
        if term[0] or trunc[0]:
            obs = {k: np.asarray(v) for k, v in info["final_obs"][0].items()}
            return obs, float(rew[0]), bool(term[0]), bool(trunc[0]), {}
        return self._unbatch(obs), float(rew[0]), False, False, {"episode": int(info["episode"][0])}

    @staticmethod
    def _unbatch(obs):
        return {k: v[0].copy() for k, v in obs.items()}

    def render(self):
        return self._vec.render()[0]
