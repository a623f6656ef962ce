"""DREAM's 3D sign world (`miniworld_sign`; dream.md §4, sign.md), N worlds stepping together.

Contract (docs/env_contract.md):
* actions `Discrete(4)`: 0 turn left 45°, 1 turn right 45°, 2 forward 0.7, 3 end (moves back
  0.7 first, as the engine's move_back, then ends the episode).
* observation (`obs_mode="rgb"`): the first-person 80x60 RGB frame, uint8, in `layout`
  "dream" (3, 80, 60) = the original's transposed channels x width x height, "hwc" (60, 80, 3)
  or "chw" (3, 60, 80). `obs_mode="pose"`: (x, z, theta) float64, no rendering at all.
* reward: the DREAM instruction reward. Touching (`near`) the object whose colour is on the sign
  and whose type is the instruction (0 box, 1 key) gives +1, any other object -1, else 0.
  Touching ends the episode (terminated), so does action 3; 20 steps truncate it.
* task: the sign colour / DREAM env id, 0 BLUE, 1 RED, 2 GREEN (train = test = all three). A
  trial is `episodes_per_trial` episodes on one task, each with a fresh instruction
  (`info["instruction"]`, the current episode's) and fresh spawn and object yaws.
* rendering: one batched pass per step on a headless EGL context. `samples` is the MSAA
  request (8 like the engine, capped by the driver: 4 on llvmpipe); `msaa_storage` "u8" (the
  default) stores 8-bit samples, about 1.6x faster on llvmpipe than "f32", the engine's float
  samples, and differs from it by 1/255 in ~1% of values (well inside the 1.0 mean-error bound
  against the original's frames).
* randomness: per-slot SplitMix64 streams, so a run is reproducible from `seed`; the original
  draws from an entropy-seeded RandomState and cannot be replayed. Spawn follows the 2020
  engine DREAM pinned: uniform on [4.4, 4.6] x [4.4, 5.6], heading uniform on [-pi, pi).
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from fastmeta.envs.base import BatchedEnv, check_choice, check_positive_int
from fastmeta.kernels import sign_physics as K

LAYOUTS = {"dream": (3, 80, 60), "hwc": (60, 80, 3), "chw": (3, 60, 80)}
OBS_MODES = ("rgb", "pose")
# How each layout's buffer is seen as (N, 60, 80, 3) images, the renderer's output order.
_AS_HWC = {"dream": (0, 3, 2, 1), "hwc": (0, 1, 2, 3), "chw": (0, 2, 3, 1)}


class Sign(BatchedEnv):
    """N sign worlds: batched numba physics, frames from one batched EGL renderer."""

    name = "miniworld_sign"
    num_tasks = K.NUM_TASKS
    instruction_highs = (K.NUM_INSTRUCTIONS,)  # 0 = go to the box, 1 = go to the key
    kernel_checks_actions = False
    state_fields = (
        "pos",
        "theta",
        "yaw",
        "steps",
        "task_ids",
        "instructions",
        "_pinned",
        "_pinned_task",
        "_planned",
        "_plan",
        "final_pos",
        "final_theta",
        "final_yaw",
        "final_task",
    )

    def __init__(
        self,
        num_envs: int = 1,
        seed: int = 0,
        obs_mode: str = "rgb",
        layout: str = "dream",
        samples: int = 8,
        msaa_storage: str = "u8",
        backend: str = "egl",
        episodes_per_trial: int = 2,
        split: str = "train",
        max_episode_steps: int = K.MAX_EPISODE_STEPS,
        first_slot: int = 0,
    ):
        if obs_mode not in OBS_MODES:
            raise ValueError(f"obs_mode must be one of {OBS_MODES}, got {obs_mode!r}")
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {tuple(LAYOUTS)}, got {layout!r}")
        check_choice("split", split, ("train", "test"))
        check_positive_int("max_episode_steps", max_episode_steps)
        check_positive_int("samples", samples)
        if msaa_storage not in ("f32", "u8"):
            raise ValueError(f"msaa_storage must be 'f32' or 'u8', got {msaa_storage!r}")
        if backend not in ("egl", "default"):
            raise ValueError(f"backend must be 'egl' or 'default', got {backend!r}")
        if obs_mode == "rgb":
            obs_shape, obs_dtype = LAYOUTS[layout], np.uint8
        else:
            obs_shape, obs_dtype = (3,), np.float64
        super().__init__(
            num_envs,
            seed,
            obs_shape,
            obs_dtype,
            episodes_per_trial=episodes_per_trial,
            first_slot=first_slot,
        )
        n = self.num_envs
        self.obs_mode, self.layout, self.split = obs_mode, layout, split
        self.backend, self.requested_samples = backend, int(samples)
        self.msaa_storage = msaa_storage
        self.max_episode_steps = int(max_episode_steps)
        self.single_action_space = spaces.Discrete(K.NUM_ACTIONS)
        if obs_mode == "rgb":
            self.single_observation_space = spaces.Box(0, 255, obs_shape, dtype=np.uint8)
        else:
            self.single_observation_space = spaces.Box(-np.inf, np.inf, (3,), dtype=np.float64)

        # Slot state (kernel arrays) and what a slot looked like when its episode ended.
        self.pos = np.zeros((n, 2))
        self.theta = np.zeros(n)
        self.yaw = np.zeros((n, 6))
        self.steps = np.zeros(n, dtype=np.int64)
        self.task_ids = np.zeros(n, dtype=np.int64)
        self.instructions = np.zeros((n, 1), dtype=np.int64)
        self._instruction = self.instructions[:, 0]  # the kernels' (N,) view of it
        self._pinned = np.zeros(n, dtype=bool)
        self._pinned_task = np.zeros(n, dtype=np.int64)
        self._planned = np.zeros(n, dtype=bool)
        self._plan = np.zeros((n, self.episodes_per_trial), dtype=np.int64)
        self.final_pos = np.zeros((n, 2))
        self.final_theta = np.zeros(n)
        self.final_yaw = np.zeros((n, 6))
        self.final_task = np.zeros(n, dtype=np.int64)
        self._all_slots = np.arange(n, dtype=np.int64)
        self.info["task_id"] = self.task_ids
        self._renderer = None
        if obs_mode == "rgb":
            # Views of this step: the N current poses, then the finals of slots that ended.
            self._v_pos = np.zeros((2 * n, 2))
            self._v_theta = np.zeros(2 * n)
            self._v_yaw = np.zeros((2 * n, 6))
            self._v_sign = np.zeros(2 * n, dtype=np.int64)
            self._frames = np.zeros((2 * n, 60, 80, 3), dtype=np.uint8)
            self._obs_hwc = self.obs.transpose(_AS_HWC[layout])
            self._final_hwc = self.final_obs.transpose(_AS_HWC[layout])
            # fail at construction, not at the first step, if GL is missing; size the target
            # for the largest batch (N frames and N finals) so frames never depend on history
            self.renderer.reserve(2 * n)

    # -- rendering --------------------------------------------------------------------------
    @property
    def renderer(self):
        """The batched renderer (created on first use; owns one headless GL context)."""
        if self._renderer is None:
            from fastmeta.render.sign_renderer import SignRenderer

            self._renderer = SignRenderer(
                samples=self.requested_samples, backend=self.backend, msaa_storage=self.msaa_storage
            )
        return self._renderer

    @property
    def samples(self) -> int:
        """MSAA samples in use: the requested count capped by the driver."""
        return self.renderer.samples

    def _render_obs(self, ended: np.ndarray | None) -> None:
        n = self.num_envs
        self._v_pos[:n] = self.pos
        self._v_theta[:n] = self.theta
        self._v_yaw[:n] = self.yaw
        self._v_sign[:n] = self.task_ids
        k = 0 if ended is None else len(ended)
        if k:
            self._v_pos[n : n + k] = self.final_pos[ended]
            self._v_theta[n : n + k] = self.final_theta[ended]
            self._v_yaw[n : n + k] = self.final_yaw[ended]
            self._v_sign[n : n + k] = self.final_task[ended]
        m = n + k
        self.renderer.render(
            self._v_pos[:m], self._v_theta[:m], self._v_yaw[:m], self._v_sign[:m], self._frames[:m]
        )
        np.copyto(self._obs_hwc, self._frames[:n])
        if k:
            self._final_hwc[ended] = self._frames[n:m]

    def render(self, mode: str = "top") -> np.ndarray:
        """(N, 120, 160, 3) top-down maps with the agent as a red arrow ("top", for videos), or
        the (N, 60, 80, 3) first-person frames ("first_person")."""
        self._check_open()
        if mode not in ("top", "first_person"):
            raise ValueError(f"mode must be 'top' or 'first_person', got {mode!r}")
        from fastmeta.render.sign_renderer import HEIGHT, TOP_HEIGHT, TOP_WIDTH, WIDTH

        top = mode == "top"
        shape = (TOP_HEIGHT, TOP_WIDTH, 3) if top else (HEIGHT, WIDTH, 3)
        out = np.zeros((self.num_envs, *shape), dtype=np.uint8)
        return self.renderer.render(self.pos, self.theta, self.yaw, self.task_ids, out, top=top)

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.release()
            self._renderer = None
        super().close()

    # -- tasks ------------------------------------------------------------------------------
    @property
    def tasks(self) -> np.ndarray:
        """The env id (sign colour) of every slot (a copy)."""
        return self.task_ids.copy()

    def _pin(self, ids, slots) -> None:
        self._pinned_task[slots] = ids
        self._pinned[slots] = True

    def _unpin(self, slots) -> None:
        self._pinned[slots] = False

    # -- contract ---------------------------------------------------------------------------
    def _reset(self, tasks, instructions) -> None:
        """New trial in every slot: a new task (given, pinned or drawn), then its first episode.
        `instructions` (N, episodes_per_trial, 1), 0 box / 1 key, fixes the instruction of each
        episode of this trial (DREAM's test protocol); spawns are drawn as without it."""
        K.reset_sign(
            self._all_slots,
            self.pos,
            self.theta,
            self.yaw,
            self.steps,
            self.task_ids,
            self._instruction,
            self.episode_index,
            self._pinned,
            self._pinned_task,
            self.rng_states,
        )
        if tasks is not None:
            self.task_ids[:] = tasks
        self._planned[:] = instructions is not None
        if instructions is not None:
            self._plan[:] = instructions[..., 0]
            self._instruction[:] = self._plan[:, 0]
        self._episode_started()

    def restart_episode(self):
        """Abandon the current episode in every slot and start it again: same task and episode
        index, a fresh spawn and instruction (a fixed plan keeps its instruction). The original
        respawns on every reset, so a restarted episode starts where a new one would."""
        self._check_ready("restart_episode()")
        K.restart_sign(
            self._all_slots,
            self.pos,
            self.theta,
            self.yaw,
            self.steps,
            self._instruction,
            self.episode_index,
            self.rng_states,
            self._planned,
            self._plan,
        )
        self._episode_started()
        return self.obs, self.info

    def _episode_started(self) -> None:
        """Clear the last step's outputs and show the new episode's first frame."""
        self.rew[:] = 0.0
        self.terminated[:] = False
        self.truncated[:] = False
        self.trial_done[:] = False
        self._write_obs(None)

    def _step(self, actions) -> None:
        ended = K.step_sign(
            actions,
            self.pos,
            self.theta,
            self.yaw,
            self.steps,
            self.task_ids,
            self._instruction,
            self.episode_index,
            self._pinned,
            self._pinned_task,
            self.rng_states,
            self.rew,
            self.terminated,
            self.truncated,
            self.trial_done,
            self.final_pos,
            self.final_theta,
            self.final_yaw,
            self.final_task,
            self.max_episode_steps,
            self.episodes_per_trial,
            self._planned,
            self._plan,
        )
        self._write_obs(np.flatnonzero(self.terminated | self.truncated) if ended else None)

    def _after_set_state(self) -> None:
        if self.obs_mode == "rgb":  # frames are derived from the poses: draw them again
            ended = np.flatnonzero(self.terminated | self.truncated)
            self._render_obs(ended if len(ended) else None)

    def _write_obs(self, ended) -> None:
        if self.obs_mode == "rgb":
            self._render_obs(ended)
            return
        self.obs[:, :2] = self.pos
        self.obs[:, 2] = self.theta
        if ended is not None:
            self.final_obs[ended, :2] = self.final_pos[ended]
            self.final_obs[ended, 2] = self.final_theta[ended]

    # -- inspection -------------------------------------------------------------------------
    def set_pose(self, slot: int, x: float, z: float, theta: float, yaw=None) -> None:
        """Put slot `slot`'s agent at (x, z) facing theta (and set object yaws): for scripted
        tests and tools. The pose is not checked against walls."""
        self._check_open()
        slot = int(self.check_slots(slot)[0])
        self.pos[slot] = (x, z)
        self.theta[slot] = theta
        if yaw is not None:
            self.yaw[slot] = np.asarray(yaw, dtype=np.float64).reshape(6)
        self._write_obs(None)
