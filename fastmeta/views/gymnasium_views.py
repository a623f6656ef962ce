"""Gymnasium views of every native env: one meta-RL observation, both autoreset modes.

One Gymnasium episode is one *trial*: `episodes_per_trial` episodes on one task (the E-RL²
setting, dream.md §2.7). Every env, old and future, is seen through the same Dict observation:

  observation    the env's own observation (left out where it is empty, as for the bandits)
  instruction    the current episode's instruction (DREAM grids and the sign world only)
  prev_action    the previous action + 1, and 0 where there is none: at a trial's first step
                 (`prev_action_reset="trial"`, the default) or at every episode's first step
                 (`"episode"`, the DREAM envs' default, as the original's E-RL² wrapper)
  prev_reward    float32 (1,): the previous step's reward (0 at a trial's first step)
  episode_start  1 at the first step of every episode of the trial, else 0
  trial_start    1 at the first step of a trial, else 0

The observation returned when a trial ends is its last one: the env's final observation, the
last episode's instruction, the last action and reward, both start flags 0.

`MetaVectorEnv` is a real batched `VectorEnv` (a step is one native kernel call for all slots).
`autoreset_mode` is NEXT_STEP by default, as Gymnasium's: the call after a trial ends returns the
next trial's first observation with reward 0 and ignores that slot's action; SAME_STEP returns it
at once and puts the last observation in `info["final_obs"]` (masked by `info["_final_obs"]`).
Info keys follow Gymnasium's vector convention (a `_key` mask beside each key) and never collide
with Gymnasium's or SB3's own (`episode`, `final_obs`, `terminal_observation`): `task_id` (envs
with integer tasks) and `episode_index` (the episode within the trial).

Results are copies by default, so a stored observation never changes. `copy=False` returns the
view's own buffers instead, overwritten by the next call (zero-copy, for speed users who consume
each batch before the next step).

`MetaEnv` is one slot as a `gymnasium.Env` (`gymnasium.make`); its `reset()` starts a new trial.
"""

from __future__ import annotations

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from fastmeta.envs.base import (
    as_int_array,
    check_actions,
    check_choice,
    check_index_array,
    check_seed,
)
from fastmeta.kernels.meta_view import flat, publish_step

RESET_OPTIONS = ("tasks", "instructions")


def meta_observation_space(env) -> spaces.Dict:
    """The per-slot Dict observation space of `env` (see the module docstring)."""
    space = {}
    if int(np.prod(env.single_observation_space.shape)) > 0:
        space["observation"] = env.single_observation_space
    if env.instruction_highs:
        space["instruction"] = spaces.Box(
            0, np.array(env.instruction_highs, dtype=np.int64) - 1, dtype=np.int64
        )
    space["prev_action"] = spaces.Discrete(int(env.single_action_space.n) + 1)
    space["prev_reward"] = spaces.Box(-np.inf, np.inf, shape=(1,), dtype=np.float32)
    space["episode_start"] = spaces.Discrete(2)
    space["trial_start"] = spaces.Discrete(2)
    return spaces.Dict(space)


def parse_autoreset_mode(mode) -> AutoresetMode:
    """AutoresetMode members and their names in any spelling ("next_step", "NextStep")."""
    if isinstance(mode, AutoresetMode):
        parsed = mode
    else:
        key = str(mode).replace("_", "").replace("-", "").lower()
        parsed = {m.value.lower(): m for m in AutoresetMode}.get(key)
    if parsed not in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP):
        raise ValueError(f"autoreset_mode must be 'next_step' or 'same_step', got {mode!r}")
    return parsed


def check_render_mode(render_mode):
    if render_mode not in (None, "rgb_array"):
        raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
    return render_mode


def check_reset_options(env, options) -> dict:
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise TypeError(f"options must be a dict, got {type(options).__name__}")
    unknown = sorted(set(options) - set(RESET_OPTIONS))
    if unknown:
        raise ValueError(f"unknown reset option(s) {unknown}; accepted: {', '.join(RESET_OPTIONS)}")
    return {k: v for k, v in options.items() if v is not None}


class MetaVectorEnv(VectorEnv):
    """Gymnasium VectorEnv over a native env: one trial per Gymnasium episode, per slot."""

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": ["rgb_array"]}

    def __init__(
        self,
        env,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        first_episode_no_optimization: bool = False,
        copy: bool = True,
        render_mode: str | None = None,
        prev_action_reset: str = "trial",
    ):
        self.env = env
        self.prev_action_reset = check_choice(
            "prev_action_reset", prev_action_reset, ("trial", "episode")
        )
        self.num_envs = n = env.num_envs
        self.autoreset_mode = parse_autoreset_mode(autoreset_mode)
        self.metadata = {**self.metadata, "autoreset_mode": self.autoreset_mode}
        self.render_mode = check_render_mode(render_mode)
        self.first_episode_no_optimization = bool(first_episode_no_optimization)
        self.copy = bool(copy)
        self.single_observation_space = meta_observation_space(env)
        self.single_action_space = env.single_action_space
        self.observation_space = batch_space(self.single_observation_space, n)
        self.action_space = batch_space(self.single_action_space, n)
        self._has_obs = "observation" in self.single_observation_space.spaces
        self._has_instr = "instruction" in self.single_observation_space.spaces
        self._has_task_id = env.num_tasks is not None
        self._obs = {
            k: np.zeros((n, *s.shape), dtype=s.dtype)
            for k, s in self.single_observation_space.spaces.items()
        }
        self._rew = np.zeros(n, dtype=np.float64)
        self._term = np.zeros(n, dtype=bool)
        self._trunc = np.zeros(n, dtype=bool)
        self._pending = np.zeros(n, dtype=bool)  # NEXT_STEP: the trial ended on the last call
        self._prev_instr = np.zeros((n, len(env.instruction_highs)), dtype=np.int64)
        self._all = np.arange(n, dtype=np.int64)
        self._step_actions = np.zeros(n, dtype=np.int64)
        self._done = np.zeros(n, dtype=np.int64)
        self._last_done = self._done[:0]
        # (N, D) views of the env's and the view's buffers for the publishing kernel
        obs_rows = flat(env.obs) if self._has_obs else np.zeros((n, 0), dtype=env.obs.dtype)
        self._env_rows = (obs_rows, flat(env.final_obs) if self._has_obs else obs_rows)
        self._view_rows = (
            flat(self._obs["observation"]) if self._has_obs else obs_rows,
            self._obs["instruction"] if self._has_instr else np.zeros((n, 0), dtype=np.int64),
        )
        self._needs_reset = True

    # -- VectorEnv --------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """A new trial in every slot. `seed` (one int) re-derives every slot's stream;
        `options={"tasks": ..., "instructions": ...}` fixes this trial's tasks/instructions."""
        self._check_open()
        if seed is not None:
            seed = check_seed(seed)
        self.env.reset(seed=seed, **check_reset_options(self.env, options))
        if seed is not None:
            self.action_space.seed(seed)
            self.observation_space.seed(seed)
        self._publish_start(slice(None))
        self._pending[:] = False
        self._needs_reset = False
        return self._out(self._obs), self._info(slice(None))

    def step(self, actions):
        self._advance(actions, None)
        info = self._info(slice(None))
        if self.autoreset_mode == AutoresetMode.SAME_STEP:
            self._final(info)
        return (
            self._out(self._obs),
            self._out(self._rew),
            self._out(self._term),
            self._out(self._trunc),
            info,
        )

    def step_slots(self, actions, slots):
        """Step only `slots` (envpool-style); returns (obs, rew, terminated, truncated, info) of
        those slots, in their order, always as copies. NEXT_STEP autoreset only."""
        if self.autoreset_mode != AutoresetMode.NEXT_STEP:
            raise RuntimeError("step_slots needs autoreset_mode NEXT_STEP")
        self._check_open()
        slots = check_index_array("env_id", slots, self.num_envs)
        self._advance(actions, slots)
        return (
            {k: v[slots] for k, v in self._obs.items()},
            self._rew[slots],
            self._term[slots],
            self._trunc[slots],
            self._info(slots),
        )

    def render(self):
        self._check_open()
        return self.env.render() if self.render_mode == "rgb_array" else None

    def close_extras(self, **kwargs):
        self.env.close()

    # -- internals ----------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self.env.closed:
            raise RuntimeError("this env is closed")

    def _out(self, x):
        if not self.copy:
            return x
        return {k: v.copy() for k, v in x.items()} if isinstance(x, dict) else x.copy()

    def _info(self, sel) -> dict:
        info = {"episode_index": self.env.episode_index[sel].copy()}
        if self._has_task_id:
            info["task_id"] = self.env.task_ids[sel].copy()
        m = len(info["episode_index"])
        for k in list(info):
            info["_" + k] = np.ones(m, dtype=bool)
        return info

    def _publish_start(self, sel) -> None:
        """Slots `sel` show the first observation of a new trial."""
        o, env = self._obs, self.env
        if self._has_obs:
            o["observation"][sel] = env.obs[sel]
        if self._has_instr:
            o["instruction"][sel] = env.instructions[sel]
        o["prev_action"][sel] = 0
        o["prev_reward"][sel] = 0.0
        o["episode_start"][sel] = 1
        o["trial_start"][sel] = 1

    def _advance(self, actions, slots) -> None:
        """Step `slots` (None: every slot), validated before anything moves."""
        self._check_open()
        if self._needs_reset:
            raise RuntimeError("call reset() before step()")
        env = self.env
        ids = self._all if slots is None else slots
        actions = check_actions(actions, len(ids), int(self.single_action_space.n))
        pending = self._pending if slots is None else self._pending[slots]
        if self._has_instr:
            np.copyto(self._prev_instr, env.instructions)
        if slots is None and not pending.any():
            env.step(actions)
        else:  # slots whose trial ended last call start the next one now; they do not move
            move = ~pending
            env.step_slots(actions[move], ids[move])
        sel = slice(None) if slots is None else slots
        if self._has_obs:
            self._view_rows[0][sel] = self._env_rows[0][sel]
        if self._has_instr:
            self._obs["instruction"][sel] = env.instructions[sel]
        nd = publish_step(
            ids,
            np.asarray(actions, dtype=np.int64),
            pending,
            self.autoreset_mode == AutoresetMode.NEXT_STEP,
            self.prev_action_reset == "episode",
            self.first_episode_no_optimization,
            env.episodes_per_trial,
            self._env_rows[1],
            env.rew,
            env.terminated,
            env.truncated,
            env.trial_done,
            env.episode_index,
            self._prev_instr,
            *self._view_rows,
            self._obs["prev_action"],
            self._obs["prev_reward"],
            self._obs["episode_start"],
            self._obs["trial_start"],
            self._rew,
            self._term,
            self._trunc,
            self._pending,
            self._step_actions,
            self._done,
        )
        self._last_done = self._done[:nd]

    def _final(self, info: dict) -> None:
        """SAME_STEP: the last observation of each trial that ended, in info["final_obs"]."""
        mask = np.zeros(self.num_envs, dtype=bool)
        mask[self._last_done] = True
        final = np.full(self.num_envs, None, dtype=object)
        final_info = np.full(self.num_envs, None, dtype=object)
        for i in self._last_done:
            last = {k: v[i].copy() for k, v in self._obs.items()}
            if self._has_obs:
                last["observation"] = self.env.final_obs[i].copy()
            if self._has_instr:
                last["instruction"] = self._prev_instr[i].copy()
            last["prev_action"] = np.int64(self._step_actions[i] + 1)
            last["prev_reward"] = np.array([self.env.rew[i]], dtype=np.float32)
            last["episode_start"] = np.int64(0)
            last["trial_start"] = np.int64(0)
            final[i] = last
            final_info[i] = {k: v[i] for k, v in info.items() if not k.startswith("_")}
        info["final_obs"], info["_final_obs"] = final, mask
        info["final_info"], info["_final_info"] = final_info, mask.copy()


class MetaEnv(gymnasium.Env):
    """One slot of a native env (built with num_envs=1) as a Gymnasium Env; one Gymnasium
    episode is one trial, and `reset()` starts a new one."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(
        self,
        env,
        first_episode_no_optimization: bool = False,
        render_mode: str | None = None,
        prev_action_reset: str = "trial",
    ):
        if env.num_envs != 1:
            raise ValueError(
                f"the single-env view needs a native env with num_envs=1, got {env.num_envs}"
            )
        self._vec = MetaVectorEnv(
            env,
            AutoresetMode.SAME_STEP,
            first_episode_no_optimization,
            copy=True,
            render_mode=render_mode,
            prev_action_reset=prev_action_reset,
        )
        self.env = env
        self.render_mode = render_mode
        self.observation_space = self._vec.single_observation_space
        self.action_space = self._vec.single_action_space
        self._action = np.zeros(1, dtype=np.int64)
        self._trial_over = False

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        obs, info = self._vec.reset(seed=seed, options=options)
        self._trial_over = False
        return self._unbatch(obs), self._unbatch_info(info)

    def step(self, action):
        if isinstance(action, (bool, np.bool_)) or np.ndim(action) != 0:
            raise ValueError(f"action must be a scalar integer, got {action!r}")
        if self._trial_over:
            raise RuntimeError("the trial is over: call reset() before step()")
        self._action[0] = as_int_array("action", action)
        obs, rew, term, trunc, info = self._vec.step(self._action)
        if term[0] or trunc[0]:
            self._trial_over = True
            obs = {k: np.asarray(v) for k, v in info["final_obs"][0].items()}
            return (
                self._scalarize(obs),
                float(rew[0]),
                bool(term[0]),
                bool(trunc[0]),
                self._unbatch_info(info),
            )
        return self._unbatch(obs), float(rew[0]), False, False, self._unbatch_info(info)

    def _scalarize(self, obs: dict) -> dict:
        return {
            k: (
                np.int64(v)
                if isinstance(self.observation_space[k], spaces.Discrete)
                else np.array(v)
            )
            for k, v in obs.items()
        }

    def _unbatch(self, obs: dict) -> dict:
        return self._scalarize({k: v[0] for k, v in obs.items()})

    @staticmethod
    def _unbatch_info(info: dict) -> dict:
        return {
            k: v[0].item()
            for k, v in info.items()
            if not k.startswith("_") and k not in ("final_obs", "final_info")
        }

    def render(self):
        frames = self._vec.render()
        return None if frames is None else frames[0]

    def close(self):
        self._vec.close()
