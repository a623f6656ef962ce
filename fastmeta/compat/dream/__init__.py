"""Drop-in for the original DREAM env code: same classes, tuples, wrappers and RNG draws.

Old training code switches by changing its env imports, e.g.
`from fastmeta.compat.dream import city, cooking, grid, meta_exploration, wrappers`.
"""
from fastmeta.compat.dream import city, cooking, grid, meta_exploration, wrappers
from fastmeta.compat.dream.city import CityGridEnv, DistractionGridEnv, MapGridEnv
from fastmeta.compat.dream.cooking import CookingGridEnv
from fastmeta.compat.dream.grid import Action, GridEnv
from fastmeta.compat.dream.meta_exploration import (InstructionState, InstructionWrapper,
                                                    MetaExplorationState)
from fastmeta.compat.dream.wrappers import MultiEpisodeWrapper

__all__ = ["Action", "GridEnv", "CityGridEnv", "DistractionGridEnv", "MapGridEnv", "CookingGridEnv",
           "InstructionState", "InstructionWrapper", "MetaExplorationState", "MultiEpisodeWrapper",
           "city", "cooking", "grid", "meta_exploration", "wrappers"]
