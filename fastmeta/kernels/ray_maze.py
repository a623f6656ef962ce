"""Ray Maze kernels (First-Explore's TinyWorld, first_explore.md §1.3): maze and goal sampling,
the 30-float ray-cast observation, and the batched step.

Geometry runs in float64 (the original runs in float32; its RNG and float rounding are not
reproduced, its rules are). The heading is stored as an integer h (theta = h * pi/4, h in 0..7),
so the 8 x 15 ray angles, their tangents and branch flags are tables computed once with
`math` at import, exactly as the plain-Python reference computes them per call.

Task draw order per slot (fastmeta/reference/ray_maze.py follows it):
  maze   Aldous-Broder: randint(9) for the start cell (cell c = (c // 3, c % 3)); then per walk
         step randint(#in-bounds neighbours) over the neighbours in the order +x, -x, +y, -y;
  goals  the 8 strips of the 4 interior walls left, enumerated vertical walls first, then
         horizontal, each in index order, + side then - side; 3 picked by partial Fisher-Yates
         (randint(8), randint(7), randint(6));
  signs  one uniform per goal: good (reward_value) iff u < p_reward, else penalty_value.
"""

import math

import numpy as np
from numba import njit, prange

from fastmeta.kernels.rng import randint, uniform

E = 0.05  # edge thickness: candidates sit this far in front of the wall line
STEP = 0.5  # forward step length
SNAP = 0.1  # a blocked forward move stops this far before the hit point
GOAL_DEPTH = 0.3  # thickness of a goal strip
SIDE_RAYS = 7
NUM_RAYS = 2 * SIDE_RAYS + 1
NUM_HEADINGS = 8
START_X = START_Y = 0.5


def _angle_tables():
    """Per heading h and ray j: angle phi in [0, 2pi), tan, cot (inf where tan == 0), and the
    backward-branch flags of the x- and y-crossing families; index NUM_RAYS is the heading
    itself (the forward-move cast)."""
    offsets = [
        math.atan((j / SIDE_RAYS) * math.tan(math.pi / 3)) for j in range(-SIDE_RAYS, SIDE_RAYS + 1)
    ] + [0.0]
    phi = np.zeros((NUM_HEADINGS, NUM_RAYS + 1))
    for h in range(NUM_HEADINGS):
        for j, a in enumerate(offsets):
            # the forward cast uses theta mod 2pi, not theta + 0.0: identical for h in 0..7
            phi[h, j] = (h * (math.pi / 4) + a) % (2 * math.pi)
    tan = np.array([[math.tan(p) for p in row] for row in phi])
    cot = np.array([[math.inf if t == 0.0 else 1.0 / t for t in row] for row in tan])
    back_x = (phi > math.pi / 2) & (phi < 3 * math.pi / 2)
    back_y = phi > math.pi
    cos = np.array([math.cos(h * (math.pi / 4)) for h in range(NUM_HEADINGS)])
    sin = np.array([math.sin(h * (math.pi / 4)) for h in range(NUM_HEADINGS)])
    return phi, tan, cot, back_x, back_y, cos, sin


PHI, TAN, COT, BACK_X, BACK_Y, COS, SIN = _angle_tables()


# -- ray cast -------------------------------------------------------------------------------------
@njit(inline="always", cache=True)
def _wrap_clamp(idx, size):
    # jnp indexing as the original: a negative index wraps once, then indices clamp
    if idx < 0:
        idx += size
    return min(max(idx, 0), size - 1)


@njit(inline="always", cache=True)
def _mod1(x):
    # Python's x % 1.0 (fmod, then +1 for negatives) for |x| < 2**52: both forms round the
    # exact x - floor(x) once, and this one avoids the libm fmod call
    return x - math.floor(x)


@njit(inline="always", cache=True)
def wall_masks(V, H, i):
    """Slot i's walls as bits: V[c, j] is bit 3c + j of the first, H[c, j] bit 4c + j of the second."""
    vm = np.int64(0)
    hm = np.int64(0)
    for c in range(4):
        for j in range(3):
            if V[i, c, j]:
                vm |= np.int64(1) << (3 * c + j)
            if H[i, j, c]:
                hm |= np.int64(1) << (4 * j + c)
    return vm, hm


@njit(inline="always", cache=True)
def _valid_x(vm, hm, xk, yk):
    """Does the x-crossing candidate (xk, yk) stop the ray (spec §1.3 validity rule)?"""
    c = np.int64(np.rint(xk))
    if 0 <= c <= 3:
        jlo = np.int64(math.floor(yk - E))
        if 0 <= jlo <= 2 and (vm >> (3 * c + jlo)) & 1:
            return True
        jhi = np.int64(math.floor(yk + E))
        if 0 <= jhi <= 2 and (vm >> (3 * c + jhi)) & 1:
            return True
    jr = np.int64(np.rint(yk))
    if 0 <= jr <= 3 and abs(yk - jr) < E:
        # corner-block rule, ungated by the column range as in the original
        return (
            (hm >> (4 * _wrap_clamp(c - 1, 3) + jr)) & 1 or (hm >> (4 * _wrap_clamp(c, 3) + jr)) & 1
        ) != 0
    return False


@njit(inline="always", cache=True)
def _valid_y(vm, hm, xk, yk):
    """Does the y-crossing candidate (xk, yk) stop the ray (the mirror rule)?"""
    r = np.int64(np.rint(yk))
    if r < 0 or r > 3:
        return False
    ilo = np.int64(math.floor(xk - E))
    if 0 <= ilo <= 2 and (hm >> (4 * ilo + r)) & 1:
        return True
    ihi = np.int64(math.floor(xk + E))
    if 0 <= ihi <= 2 and (hm >> (4 * ihi + r)) & 1:
        return True
    ir = np.int64(np.rint(xk))
    if 0 <= ir <= 3 and abs(xk - ir) < E:
        return (
            (vm >> (3 * ir + _wrap_clamp(r - 1, 3))) & 1 or (vm >> (3 * ir + _wrap_clamp(r, 3))) & 1
        ) != 0
    return False


@njit(inline="always", cache=True)
def _x_candidate(px, py, tn, delta, k, back):
    if back:
        xk = px - delta - k
        yk = py - tn * (delta + k)
    else:
        xk = px + delta + k
        yk = py + tn * (delta + k)
    if not abs(yk) < 1e9:
        return xk, yk, np.inf
    return xk, yk, math.sqrt((xk - px) ** 2 + (yk - py) ** 2)


@njit(inline="always", cache=True)
def _y_candidate(px, py, ct, delta, k, back):
    if back:
        xk = px - ct * (delta + k)
        yk = py - delta - k
    else:
        xk = px + ct * (delta + k)
        yk = py + delta + k
    if not abs(xk) < 1e9:
        return xk, yk, np.inf
    return xk, yk, math.sqrt((xk - px) ** 2 + (yk - py) ** 2)


@njit(inline="always", cache=True)
def cast(vm, hm, px, py, tn, ct, back_x, back_y):
    """Nearest wall hit of one ray -> (distance, hit x, hit y, 1 if x-crossing else 0).

    The spec takes the first valid candidate of each family (k = 0..3) and lets the x-family
    win only if strictly nearer. Candidates of one family lie at increasing distance, so walking
    both families merged by distance (the y-candidate first on ties) and stopping at the first
    valid one gives the same hit while testing only the candidates in front of it. Values beyond
    1e9 (tan near pi/2, cot = inf at phi = 0) can never pass the index checks: they get an
    infinite distance, as the non-finite candidates the spec rules out.
    """
    dx0 = _mod1(px - E) if back_x else _mod1(-E - px)
    dy0 = _mod1(py - E) if back_y else _mod1(-E - py)
    kx = 0
    ky = 0
    xx, xy, dx = _x_candidate(px, py, tn, dx0, 0, back_x)
    yx, yy, dy = _y_candidate(px, py, ct, dy0, 0, back_y)
    while kx < 4 or ky < 4:
        if kx < 4 and (ky >= 4 or dx < dy):
            if dx < np.inf and _valid_x(vm, hm, xx, xy):
                return dx, xx, xy, 1
            kx += 1
            if kx < 4:
                xx, xy, dx = _x_candidate(px, py, tn, dx0, kx, back_x)
        else:
            if dy < np.inf and _valid_y(vm, hm, yx, yy):
                return dy, yx, yy, 0
            ky += 1
            if ky < 4:
                yx, yy, dy = _y_candidate(px, py, ct, dy0, ky, back_y)
    return np.inf, np.nan, np.nan, 0


@njit(inline="always", cache=True)
def _in_goal(goals, i, g, x, y):
    return goals[i, g, 0] <= x <= goals[i, g, 1] and goals[i, g, 2] <= y <= goals[i, g, 3]


@njit(cache=True)
def write_obs(obs, vm, hm, goals, i, px, py, h):
    """obs[i] = [d_-7 .. d_7, t_-7 .. t_7] for the agent at (px, py) with heading h."""
    # the 3 goal rectangles in registers: the containment test runs for every ray
    a0, a1, a2, a3 = goals[i, 0, 0], goals[i, 0, 1], goals[i, 0, 2], goals[i, 0, 3]
    b0, b1, b2, b3 = goals[i, 1, 0], goals[i, 1, 1], goals[i, 1, 2], goals[i, 1, 3]
    c0, c1, c2, c3 = goals[i, 2, 0], goals[i, 2, 1], goals[i, 2, 2], goals[i, 2, 3]
    for j in range(NUM_RAYS):
        d, hx, hy, kind = cast(vm, hm, px, py, TAN[h, j], COT[h, j], BACK_X[h, j], BACK_Y[h, j])
        if (
            (a0 <= hx <= a1 and a2 <= hy <= a3)
            or (b0 <= hx <= b1 and b2 <= hy <= b3)
            or (c0 <= hx <= c1 and c2 <= hy <= c3)
        ):
            kind = 2
        obs[i, j] = d
        obs[i, NUM_RAYS + j] = kind


# -- tasks ----------------------------------------------------------------------------------------
@njit(inline="always", cache=True)
def _neighbour(cur, pick):
    """The pick-th in-bounds 4-neighbour of cell cur, in the order +x, -x, +y, -y."""
    cx, cy = cur // 3, cur % 3
    for d in range(4):
        if d == 0 and cx < 2:
            nxt = cur + 3
        elif d == 1 and cx > 0:
            nxt = cur - 3
        elif d == 2 and cy < 2:
            nxt = cur + 1
        elif d == 3 and cy > 0:
            nxt = cur - 1
        else:
            continue
        if pick == 0:
            return nxt
        pick -= 1
    return -1


@njit(inline="always", cache=True)
def _write_strip(V, H, goals, i, g, idx):
    """goals[i, g] = the idx-th candidate strip (x0, x1, y0, y1) of slot i's interior walls."""
    s = 0
    for c in range(1, 3):
        for r in range(3):
            if V[i, c, r]:
                if idx - s < 2:
                    lo = c if idx == s else c - GOAL_DEPTH
                    goals[i, g, 0], goals[i, g, 1] = lo, lo + GOAL_DEPTH if idx == s else c
                    goals[i, g, 2], goals[i, g, 3] = r, r + 1
                    return
                s += 2
    for r in range(3):
        for c in range(1, 3):
            if H[i, r, c]:
                if idx - s < 2:
                    lo = c if idx == s else c - GOAL_DEPTH
                    goals[i, g, 0], goals[i, g, 1] = r, r + 1
                    goals[i, g, 2], goals[i, g, 3] = lo, lo + GOAL_DEPTH if idx == s else c
                    return
                s += 2


@njit(inline="always", cache=True)
def sample_task(V, H, goals, values, i, states, p_reward, reward_value, penalty_value):
    """Slot i gets a fresh Aldous-Broder maze and 3 goal strips (draw order: module docstring)."""
    V[i, :, :] = True
    H[i, :, :] = True
    cur = randint(states, i, 9)
    visited = np.int64(1) << cur
    count = 1
    while count < 9:
        cx, cy = cur // 3, cur % 3
        m = (cx < 2) + (cx > 0) + (cy < 2) + (cy > 0)
        nxt = _neighbour(cur, randint(states, i, m))
        if not (visited >> nxt) & 1:
            nx, ny = nxt // 3, nxt % 3
            if nx != cx:
                V[i, max(cx, nx), cy] = False
            else:
                H[i, cx, max(cy, ny)] = False
            visited |= np.int64(1) << nxt
            count += 1
        cur = nxt
    # partial Fisher-Yates over the 8 strips; the permutation is packed 4 bits per entry
    order = np.int64(0x76543210)
    for g in range(goals.shape[1]):
        r = g + randint(states, i, 8 - g)
        a = (order >> (4 * g)) & 15
        b = (order >> (4 * r)) & 15
        order &= ~((np.int64(15) << (4 * g)) | (np.int64(15) << (4 * r)))
        order |= (b << (4 * g)) | (a << (4 * r))
        _write_strip(V, H, goals, i, g, b)
    for g in range(goals.shape[1]):
        values[i, g] = reward_value if uniform(states, i) < p_reward else penalty_value


@njit(cache=True)
def sample_tasks(V, H, goals, values, states, p_reward, reward_value, penalty_value):
    for i in range(V.shape[0]):
        sample_task(V, H, goals, values, i, states, p_reward, reward_value, penalty_value)


@njit(inline="always", cache=True)
def _copy_task(V, H, goals, values, i, V2, H2, goals2, values2):
    V[i, :, :] = V2[i]
    H[i, :, :] = H2[i]
    goals[i, :, :] = goals2[i]
    values[i, :] = values2[i]


@njit(inline="always", cache=True)
def _start_episode(obs, V, H, goals, i, px, py, heading, touched, elapsed, ret):
    vm, hm = wall_masks(V, H, i)
    px[i] = START_X
    py[i] = START_Y
    heading[i] = 0
    touched[i] = False
    elapsed[i] = 0
    ret[i] = 0.0
    write_obs(obs, vm, hm, goals, i, START_X, START_Y, 0)


@njit(cache=True)
def install_tasks(
    V,
    H,
    goals,
    values,
    use_given,
    V2,
    H2,
    goals2,
    values2,
    states,
    p_reward,
    reward_value,
    penalty_value,
    obs,
    px,
    py,
    heading,
    touched,
    elapsed,
    ret,
):
    """Meta-reset: slot i takes the given task where use_given[i], else samples one; then its
    first episode starts."""
    for i in range(V.shape[0]):
        if use_given[i]:
            _copy_task(V, H, goals, values, i, V2, H2, goals2, values2)
        else:
            sample_task(V, H, goals, values, i, states, p_reward, reward_value, penalty_value)
        _start_episode(obs, V, H, goals, i, px, py, heading, touched, elapsed, ret)


# -- step -----------------------------------------------------------------------------------------
@njit(cache=True)
def first_bad_action(actions):
    """-1, or the first slot whose action is not 0, 1 or 2."""
    for i in range(actions.shape[0]):
        if actions[i] < 0 or actions[i] > 2:
            return i
    return -1


# One definition of a slot's step, shared by the serial and the threaded kernel: a slot touches
# only its own rows (and its own RNG state), so slots can run in any order or at once.
# `draw` = (p_reward, reward_value, penalty_value): Python passes a call of more than 30
# arguments as one tuple, which numba cannot inline.
@njit(inline="always", cache=True)
def _step_slot(
    i,
    actions,
    V,
    H,
    goals,
    values,
    pinned,
    V2,
    H2,
    goals2,
    values2,
    states,
    draw,
    episode_length,
    episodes_per_trial,
    px,
    py,
    heading,
    touched,
    elapsed,
    ret,
    episode,
    obs,
    final_obs,
    rew,
    episode_return,
    terminated,
    truncated,
    trial_done,
):
    a = actions[i]
    h = heading[i]
    x, y = px[i], py[i]
    vm, hm = wall_masks(V, H, i)
    if a == 0:
        d, hx, hy, _ = cast(
            vm,
            hm,
            x,
            y,
            TAN[h, NUM_RAYS],
            COT[h, NUM_RAYS],
            BACK_X[h, NUM_RAYS],
            BACK_Y[h, NUM_RAYS],
        )
        if d > STEP + SNAP:
            x = x + STEP * COS[h]
            y = y + STEP * SIN[h]
        else:
            x = hx - SNAP * COS[h]
            y = hy - SNAP * SIN[h]
        px[i], py[i] = x, y
    elif a == 1:
        h = (h + NUM_HEADINGS - 1) % NUM_HEADINGS
        heading[i] = h
    else:
        h = (h + 1) % NUM_HEADINGS
        heading[i] = h
    # goals hold closed rectangles; overlapping goals pay their mean; only the first contact
    # of an episode pays (even a bad goal or a zero-mean overlap uses it up)
    total = 0.0
    inside = 0
    for g in range(goals.shape[1]):
        if _in_goal(goals, i, g, x, y):
            total += values[i, g]
            inside += 1
    r = 0.0
    if inside > 0:
        if not touched[i]:
            r = total / inside
        touched[i] = True
    ret[i] += r
    rew[i] = r
    episode_return[i] = ret[i]
    write_obs(obs, vm, hm, goals, i, x, y, h)
    terminated[i] = False
    t = elapsed[i] + 1
    if t < episode_length:
        elapsed[i] = t
        truncated[i] = False
        trial_done[i] = False
        return
    # the episode hit its fixed length: same-step autoreset from the task's start state
    truncated[i] = True
    final_obs[i, :] = obs[i, :]
    e = episode[i] + 1
    if e >= episodes_per_trial:
        e = 0
        trial_done[i] = True
        if pinned[i]:
            _copy_task(V, H, goals, values, i, V2, H2, goals2, values2)
        else:
            sample_task(V, H, goals, values, i, states, draw[0], draw[1], draw[2])
    else:
        trial_done[i] = False
    episode[i] = e
    _start_episode(obs, V, H, goals, i, px, py, heading, touched, elapsed, ret)


@njit(cache=True)
def step(
    actions,
    V,
    H,
    goals,
    values,
    pinned,
    V2,
    H2,
    goals2,
    values2,
    states,
    p_reward,
    reward_value,
    penalty_value,
    episode_length,
    episodes_per_trial,
    px,
    py,
    heading,
    touched,
    elapsed,
    ret,
    episode,
    obs,
    final_obs,
    rew,
    episode_return,
    terminated,
    truncated,
    trial_done,
):
    """One step in every slot (actions already checked by `first_bad_action`)."""
    for i in range(actions.shape[0]):
        _step_slot(
            i,
            actions,
            V,
            H,
            goals,
            values,
            pinned,
            V2,
            H2,
            goals2,
            values2,
            states,
            (p_reward, reward_value, penalty_value),
            episode_length,
            episodes_per_trial,
            px,
            py,
            heading,
            touched,
            elapsed,
            ret,
            episode,
            obs,
            final_obs,
            rew,
            episode_return,
            terminated,
            truncated,
            trial_done,
        )


@njit(parallel=True, cache=True)
def step_parallel(
    actions,
    V,
    H,
    goals,
    values,
    pinned,
    V2,
    H2,
    goals2,
    values2,
    states,
    p_reward,
    reward_value,
    penalty_value,
    episode_length,
    episodes_per_trial,
    px,
    py,
    heading,
    touched,
    elapsed,
    ret,
    episode,
    obs,
    final_obs,
    rew,
    episode_return,
    terminated,
    truncated,
    trial_done,
):
    """`step` with the slots split across numba's threads (numba.set_num_threads): the same
    per-slot code, so the results are bit-identical to `step` whatever the thread count."""
    for i in prange(actions.shape[0]):
        _step_slot(
            i,
            actions,
            V,
            H,
            goals,
            values,
            pinned,
            V2,
            H2,
            goals2,
            values2,
            states,
            (p_reward, reward_value, penalty_value),
            episode_length,
            episodes_per_trial,
            px,
            py,
            heading,
            touched,
            elapsed,
            ret,
            episode,
            obs,
            final_obs,
            rew,
            episode_return,
            terminated,
            truncated,
            trial_done,
        )
