"""Batched physics of DREAM's 3D sign world (spec: sign.md §2-§5), as numba kernels.

The world is static: 11 wall segments, 3 boxes, 3 keys and the sign, all at fixed places. Only
the agent moves (turns of 45 degrees, moves of 0.7), so one slot's state is its pose, its step
counter, its task (the sign colour), its instruction (box or key) and the six object yaws, which
only matter to the renderer. `step_sign` advances every slot and resets the ones that ended.
"""

import math

import numpy as np
from numba import njit

from fastmeta.kernels.rng import randint, uniform

# --- constants of the world (sign.md §1-§3) -------------------------------------------------
AGENT_RADIUS = 0.4
FORWARD_STEP = 0.7
# The engine turns by turn_step * (pi / 180) with turn_step = 45, which is exactly pi/4 in float64.
TURN_STEP = 45 * (math.pi / 180)
MAX_EPISODE_STEPS = 20
NUM_ACTIONS = 4
TURN_LEFT, TURN_RIGHT, FORWARD, END = 0, 1, 2, 3

# The 11 collision segments as the engine stores them: (end point, start point) in (x, z).
# The order of the two ends matters for the exact rounding of the closest-point projection.
WALL_SEGS = np.array(
    [
        [[10.0, 0.0], [10.0, 6.5]],  # top room, x = 10
        [[0.0, 0.0], [10.0, 0.0]],  # top room, z = 0
        [[0.0, 6.5], [0.0, 0.0]],  # top room, x = 0
        [[10.0, 6.5], [6.0, 6.5]],  # top room, z = 6.5 east of the opening
        [[0.0, 13.0], [0.0, 6.75]],  # left room, x = 0
        [[6.0, 13.0], [0.0, 13.0]],  # left room, z = 13
        [[10.0, 6.75], [10.0, 13.0]],  # right room, x = 10
        [[6.0, 6.75], [10.0, 6.75]],  # right room, z = 6.75
        [[10.0, 13.0], [6.0, 13.0]],  # right room, z = 13
        [[6.0, 6.5], [6.0, 6.75]],  # connector, x = 6
        [[0.0, 6.75], [0.0, 6.5]],  # connector, x = 0
    ],
    dtype=np.float64,
)

# Each wall's bounding box grown by a bit more than the agent radius: a point outside it is
# certainly farther than 0.4 from the wall, so the exact test (and its rounding) is skipped.
_MARGIN = AGENT_RADIUS + 0.01
SEG_BOX = np.array(
    [
        [
            min(s[0, 0], s[1, 0]) - _MARGIN,
            max(s[0, 0], s[1, 0]) + _MARGIN,
            min(s[0, 1], s[1, 1]) - _MARGIN,
            max(s[0, 1], s[1, 1]) + _MARGIN,
        ]
        for s in WALL_SEGS
    ]
)

# Objects in the order DREAM scans them: boxes blue, red, green; then keys blue, red, green.
OBJ_POS = np.array([[1.0, 1.0], [9.0, 1.0], [9.0, 5.0], [5.0, 1.0], [1.0, 5.0], [1.0, 9.0]])
BOX_RADIUS = math.sqrt(0.8 * 0.8 + 0.8 * 0.8) / 2
# sqrt of the float32 extents of the re-centred key mesh, times the float64 scale 0.6 / 2.0, as
# numpy 1.x promoted it in 2020 (tests/test_sign_physics.py recomputes it from the mesh file).
KEY_RADIUS = 0.7355466643103704
OBJ_RADIUS = np.array([BOX_RADIUS] * 3 + [KEY_RADIUS] * 3)
# The engine's near(): dist < r_obj + r_agent + 1.1 * max_forward_step, summed in this order.
NEAR_DIST = np.array([r + AGENT_RADIUS + 1.1 * FORWARD_STEP for r in OBJ_RADIUS])
# The sign is an entity of radius 0 on the wall; it is in the collision list but can never block.
SIGN_POS = np.array([10.0, 10.25])

# Spawn (2020 engine, sign.md §4): a box shrunk by the agent radius, then a uniform heading.
SPAWN_X = (4.0 + AGENT_RADIUS, 5.0 - AGENT_RADIUS)
SPAWN_Z = (4.0 + AGENT_RADIUS, 6.0 - AGENT_RADIUS)
NUM_TASKS = 3  # sign colour: 0 BLUE, 1 RED, 2 GREEN
NUM_INSTRUCTIONS = 2  # 0 go to the box, 1 go to the key


@njit(cache=True)
def blocked(x, z):
    """True if an agent disc at (x, z) would touch a wall or an entity (strict <, sign.md §5.3).

    The distances are computed as the engine computes them (same operations, same order), so
    the decision is the engine's to the last bit; far-away walls and objects are skipped first.
    """
    segs = WALL_SEGS
    for k in range(segs.shape[0]):
        if x <= SEG_BOX[k, 0] or x >= SEG_BOX[k, 1] or z <= SEG_BOX[k, 2] or z >= SEG_BOX[k, 3]:
            continue
        ax, az = segs[k, 0, 0], segs[k, 0, 1]
        abx, abz = segs[k, 1, 0] - ax, segs[k, 1, 1] - az
        t = ((x - ax) * abx + (z - az) * abz) / (abx * abx + abz * abz)
        t = min(max(t, 0.0), 1.0)
        dx, dz = ax + t * abx - x, az + t * abz - z
        if math.sqrt(dx * dx + dz * dz) < AGENT_RADIUS:
            return True
    for k in range(OBJ_POS.shape[0]):
        dx, dz = OBJ_POS[k, 0] - x, OBJ_POS[k, 1] - z
        reach = AGENT_RADIUS + OBJ_RADIUS[k]
        if (
            abs(dx) < reach + 0.01
            and abs(dz) < reach + 0.01
            and math.sqrt(dx * dx + dz * dz) < reach
        ):
            return True
    dx, dz = SIGN_POS[0] - x, SIGN_POS[1] - z
    return math.sqrt(dx * dx + dz * dz) < AGENT_RADIUS


@njit(cache=True)
def spawn_slot(rng, i, pos, theta, yaw):
    """Start an episode in slot i: six object yaws, then the agent's position and heading."""
    for k in range(6):
        yaw[i, k] = -math.pi + 2.0 * math.pi * uniform(rng, i)
    # The 2020 engine retries until it picks room 0 (the box lies wholly inside it, clear of
    # everything), so the accepted position is simply uniform on the box.
    pos[i, 0] = SPAWN_X[0] + (SPAWN_X[1] - SPAWN_X[0]) * uniform(rng, i)
    pos[i, 1] = SPAWN_Z[0] + (SPAWN_Z[1] - SPAWN_Z[0]) * uniform(rng, i)
    theta[i] = -math.pi + 2.0 * math.pi * uniform(rng, i)


@njit(cache=True)
def new_episode(rng, i, pos, theta, yaw, steps, instr):
    """Spawn slot i, zero its step counter and draw its instruction."""
    spawn_slot(rng, i, pos, theta, yaw)
    steps[i] = 0
    instr[i] = randint(rng, i, NUM_INSTRUCTIONS)


@njit(cache=True)
def move_and_score(a, i, pos, theta, steps, task, instr, max_steps):
    """Apply action a to slot i; return (reward, terminated, truncated) (sign.md §5.2)."""
    steps[i] += 1
    if a == TURN_LEFT:
        theta[i] += TURN_STEP
    elif a == TURN_RIGHT:
        theta[i] += -TURN_STEP
    else:
        d = FORWARD_STEP if a == FORWARD else -FORWARD_STEP
        nx = pos[i, 0] + math.cos(theta[i]) * d
        nz = pos[i, 1] + (-math.sin(theta[i])) * d
        if not blocked(nx, nz):
            pos[i, 0] = nx
            pos[i, 1] = nz
    reward = 0.0
    terminated = a == END
    for k in range(OBJ_POS.shape[0]):
        dx, dz = OBJ_POS[k, 0] - pos[i, 0], OBJ_POS[k, 1] - pos[i, 1]
        if abs(dx) >= NEAR_DIST[k] + 0.01 or abs(dz) >= NEAR_DIST[k] + 0.01:
            continue
        if math.sqrt(dx * dx + dz * dz) < NEAR_DIST[k]:
            terminated = True
            reward = 1.0 if (k % 3 == task[i] and k // 3 == instr[i]) else -1.0
    truncated = (not terminated) and steps[i] >= max_steps
    return reward, terminated, truncated


@njit(cache=True)
def step_sign(
    actions,
    pos,
    theta,
    yaw,
    steps,
    task,
    instr,
    episode,
    pinned,
    pinned_task,
    rng,
    rew,
    terminated,
    truncated,
    trial_done,
    final_pos,
    final_theta,
    final_yaw,
    final_task,
    max_steps,
    episodes_per_trial,
    planned,
    plan,
):
    """Step every slot; a slot that ends records its final state and starts its next episode.

    After `episodes_per_trial` episodes a slot also draws a new task (unless it is pinned).
    A `planned` slot takes its episodes' instructions from `plan` (N, episodes_per_trial) for
    the rest of its trial; the draws still happen, so spawns do not depend on the plan.
    Returns the number of slots that ended.
    """
    ended = 0
    for i in range(actions.shape[0]):
        r, te, tr = move_and_score(actions[i], i, pos, theta, steps, task, instr, max_steps)
        rew[i] = r
        terminated[i] = te
        truncated[i] = tr
        trial_done[i] = False
        if te or tr:
            ended += 1
            final_pos[i, 0] = pos[i, 0]
            final_pos[i, 1] = pos[i, 1]
            final_theta[i] = theta[i]
            final_task[i] = task[i]
            for k in range(6):
                final_yaw[i, k] = yaw[i, k]
            episode[i] += 1
            if episode[i] >= episodes_per_trial:
                episode[i] = 0
                trial_done[i] = True
                task[i] = pinned_task[i] if pinned[i] else randint(rng, i, NUM_TASKS)
                planned[i] = False
            new_episode(rng, i, pos, theta, yaw, steps, instr)
            if planned[i]:
                instr[i] = plan[i, episode[i]]
    return ended


@njit(cache=True)
def reset_sign(slots, pos, theta, yaw, steps, task, instr, episode, pinned, pinned_task, rng):
    """Meta-reset the given slots: a new task (or the pinned one) and its first episode."""
    for j in range(slots.shape[0]):
        i = slots[j]
        task[i] = pinned_task[i] if pinned[i] else randint(rng, i, NUM_TASKS)
        episode[i] = 0
        new_episode(rng, i, pos, theta, yaw, steps, instr)


@njit(cache=True)
def restart_sign(slots, pos, theta, yaw, steps, instr, episode, rng, planned, plan):
    """Abandon the current episode of the given slots and start it again: same task and episode
    index, a fresh spawn and instruction (the plan's, if the slot has one) from the slot's stream."""
    for j in range(slots.shape[0]):
        i = slots[j]
        new_episode(rng, i, pos, theta, yaw, steps, instr)
        if planned[i]:
            instr[i] = plan[i, episode[i]]
