"""Plain-Python reference of the sign world's physics, written from sign.md §2-§5 only.

Deliberately naive (lists, math, one agent): it is the yardstick the numba kernel is tested
against, not an implementation to use.
"""

import math

RADIUS = 0.4
STEP = 0.7
MAX_STEPS = 20

# The 11 walls of sign.md §2.3 as (start, end) corner pairs in (x, z).
WALLS = [
    ((10, 6.5), (10, 0)),
    ((10, 0), (0, 0)),
    ((0, 0), (0, 6.5)),
    ((6, 6.5), (10, 6.5)),
    ((0, 6.75), (0, 13)),
    ((0, 13), (6, 13)),
    ((10, 13), (10, 6.75)),
    ((10, 6.75), (6, 6.75)),
    ((6, 13), (10, 13)),
    ((6, 6.75), (6, 6.5)),
    ((0, 6.5), (0, 6.75)),
]
BOX_R = math.sqrt(0.8**2 + 0.8**2) / 2
KEY_R = 0.7355466643103704
# (x, z, radius, type index, colour index) in DREAM's scan order; then the sign (radius 0).
OBJECTS = [
    (1, 1, BOX_R, 0, 0),
    (9, 1, BOX_R, 0, 1),
    (9, 5, BOX_R, 0, 2),
    (5, 1, KEY_R, 1, 0),
    (1, 5, KEY_R, 1, 1),
    (1, 9, KEY_R, 1, 2),
]
SIGN = (10, 10.25)


def _norm(dx, dz):
    # sqrt of the sum of squares, as the engine's np.linalg.norm (math.hypot rounds differently).
    return math.sqrt(dx * dx + dz * dz)


def wall_distance(x, z, wall):
    """Distance from (x, z) to the wall, measured from its end corner as the engine stores it."""
    (bx, bz), (ax, az) = wall
    abx, abz = bx - ax, bz - az
    t = ((x - ax) * abx + (z - az) * abz) / (abx * abx + abz * abz)
    t = min(max(t, 0.0), 1.0)
    return _norm(ax + t * abx - x, az + t * abz - z)


def collides(x, z):
    if any(wall_distance(x, z, w) < RADIUS for w in WALLS):
        return True
    if any(_norm(ox - x, oz - z) < RADIUS + r for ox, oz, r, _, _ in OBJECTS):
        return True
    return _norm(SIGN[0] - x, SIGN[1] - z) < RADIUS


def near(x, z, obj):
    ox, oz, r, _, _ = obj
    return _norm(ox - x, oz - z) < r + RADIUS + 1.1 * STEP


class SignReference:
    """One agent in the sign world, stepped exactly as sign.md §5 says."""

    def __init__(self, x, z, theta, task, instruction):
        self.x, self.z, self.theta = x, z, theta
        self.task, self.instruction = task, instruction
        self.steps = 0

    def step(self, action):
        self.steps += 1
        if action == 0:
            self.theta += 45 * (math.pi / 180)
        elif action == 1:
            self.theta += -45 * (math.pi / 180)
        else:
            d = STEP if action == 2 else -STEP
            nx = self.x + math.cos(self.theta) * d
            nz = self.z + -math.sin(self.theta) * d
            if not collides(nx, nz):
                self.x, self.z = nx, nz
        reward, terminated = 0.0, action == 3
        for obj in OBJECTS:
            if near(self.x, self.z, obj):
                terminated = True
                right = obj[4] == self.task and obj[3] == self.instruction
                reward = 1.0 if right else -1.0
        truncated = not terminated and self.steps >= MAX_STEPS
        return reward, terminated, truncated


# --- the original engine, for the pixel and physics comparisons ---------------------------------
# Run as a script (in a subprocess: miniworld's import starts pyglet, whose GL state must not meet
# the renderer under test):  python fastmeta/reference/sign.py JOB.json OUT.npz
# JOB = {"frames": [[task, x, z, theta, [6 yaws]], ...],   (first person, 80x60)
#        "tops": [[task, x, z, theta, [6 yaws]], ...],     (top-down with the agent, 160x120)
#        "rollouts": [[task, instruction, x, z, theta, [actions]], ...]}
def _run_miniworld(job_path, out_path):
    import json

    import numpy as np
    import pyglet

    pyglet.options["headless"] = True  # before the first miniworld import (sign.md §9.7)
    from miniworld.envs.sign import Sign

    job = json.load(open(job_path))
    envs = {}
    current = [None]

    def env_for(task, goal=0):
        if (task, goal) not in envs:
            env = Sign(color_index=task, goal=goal)
            env.reset(seed=0)
            envs[(task, goal)] = env
        env = envs[(task, goal)]
        if current[0] is not env:
            # Every miniworld env compiles its static scene into GL display list 1, shared by
            # all instances in a process: recompile it when switching instances.
            env._render_static()
            current[0] = env
        return env

    from miniworld.opengl import FrameBuffer

    top_fb = None
    frames, tops = [], []
    for kind, out in (("frames", frames), ("tops", tops)):
        for task, x, z, theta, yaws in job.get(kind, []):
            env = env_for(task)
            env.agent.pos = np.array([x, 0.0, z])
            env.agent.dir = theta
            for k, obj in enumerate(env._objects[0] + env._objects[1]):
                obj.dir = yaws[k]
            if kind == "frames":
                out.append(env.render_obs())
            else:
                top_fb = top_fb or FrameBuffer(160, 120, 8)
                out.append(env.render_top_view(top_fb, render_agent=True))
    records = []
    for task, instruction, x, z, theta, actions in job.get("rollouts", []):
        env = env_for(task, instruction)
        env.step_count = 0
        env.agent.pos = np.array([x, 0.0, z])
        env.agent.dir = theta
        for a in actions:
            _, reward, term, trunc, _ = env.step(a)
            records.append([env.agent.pos[0], env.agent.pos[2], env.agent.dir, reward, term, trunc])
            if term or trunc:
                break
        records.append([np.nan] * 6)  # end of this rollout
    np.savez(
        out_path,
        frames=np.array(frames, dtype=np.uint8).reshape(-1, 60, 80, 3),
        tops=np.array(tops, dtype=np.uint8).reshape(-1, 120, 160, 3),
        records=np.array(records, dtype=np.float64).reshape(-1, 6),
    )


if __name__ == "__main__":
    import sys

    _run_miniworld(sys.argv[1], sys.argv[2])
