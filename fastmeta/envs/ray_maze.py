"""RayMaze: First-Explore's Ray Maze (`TinyWorld`, spec first_explore.md §1.3), as a batched env.

Contract:
  maze          3x3 cells on [0, 3]^2, a uniform spanning tree (Aldous-Broder): outer walls plus
                exactly 4 interior wall segments
  goals         3 distinct strips (0.3 thick, beside interior walls), each good (reward_value)
                with probability p_reward, else penalty_value; closed bounds, overlaps averaged
  start         (0.5, 0.5), heading 0 (+x), every episode
  actions       3: 0 forward (0.5, or to 0.1 before a wall hit within 0.6), 1 turn -pi/4,
                2 turn +pi/4
  observation   float32 (30,): 15 ray distances over +-60 deg (screen-projection spacing), then
                15 ray types (0 horizontal wall, 1 vertical wall, 2 goal strip of either sign)
  reward        float32, per step (the token First-Explore feeds its model); at most one
                non-zero reward per episode: the first goal contact pays, later ones pay 0.
                `info["episode_return"]` is the running episode return (the original's `cr`).
  episode       20 steps, then truncated (same-step autoreset to the task's start state)
  trial         episodes_per_trial = 6 episodes per task (First-Explore trains on 3 explore +
                3 exploit episodes), then a new task
  task          RayMazeTask(v_walls, h_walls, goals, goal_values)
  variants      HardWorld (First-Explore's): penalty_value = -1; EasyWorld: penalty_value = 0
  num_threads   1 (default): step on the calling thread; > 1: steps split the slots across that
                many numba threads (capped by NUMBA_NUM_THREADS); results are bit-identical
                either way, resets stay on one thread
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from gymnasium import spaces

from fastmeta.envs.base import check_num_threads, check_positive_int, check_real
from fastmeta.envs.task_batch import TaskBatch, TaskBatchEnv, parallel_threads
from fastmeta.kernels import ray_maze as K

DEFAULTS = dict(
    p_reward=0.3, reward_value=1.0, penalty_value=-1.0, episode_length=20, episodes_per_trial=6
)
NUM_GOALS = 3
MAX_DISTANCE = 3 * math.sqrt(2)  # the room's diagonal bounds every ray


@dataclasses.dataclass
class RayMazeTask(TaskBatch):
    """One maze and its goals per slot.

    v_walls      bool (N, 4, 3): v_walls[i, j] is a wall on the line x = i covering y in [j, j+1]
    h_walls      bool (N, 3, 4): h_walls[i, j] is a wall on the line y = j covering x in [i, i+1]
    goals        float64 (N, 3, 4): goal rectangles (x0, x1, y0, y1), closed bounds
    goal_values  float64 (N, 3): what touching each goal pays
    """

    v_walls: np.ndarray
    h_walls: np.ndarray
    goals: np.ndarray
    goal_values: np.ndarray


class RayMaze(TaskBatchEnv):
    """`num_envs` ray mazes; each slot keeps its maze and goals for a trial of episodes."""

    name = "RayMaze"
    Task = RayMazeTask
    state_fields = ("px", "py", "heading", "touched", "elapsed", "_return", "episode_return")
    metadata = {"render_modes": ["rgb_array"]}
    single_action_space = spaces.Discrete(3)
    single_observation_space = spaces.Box(
        low=0.0,
        high=np.array([MAX_DISTANCE] * K.NUM_RAYS + [2.0] * K.NUM_RAYS, dtype=np.float32),
        shape=(2 * K.NUM_RAYS,),
        dtype=np.float32,
    )

    def __init__(
        self,
        num_envs: int = 1,
        seed: int = 0,
        p_reward: float = DEFAULTS["p_reward"],
        reward_value: float = DEFAULTS["reward_value"],
        penalty_value: float = DEFAULTS["penalty_value"],
        episode_length: int = DEFAULTS["episode_length"],
        episodes_per_trial: int = DEFAULTS["episodes_per_trial"],
        num_threads: int = 1,
        first_slot: int = 0,
    ):
        self.num_threads = check_num_threads(num_threads)
        self.p_reward = check_real("p_reward", p_reward)
        if not 0.0 <= self.p_reward <= 1.0:
            raise ValueError(f"p_reward must be in [0, 1], got {p_reward}")
        self.reward_value = check_real("reward_value", reward_value)
        self.penalty_value = check_real("penalty_value", penalty_value)
        self.episode_length = check_positive_int("episode_length", episode_length)
        super().__init__(
            num_envs,
            seed,
            (2 * K.NUM_RAYS,),
            np.float32,
            np.float32,
            episodes_per_trial,
            first_slot,
        )
        n = self.num_envs
        self.px = np.zeros(n)
        self.py = np.zeros(n)
        self.heading = np.zeros(n, dtype=np.int64)  # theta = heading * pi/4
        self.touched = np.zeros(n, dtype=bool)  # a goal was touched this episode
        self.elapsed = np.zeros(n, dtype=np.int64)  # steps taken in the current episode
        self._return = np.zeros(n)
        self.episode_return = np.zeros(n, dtype=np.float32)
        self.info["episode_return"] = self.episode_return

    def task_fields(self) -> dict:
        return {
            "v_walls": ((4, 3), np.bool_),
            "h_walls": ((3, 4), np.bool_),
            "goals": ((NUM_GOALS, 4), np.float64),
            "goal_values": ((NUM_GOALS,), np.float64),
        }

    def _check_task_values(self, tasks: RayMazeTask) -> None:
        # the ray cast needs a closed room: every ray must end on some wall
        if not (tasks.v_walls[:, [0, 3], :].all() and tasks.h_walls[:, :, [0, 3]].all()):
            raise ValueError(
                "tasks must keep the outer walls: v_walls[:, 0] and v_walls[:, 3], "
                "h_walls[:, :, 0] and h_walls[:, :, 3] all True"
            )
        g = tasks.goals
        if (g < 0).any() or (g > 3).any():
            raise ValueError("tasks.goals must lie in the room [0, 3]^2")
        if (g[..., 0] > g[..., 1]).any() or (g[..., 2] > g[..., 3]).any():
            raise ValueError("tasks.goals rows must be (x0, x1, y0, y1) with x0 <= x1, y0 <= y1")

    # -- kernels ----------------------------------------------------------------------------------
    def _params(self):
        return self.p_reward, self.reward_value, self.penalty_value

    def _sample_tasks(self, tasks, rng_states):
        K.sample_tasks(
            tasks.v_walls,
            tasks.h_walls,
            tasks.goals,
            tasks.goal_values,
            rng_states,
            *self._params(),
        )

    def _install_tasks(self, use_given, given):
        t = self._task
        K.install_tasks(
            t.v_walls,
            t.h_walls,
            t.goals,
            t.goal_values,
            use_given,
            given.v_walls,
            given.h_walls,
            given.goals,
            given.goal_values,
            self.rng_states,
            *self._params(),
            self.obs,
            self.px,
            self.py,
            self.heading,
            self.touched,
            self.elapsed,
            self._return,
        )
        self.episode_return[:] = 0

    def _step(self, actions):
        bad = K.first_bad_action(actions)
        if bad >= 0:
            self._raise_bad_action(actions, bad)
        t, p = self._task, self._pinned_task
        kernel = K.step
        if self.num_threads > 1:
            parallel_threads(self.num_threads)
            kernel = K.step_parallel
        kernel(
            actions,
            t.v_walls,
            t.h_walls,
            t.goals,
            t.goal_values,
            self._pinned,
            p.v_walls,
            p.h_walls,
            p.goals,
            p.goal_values,
            self.rng_states,
            *self._params(),
            self.episode_length,
            self.episodes_per_trial,
            self.px,
            self.py,
            self.heading,
            self.touched,
            self.elapsed,
            self._return,
            self.episode_index,
            self.obs,
            self.final_obs,
            self.rew,
            self.episode_return,
            self.terminated,
            self.truncated,
            self.trial_done,
        )

    # -- rendering --------------------------------------------------------------------------------
    def render(self, scale: int = 32) -> np.ndarray:
        """uint8 (N, 3*scale+8, 3*scale+8, 3), top-down, +y up: walls black, goal strips green
        (good) / red (bad) / grey (zero), rays yellow (wall) or magenta (goal), agent blue with
        a white heading mark."""
        n, m = self.num_envs, 4
        size = 3 * scale + 2 * m
        img = np.full((n, size, size, 3), 235, dtype=np.uint8)
        centres = (np.arange(size) + 0.5 - m) / scale  # world coordinate of pixel
        wx = centres[None, None, :]  # column -> x
        wy = (3.0 - centres)[None, :, None]  # row -> y (y up)
        task = self._task
        for g in range(NUM_GOALS):
            x0, x1, y0, y1 = (task.goals[:, g, c][:, None, None] for c in range(4))
            inside = (wx >= x0) & (wx <= x1) & (wy >= y0) & (wy <= y1)
            v = task.goal_values[:, g]
            colour = np.where(
                (v > 0)[:, None],
                [90, 200, 90],
                np.where((v < 0)[:, None], [220, 80, 80], [150, 150, 150]),
            )
            img[:] = np.where(inside[..., None], colour[:, None, None, :].astype(np.uint8), img)

        def pix(x, y):
            col = np.clip(np.rint(x * scale + m - 0.5), 0, size - 1).astype(np.int64)
            row = np.clip(np.rint((3.0 - y) * scale + m - 0.5), 0, size - 1).astype(np.int64)
            return row, col

        # rays: sample points from the agent to each hit point
        th = self.heading * (math.pi / 4)
        ang = th[:, None] + K.PHI[0, None, : K.NUM_RAYS]
        d = self.obs[:, : K.NUM_RAYS].astype(np.float64)
        kind = self.obs[:, K.NUM_RAYS :]
        s = np.linspace(0.0, 1.0, 2 * scale)[None, None, :]
        rr, cc = pix(
            self.px[:, None, None] + s * (d * np.cos(ang))[..., None],
            self.py[:, None, None] + s * (d * np.sin(ang))[..., None],
        )
        slot = np.broadcast_to(np.arange(n)[:, None, None], rr.shape)
        ray_colour = np.where((kind == 2)[..., None], [200, 60, 200], [230, 200, 40])
        img[slot, rr, cc] = np.broadcast_to(ray_colour[:, :, None, :], (*rr.shape, 3))
        # walls, 3 px thick
        t = np.linspace(0.0, 1.0, 4 * scale + 1)
        for wall in range(4 * 3):
            i, j = divmod(wall, 3)
            on = np.flatnonzero(task.v_walls[:, i, j])
            r, c = pix(np.full_like(t, i), j + t)
            for off in (-1, 0, 1):
                img[on[:, None], r[None], np.clip(c + off, 0, size - 1)[None]] = 20
            on = np.flatnonzero(task.h_walls[:, j, i])
            r, c = pix(j + t, np.full_like(t, i))
            for off in (-1, 0, 1):
                img[on[:, None], np.clip(r + off, 0, size - 1)[None], c[None]] = 20
        # agent and heading
        near = (wx - self.px[:, None, None]) ** 2 + (wy - self.py[:, None, None]) ** 2 <= 0.12**2
        img[near] = [40, 80, 220]
        hs = np.linspace(0.0, 0.25, scale // 2 + 1)[None, :]
        r, c = pix(
            self.px[:, None] + hs * np.cos(th)[:, None], self.py[:, None] + hs * np.sin(th)[:, None]
        )
        img[np.arange(n)[:, None], r, c] = 255
        return img
