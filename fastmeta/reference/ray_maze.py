"""Plain-Python reference of the Ray Maze (First-Explore's TinyWorld), from first_explore.md §1.3.

One maze, one agent, lists and `math`: the yardstick the numba kernel is tested against. Task
draws follow the order fastmeta documents in fastmeta/kernels/ray_maze.py, from the same
SplitMix64 slot stream, so a parity test can compare mazes, goals and trajectories exactly.
Nothing here imports the rest of fastmeta.
"""

import math

from fastmeta.reference.first_explore_rng import Stream, initial_state

E = 0.05  # edge thickness: hit points sit this far in front of the wall line
STEP = 0.5
SNAP = 0.1
EP_LEN = 20
SIDE_RAYS = 7
GOAL_DEPTH = 0.3
RAY_OFFSETS = [
    math.atan((j / SIDE_RAYS) * math.tan(math.pi / 3)) for j in range(-SIDE_RAYS, SIDE_RAYS + 1)
]


def outer_walls():
    """V[i][j] (line x=i, y in [j, j+1]) and H[i][j] (line y=j, x in [i, i+1]), all walls up."""
    V = [[True] * 3 for _ in range(4)]
    H = [[True] * 4 for _ in range(3)]
    return V, H


def generate_maze(rng):
    """Aldous-Broder on the 3x3 cells; cell c is (c // 3, c % 3); neighbours tried in the order
    +x, -x, +y, -y and one in-bounds neighbour picked by randint."""
    V, H = outer_walls()
    cur = rng.randint(9)
    visited = {cur}
    while len(visited) < 9:
        cx, cy = divmod(cur, 3)
        options = []
        if cx < 2:
            options.append((cx + 1, cy))
        if cx > 0:
            options.append((cx - 1, cy))
        if cy < 2:
            options.append((cx, cy + 1))
        if cy > 0:
            options.append((cx, cy - 1))
        nx, ny = options[rng.randint(len(options))]
        nxt = nx * 3 + ny
        if nxt not in visited:
            if nx != cx:
                V[max(cx, nx)][cy] = False
            else:
                H[cx][max(cy, ny)] = False
            visited.add(nxt)
        cur = nxt
    return V, H


def goal_strips(V, H):
    """The 8 candidate strips (x0, x1, y0, y1) of the interior walls that exist: vertical walls
    first, then horizontal, each in index order; for each wall the + side then the - side."""
    strips = []
    for c in (1, 2):
        for r in range(3):
            if V[c][r]:
                strips.append((c, c + GOAL_DEPTH, r, r + 1))
                strips.append((c - GOAL_DEPTH, c, r, r + 1))
    for r in range(3):
        for c in (1, 2):
            if H[r][c]:
                strips.append((r, r + 1, c, c + GOAL_DEPTH))
                strips.append((r, r + 1, c - GOAL_DEPTH, c))
    return strips


def sample_task(rng, p_reward=0.3, reward_value=1.0, penalty_value=-1.0):
    V, H = generate_maze(rng)
    strips = goal_strips(V, H)
    order = list(range(len(strips)))
    for s in range(3):  # partial Fisher-Yates: 3 distinct strips
        r = s + rng.randint(len(strips) - s)
        order[s], order[r] = order[r], order[s]
    goals = [strips[order[s]] for s in range(3)]
    values = [reward_value if rng.uniform() < p_reward else penalty_value for _ in range(3)]
    return V, H, goals, values


def _wrap_clamp(idx, size):
    # jnp indexing: a negative index wraps once, then out-of-range indices clamp
    if idx < 0:
        idx += size
    return min(max(idx, 0), size - 1)


def _finite(v):
    return math.isfinite(v) and abs(v) < 1e9


def cast(V, H, px, py, phi, gating="spec"):
    """(distance, hit x, hit y, type) of the ray from (px, py) at angle phi in [0, 2pi).

    `gating` varies the index checks the spec says cannot matter (tests check that claim):
    "spec" as §1.3 reads; "full" gates every corner-rule index by its range; "mirror" makes the
    y-family the exact mirror of the x-family (its corner clause not gated by round(y_k)).
    """
    tn = math.tan(phi)
    ct = math.inf if tn == 0.0 else 1.0 / tn
    best_x = None
    if math.pi / 2 < phi < 3 * math.pi / 2:
        delta = (px - E) % 1.0
        cands = [(px - delta - k, py - tn * (delta + k)) for k in range(4)]
    else:
        delta = (-E - px) % 1.0
        cands = [(px + delta + k, py + tn * (delta + k)) for k in range(4)]
    for xk, yk in cands:
        if not (_finite(xk) and _finite(yk)):
            continue
        i, jlo, jhi, jr = round(xk), math.floor(yk - E), math.floor(yk + E), round(yk)
        ok = 0 <= i <= 3 and ((0 <= jlo <= 2 and V[i][jlo]) or (0 <= jhi <= 2 and V[i][jhi]))
        if not ok and 0 <= jr <= 3 and abs(yk - jr) < E and (gating != "full" or 0 <= i <= 3):
            ok = H[_wrap_clamp(i - 1, 3)][jr] or H[_wrap_clamp(i, 3)][jr]
        if ok:
            best_x = (math.sqrt((xk - px) ** 2 + (yk - py) ** 2), xk, yk)
            break
    best_y = None
    if phi > math.pi:
        delta = (py - E) % 1.0
        cands = [(px - ct * (delta + k), py - delta - k) for k in range(4)]
    else:
        delta = (-E - py) % 1.0
        cands = [(px + ct * (delta + k), py + delta + k) for k in range(4)]
    for xk, yk in cands:
        if not (_finite(xk) and _finite(yk)):
            continue
        j, ilo, ihi, ir = round(yk), math.floor(xk - E), math.floor(xk + E), round(xk)
        if gating != "mirror" and not 0 <= j <= 3:
            continue
        ok = 0 <= j <= 3 and ((0 <= ilo <= 2 and H[ilo][j]) or (0 <= ihi <= 2 and H[ihi][j]))
        if not ok and 0 <= ir <= 3 and abs(xk - ir) < E:
            ok = V[ir][_wrap_clamp(j - 1, 3)] or V[ir][_wrap_clamp(j, 3)]
        if ok:
            best_y = (math.sqrt((xk - px) ** 2 + (yk - py) ** 2), xk, yk)
            break
    if best_x is not None and (best_y is None or best_x[0] < best_y[0]):
        return best_x[0], best_x[1], best_x[2], 1
    if best_y is not None:
        return best_y[0], best_y[1], best_y[2], 0
    return math.inf, math.nan, math.nan, 0


def in_goal(goal, x, y):
    x0, x1, y0, y1 = goal
    return x0 <= x <= x1 and y0 <= y <= y1


class RayMazeRef:
    """One slot of RayMaze: a lifetime of `episodes_per_lifetime` episodes per task."""

    def __init__(
        self,
        seed,
        slot,
        p_reward=0.3,
        reward_value=1.0,
        penalty_value=-1.0,
        episodes_per_lifetime=6,
        task=None,
    ):
        self.rng = Stream(initial_state(seed, slot))
        self.params = (p_reward, reward_value, penalty_value)
        self.lifetime = episodes_per_lifetime
        self.pinned = None
        self.task = task if task is not None else sample_task(self.rng, *self.params)
        self.episode = 0
        self.start_episode()

    def start_episode(self):
        self.x, self.y, self.heading, self.touched, self.t, self.ret = 0.5, 0.5, 0, False, 0, 0.0

    def theta(self):
        return self.heading * (math.pi / 4)

    def obs(self):
        V, H, goals, _ = self.task
        d, t = [], []
        for a in RAY_OFFSETS:
            dist, hx, hy, kind = cast(V, H, self.x, self.y, (self.theta() + a) % (2 * math.pi))
            if any(in_goal(g, hx, hy) for g in goals):
                kind = 2
            d.append(dist)
            t.append(kind)
        return d + t

    def step(self, action):
        """-> (obs after the step, reward, episode ended, lifetime ended, obs of the next start)."""
        V, H, goals, values = self.task
        th = self.theta()
        if action == 0:
            d, hx, hy, _ = cast(V, H, self.x, self.y, th % (2 * math.pi))
            c, s = math.cos(th), math.sin(th)
            if d > STEP + SNAP:
                self.x, self.y = self.x + STEP * c, self.y + STEP * s
            else:
                self.x, self.y = hx - SNAP * c, hy - SNAP * s
        elif action == 1:
            self.heading = (self.heading - 1) % 8
        else:
            self.heading = (self.heading + 1) % 8
        inside = [v for g, v in zip(goals, values) if in_goal(g, self.x, self.y)]
        reward = 0.0
        if inside:
            if not self.touched:
                reward = sum(inside) / len(inside)
            self.touched = True
        self.ret += reward
        obs = self.obs()
        self.t += 1
        ended = self.t == EP_LEN
        lifetime_ended = False
        if ended:
            self.episode += 1
            if self.episode == self.lifetime:
                self.episode = 0
                lifetime_ended = True
                if self.pinned is not None:
                    self.task = self.pinned
                else:
                    self.task = sample_task(self.rng, *self.params)
            self.start_episode()
        return obs, reward, ended, lifetime_ended, self.obs()
