"""Drop-in for the original DREAM env code: same classes, tuples, wrappers and RNG draws.

Old training code switches by changing its env imports, e.g.
`from fastmeta.compat.dream import city, cooking, grid, meta_exploration, wrappers`.
"""

from fastmeta.compat.dream import city, cooking, grid, meta_exploration, wrappers
from fastmeta.compat.dream.city import CityGridEnv, DistractionGridEnv, MapGridEnv
from fastmeta.compat.dream.cooking import CookingGridEnv
from fastmeta.compat.dream.grid import Action, GridEnv
from fastmeta.compat.dream.meta_exploration import (
    InstructionState,
    InstructionWrapper,
    MetaExplorationState,
)
from fastmeta.compat.dream.wrappers import MultiEpisodeWrapper


def __getattr__(name):
    # the sign world needs the renderer's system libraries; load it only when asked for
    if name in ("MiniWorldSign", "sign"):
        import importlib

        sign = importlib.import_module(f"{__name__}.sign")
        return sign if name == "sign" else sign.MiniWorldSign
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MiniWorldSign",
    "sign",
    "Action",
    "GridEnv",
    "CityGridEnv",
    "DistractionGridEnv",
    "MapGridEnv",
    "CookingGridEnv",
    "InstructionState",
    "InstructionWrapper",
    "MetaExplorationState",
    "MultiEpisodeWrapper",
    "city",
    "cooking",
    "grid",
    "meta_exploration",
    "wrappers",
]
