"""The original `envs.city` surface: City (vanilla), Distraction and Map bus grids."""

import numpy as np

from fastmeta.compat.dream.grid import GridEnv
from fastmeta.compat.dream.meta_exploration import InstructionWrapper
from fastmeta.envs.distraction_bus import DistractionBus
from fastmeta.envs.map_bus import MapBus
from fastmeta.envs.vanilla_bus import VanillaBus

GOALS = np.array([[0, 0], [8, 8], [0, 8], [8, 0]], dtype=np.int64)


class CityInstructionWrapper(InstructionWrapper):
    """Goal-corner instructions: one `randint(4)` per draw."""

    _instruction_highs = (9, 9)

    def _draw_instructions(self):
        return GOALS[self._rng.randint(4)].copy()


class CityGridEnv(GridEnv):
    native = VanillaBus
    _instruction_wrapper = CityInstructionWrapper


class DistractionGridEnv(CityGridEnv):
    native = DistractionBus


class MapGridEnv(CityGridEnv):
    native = MapBus
