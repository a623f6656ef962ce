"""DREAM's distracting bus grid (the original's DistractionGridEnv; dream.md §1.3).

The vanilla bus grid plus four useless buses on the start's diagonal neighbours, riding to the
middles of the four edges in one of 24 permutations. env id `e = p + 24 q` (p: main buses,
q: useless buses), 576 ids. Train split: every 11th id from 0 (53 ids); test: the other 523.
Observation and instruction as the vanilla grid.
"""

import numpy as np

from fastmeta.envs.grid_env import KIND_BUS
from fastmeta.envs.vanilla_bus import DESTINATIONS, PERMUTATIONS, SOURCES, VanillaBus, bus_pairs

USELESS_SOURCES = [(5, 5), (3, 3), (3, 5), (5, 3)]
USELESS_DESTINATIONS = [(0, 4), (4, 0), (8, 4), (4, 8)]


class DistractionBus(VanillaBus):
    name = "distraction"
    num_tasks = 576
    _kind = KIND_BUS

    @classmethod
    def objects(cls, env_id):
        p, q = env_id % 24, env_id // 24
        return bus_pairs(SOURCES, DESTINATIONS, PERMUTATIONS[p]) + bus_pairs(
            USELESS_SOURCES, USELESS_DESTINATIONS, PERMUTATIONS[q]
        )

    @classmethod
    def train_ids(cls):
        return np.arange(0, 576, 11, dtype=np.int64)

    @classmethod
    def test_ids(cls):
        return np.setdiff1d(cls.all_ids(), cls.train_ids())  # ascending
