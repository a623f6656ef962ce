"""Plain-Python reference of First-Explore's bandits, one slot, from spec first_explore.md §1.1.

`MeanBandit` (FixedArmBandit): arm 0 pays exactly `minval`, noiselessly; arms 1.. have means
iid N(0, 1) per task and pay mean + noise * N(0, 1). `Bandit` (GaussianBandit): every arm random.
Every pull is an episode; a lifetime is `episodes_per_lifetime` pulls, then a new task.
Everything is float32 as in the original. Draws come from fastmeta's documented slot stream.
"""

import numpy as np

from fastmeta.reference.first_explore_rng import Stream, initial_state


class BanditRef:
    def __init__(
        self,
        seed,
        slot,
        fixed_arm=True,
        minval=0.5,
        noise=0.5,
        num_arms=10,
        episodes_per_lifetime=100,
        task=None,
        pinned=None,
    ):
        self.rng = Stream(initial_state(seed, slot))
        self.fixed_arm, self.minval, self.noise = fixed_arm, np.float32(minval), noise
        self.num_arms, self.lifetime = num_arms, episodes_per_lifetime
        self.pinned = pinned
        self.meta_reset(task)

    def meta_reset(self, task=None):
        if task is not None:
            self.means = [np.float32(m) for m in task]
        else:
            self.means = []
            for a in range(self.num_arms):
                if a == 0 and self.fixed_arm:
                    self.means.append(self.minval)
                else:
                    self.means.append(np.float32(self.rng.normal()))
        self.episode = 0

    def step(self, a):
        """Returns (reward, terminated, truncated, lifetime_done)."""
        z = self.rng.normal()  # drawn for every pull: pull t's noise depends only on t
        if self.fixed_arm and a == 0:
            r = self.means[0]
        else:
            r = np.float32(float(self.means[a]) + self.noise * z)
        self.episode += 1
        done = self.episode >= self.lifetime
        if done:
            self.meta_reset(self.pinned)
        return r, True, False, done
