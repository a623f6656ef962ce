"""The original `envs.cooking` surface: the cooking grid and its recipe instructions."""

import numpy as np

from fastmeta.compat.dream.grid import GridEnv
from fastmeta.compat.dream.meta_exploration import InstructionWrapper
from fastmeta.envs.cooking import Cooking, drawer_contents


class CookingInstructionWrapper(InstructionWrapper):
    """Recipes: two ingredients chosen with replacement among the drawers' contents."""

    _instruction_highs = (5, 5)

    def _draw_instructions(self):
        contents = np.array(drawer_contents(int(self.env.env_id[0])), dtype=np.int64)
        return contents[self._rng.randint(3, size=2)]


class CookingGridEnv(GridEnv):
    native = Cooking
    _integer_success = False
    _instruction_wrapper = CookingInstructionWrapper
