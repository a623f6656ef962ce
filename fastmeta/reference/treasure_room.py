"""Plain-Python reference of the Dark Treasure Room, one slot, from spec first_explore.md §1.2.

Literal to the spec: a list of treasures with per-episode `collected` flags; after each move
every uncollected treasure on the new cell is collected and its value added (float32, in
treasure order). Draws come from fastmeta's documented slot stream (x's, y's, then values).
"""

import numpy as np

from fastmeta.reference.first_explore_rng import Stream, initial_state

MOVES = {0: (0, 0), 1: (0, 1), 2: (1, 0), 3: (0, -1), 4: (-1, 0)}


class TreasureRoomRef:
    def __init__(
        self,
        seed,
        slot,
        minval=-4.0,
        maxval=2.0,
        k=8,
        roomsize=9,
        episode_length=None,
        episodes_per_lifetime=10,
        pinned=None,
    ):
        self.rng = Stream(initial_state(seed, slot))
        self.minval, self.maxval, self.k, self.room = minval, maxval, k, roomsize
        self.ep_len = roomsize if episode_length is None else episode_length
        self.lifetime = episodes_per_lifetime
        self.pinned = pinned
        self.meta_reset()

    def sample(self):
        xs = [self.rng.randint(self.room) for _ in range(self.k)]
        ys = [self.rng.randint(self.room) for _ in range(self.k)]
        top = np.nextafter(np.float32(self.maxval), np.float32(-np.inf))
        vs = [
            min(np.float32(self.minval + (self.maxval - self.minval) * self.rng.uniform()), top)
            for _ in range(self.k)
        ]
        return xs, ys, vs

    def meta_reset(self, task=None):
        if task is None:
            task = self.pinned if self.pinned is not None else self.sample()
        self.tx, self.ty, self.tv = (
            [int(a) for a in task[0]],
            [int(a) for a in task[1]],
            [np.float32(v) for v in task[2]],
        )
        self.episode = 0
        self.begin_episode()

    def begin_episode(self):
        self.x = self.y = self.room // 2
        self.collected = [False] * self.k
        self.ret = np.float32(0.0)
        self.t = 0

    def step(self, a):
        """Returns (obs, step reward, running return, truncated, final_obs, lifetime_done)."""
        dx, dy = MOVES[a]
        self.x = min(max(self.x + dx, 0), self.room - 1)
        self.y = min(max(self.y + dy, 0), self.room - 1)
        gained = np.float32(0.0)
        for j in range(self.k):
            if not self.collected[j] and (self.tx[j], self.ty[j]) == (self.x, self.y):
                gained = np.float32(gained + self.tv[j])
                self.collected[j] = True
        self.ret = np.float32(self.ret + gained)
        running = self.ret
        self.t += 1
        final = (self.x, self.y)
        truncated = self.t >= self.ep_len
        done = False
        if truncated:
            self.episode += 1
            if self.episode >= self.lifetime:
                self.meta_reset()
                done = True
            else:
                self.begin_episode()
        return (self.x, self.y), gained, running, truncated, final, done
