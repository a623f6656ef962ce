"""DREAM's vanilla bus grid (the original's CityGridEnv; dream.md §1.2).

9×9 grid, start (4, 4), 20-step episodes, 9 actions. Four buses one step from the start ride to the
four corners-adjacent destinations in one of 24 permutations (the env id); every bus is
bidirectional. Instruction: reach a goal corner; best exploitation return 0.8.

Observation `[x, y, status]` (int64, category counts 9, 9, 4); instruction `[goal_x, goal_y]`
(counts 9, 9); env ids 0..23, train split = test split = all 24.
"""

import itertools

from fastmeta.envs.grid_env import BUS, KIND_BUS, GridEnv

SOURCES = [(4, 5), (5, 4), (3, 4), (4, 3)]  # blue, magenta, yellow, cyan
DESTINATIONS = [(0, 1), (0, 7), (8, 1), (8, 7)]
PERMUTATIONS = list(itertools.permutations(range(4)))  # lexicographic, as the original


def bus_pairs(sources, destinations, perm):
    """Bus objects for one permutation: source k rides to destination perm[k], and back."""
    objs = []
    for k, src in enumerate(sources):
        dst = destinations[perm[k]]
        objs.append((BUS, *src, dst))
        objs.append((BUS, *dst, src))
    return objs


class VanillaBus(GridEnv):
    name = "vanilla"
    width = height = 9
    start = (4, 4)
    obs_highs = (9, 9, 4)
    instruction_highs = (9, 9)
    num_tasks = 24
    _kind = KIND_BUS

    @classmethod
    def objects(cls, env_id):
        return bus_pairs(SOURCES, DESTINATIONS, PERMUTATIONS[env_id % 24])
