"""The original `envs.miniworld.sign` surface: `MiniWorldSign` and its `InstructionWrapper`.

Same class interface, state tuples, spaces and transposed (3, 80, 60) observations as DREAM's
module (dream.md §4, §9), stepped by the same numba functions as `fastmeta.make("miniworld_sign")`
and rendered by the same batched renderer (with one view). Differences, on purpose:
* the original module builds one shared env at import, which opens a display; here the shared
  instance (`sign_instance`, returned by `create_env`) is built on first use;
* the original engine RNG is seeded from OS entropy; here it is a SplitMix64 stream with a seed
  (`MiniWorldSign.engine_seed`, default 0), so runs are reproducible. It is never reseeded
  between episodes, as in DREAM. Spawn follows the 2020 engine DREAM pinned.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from fastmeta.compat.dream.meta_exploration import InstructionWrapper as _InstructionWrapper
from fastmeta.compat.dream.meta_exploration import MetaExplorationState
from fastmeta.kernels import sign_physics as K
from fastmeta.kernels.rng import stream_states


def _to_tensor(observation):
    import torch

    return torch.tensor(observation)


class _SignCore:
    """One sign world as 1-slot arrays, stepped by the kernel's own functions."""

    def __init__(self, seed: int):
        self.rng = stream_states(seed, 1)
        self.pos = np.zeros((1, 2))
        self.theta = np.zeros(1)
        self.yaw = np.zeros((1, 6))
        self.steps = np.zeros(1, dtype=np.int64)
        self.task = np.zeros(1, dtype=np.int64)
        self.instr = np.zeros(1, dtype=np.int64)

    def set_instruction(self, i0: int, _unused: int = 0) -> None:
        self.instr[0] = i0

    def reset(self, task: int) -> None:
        self.task[0] = task
        instr = self.instr[0]
        K.new_episode(self.rng, 0, self.pos, self.theta, self.yaw, self.steps, self.instr)
        self.instr[0] = instr  # the instruction belongs to the wrapper, not the engine

    def step(self, action: int):
        """(reward, near an object, done as the DREAM env reports it)."""
        r, term, trunc = K.move_and_score(
            action, 0, self.pos, self.theta, self.steps, self.task, self.instr, K.MAX_EPISODE_STEPS
        )
        # Touching an object is the only way to a nonzero reward (+1 or -1).
        return r, r != 0.0, bool(term or trunc)


_renderer = None


def _shared_renderer():
    """One GL context per process for every MiniWorldSign (as the original's one window)."""
    global _renderer
    if _renderer is None:
        from fastmeta.render.sign_renderer import SignRenderer

        _renderer = SignRenderer()
    return _renderer


class MiniWorldSign:
    """DREAM's MiniWorld sign env: env ids 0, 1, 2 = sign text BLUE, RED, GREEN."""

    engine_seed = 0
    _shared = None
    _integer_success = False  # the sign's reward is the float +1/-1

    def __init__(self, env_id, wrapper=None, seed: int | None = None):
        self._env_id = int(env_id)
        if not 0 <= self._env_id < K.NUM_TASKS:
            raise ValueError(f"env id {env_id} is out of range [0, {K.NUM_TASKS - 1}]")
        self._wrapper = _to_tensor if wrapper is None else wrapper
        self._core = _SignCore(self.engine_seed if seed is None else seed)
        self._frame = np.zeros((60, 80, 3), dtype=np.uint8)
        self.action_space = spaces.Discrete(K.NUM_ACTIONS)
        self.observation_space = spaces.Dict(
            {
                "observation": spaces.Box(0, 255, (3, 80, 60), dtype=np.uint8),
                "env_id": spaces.Box(np.array([0]), np.array([K.NUM_TASKS]), dtype=np.int64),
            }
        )

    # -- class-level interface --------------------------------------------------------------
    @classmethod
    def env_ids(cls):
        return list(range(K.NUM_TASKS)), list(range(K.NUM_TASKS))

    @classmethod
    def instruction_wrapper(cls):
        return InstructionWrapper

    @classmethod
    def shared_instance(cls) -> "MiniWorldSign":
        if MiniWorldSign._shared is None:
            MiniWorldSign._shared = MiniWorldSign(0, None)
        return MiniWorldSign._shared

    @classmethod
    def create_env(cls, seed, test=False, wrapper=None):
        """Set the shared instance's env id to a draw of RandomState(seed) and return it."""
        train, test_ids = cls.env_ids()
        split = test_ids if test else train
        env = cls.shared_instance()
        env._env_id = split[np.random.RandomState(seed).randint(len(split))]
        env._wrapper = _to_tensor if wrapper is None else wrapper
        return env

    # -- env ---------------------------------------------------------------------------------
    @property
    def env_id(self):
        return self._env_id

    @property
    def unwrapped(self):
        return self

    def _observation(self):
        c = self._core
        _shared_renderer().render(c.pos, c.theta, c.yaw, c.task, self._frame[None])
        return self._wrapper(self._frame.transpose(2, 1, 0).copy())

    def reset(self):
        self._core.reset(self._env_id)
        return MetaExplorationState(self._observation(), 0, None, self._env_id)

    def _raw_step(self, action):
        action = int(action)
        if not 0 <= action < K.NUM_ACTIONS:
            raise ValueError(f"action {action} is out of range [0, {K.NUM_ACTIONS - 1}]")
        r, touched, done = self._core.step(action)
        return self._observation(), done, r, touched

    def step(self, action):
        obs, done, _, _ = self._raw_step(action)
        return MetaExplorationState(obs, 0, action, self._env_id), 0, done, {}

    def render(self, mode=None):
        """First-person view (doubled) beside the top-down map, 320x120, with the env id."""
        from fastmeta.compat.dream.rendering import GridRender

        c = _shared_renderer()
        top = np.zeros((1, 120, 160, 3), dtype=np.uint8)
        core = self._core
        c.render(core.pos, core.theta, core.yaw, core.task, top, top=True)
        first = self._frame.repeat(2, axis=0).repeat(2, axis=1)
        image = GridRender(np.concatenate([first, top[0]], axis=1))
        image.write_text(f"Env ID: {self._env_id}")
        return image

    def close(self):
        pass


class InstructionWrapper(_InstructionWrapper):
    """DREAM's sign instruction: [0] go to the box, [1] go to the key (RandomState draw)."""

    _instruction_highs = (2,)

    def _draw_instructions(self):
        return self._rng.randint(2, size=(1,))

    def render(self, mode=None):
        image = self.env.render(mode)
        image.write_text(f"Instructions: {self._instructions}")
        return image


def __getattr__(name):
    # The original module-level shared env, built on first access instead of at import.
    if name == "sign_instance":
        return MiniWorldSign.shared_instance()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
