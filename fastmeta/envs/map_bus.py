"""DREAM's map grid (the original's MapGridEnv; dream.md §1.4).

The vanilla bus grid plus a map cell at (7, 3): standing on it shows `env_id + 1` in a fourth
observation component (0 elsewhere). Observation `[x, y, status, map]`, counts 9, 9, 4, 25.
"""

from fastmeta.envs.grid_env import KIND_MAP
from fastmeta.envs.vanilla_bus import VanillaBus

MAP_CELL = (7, 3)


class MapBus(VanillaBus):
    name = "map"
    obs_highs = (9, 9, 4, 25)
    _kind = KIND_MAP
