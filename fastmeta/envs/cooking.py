"""DREAM's cooking grid (the original's CookingGridEnv; dream.md §1.5, §2.3).

3×3 grid; the agent starts on the bowl at (1, 1); drawers K0..K2 at (2, 0), (2, 1), (2, 2) hold
the base-4 digits of the env id (0..63). Instruction: a recipe `[i0, i1]` drawn from the drawers'
contents; a 4-stage reward machine pays 0.25 per stage, -0.35 for a wrong pickup or a dropped
stage, -0.1 otherwise. Observation `[x, y, status, inventory, bowl0, bowl1, bowl2]` with 4 meaning
"nothing"; counts 3, 3, 4, 5, 5, 5, 5. Test split = {10}; train = the other 63 ids.
"""

import numpy as np

from fastmeta.envs.grid_env import BOWL, DRAWER, KIND_COOKING, GridEnv

BOWL_CELL = (1, 1)
DRAWER_CELLS = [(2, 0), (2, 1), (2, 2)]
NUM_INGREDIENTS = 4
TEST_ID = 10


def drawer_contents(env_id: int) -> list:
    return [(env_id // 4**i) % 4 for i in range(3)]


class Cooking(GridEnv):
    name = "cooking"
    width = height = 3
    start = BOWL_CELL
    obs_highs = (3, 3, 4, 5, 5, 5, 5)
    instruction_highs = (5, 5)
    num_tasks = 64
    _kind = KIND_COOKING

    @classmethod
    def objects(cls, env_id):
        objs = [(BOWL, *BOWL_CELL, 0)]
        objs += [(DRAWER, x, y, c) for (x, y), c in zip(DRAWER_CELLS, drawer_contents(env_id))]
        return objs

    @classmethod
    def train_ids(cls):
        return np.array([e for e in range(64) if e != TEST_ID], dtype=np.int64)

    @classmethod
    def test_ids(cls):
        return np.array([TEST_ID], dtype=np.int64)
