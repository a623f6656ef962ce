"""Names of every fastmeta env, the class behind each, and their Gymnasium ids.

Envs are imported lazily, so `import fastmeta` stays cheap and compiles nothing.
To add an env: one `register(...)` line below and one module under fastmeta/envs/.
"""
from __future__ import annotations

import difflib
import importlib
import inspect
from dataclasses import dataclass, field


@dataclass(frozen=True)
class EnvSpec:
    name: str                    # fastmeta's canonical name (DREAM / First-Explore spelling)
    entry_point: str             # "module:Class" of the native batched env
    gym_id: str | None = None    # Gymnasium id, e.g. "fastmeta/DistractionBus-v0"
    aliases: tuple = ()
    kwargs: dict = field(default_factory=dict)

    def load(self):
        module, cls = self.entry_point.split(":")
        return getattr(importlib.import_module(module), cls)


ENVS: dict[str, EnvSpec] = {}
_ALIASES: dict[str, str] = {}


def register(spec: EnvSpec) -> None:
    ENVS[spec.name] = spec
    for alias in (spec.name, *spec.aliases):
        _ALIASES[alias.lower()] = spec.name
    if spec.gym_id:
        _ALIASES[spec.gym_id.lower()] = spec.name
        _ALIASES[spec.gym_id.split("/", 1)[-1].lower()] = spec.name


def resolve(name: str) -> EnvSpec:
    if not isinstance(name, str):
        raise TypeError(f"env name must be a string, got {type(name).__name__}")
    key = _ALIASES.get(name.lower())
    if key is None:
        close = difflib.get_close_matches(name.lower(), list(_ALIASES), n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(f"unknown env {name!r}.{hint} Known envs: {', '.join(sorted(ENVS))}")
    return ENVS[key]


def check_params(cls, params: dict, what: str) -> None:
    """Raise ValueError if `params` has keys that `cls.__init__` does not accept."""
    sig = inspect.signature(cls.__init__)
    accepted = [p for p in sig.parameters if p not in ("self", "num_envs", "seed")]
    unknown = [k for k in params if k not in accepted]
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for {what}; "
            f"accepted: {', '.join(accepted) or 'none'}")


def list_envs() -> list[str]:
    return sorted(ENVS)


_GRID = "fastmeta.envs"
register(EnvSpec("vanilla", f"{_GRID}.vanilla_bus:VanillaBus", "fastmeta/VanillaBus-v0", ("VanillaBus", "city")))
register(EnvSpec("distraction", f"{_GRID}.distraction_bus:DistractionBus", "fastmeta/DistractionBus-v0", ("DistractionBus",)))
register(EnvSpec("map", f"{_GRID}.map_bus:MapBus", "fastmeta/MapBus-v0", ("MapBus",)))
register(EnvSpec("cooking", f"{_GRID}.cooking:Cooking", "fastmeta/Cooking-v0", ("Cooking",)))
register(EnvSpec("FixedArmBandit", "fastmeta.envs.fixed_arm_bandit:FixedArmBandit", "fastmeta/FixedArmBandit-v0", ("MeanBandit",)))
register(EnvSpec("GaussianBandit", "fastmeta.envs.gaussian_bandit:GaussianBandit", "fastmeta/GaussianBandit-v0"))
register(EnvSpec("DarkTreasureRoom", "fastmeta.envs.dark_treasure_room:DarkTreasureRoom", "fastmeta/DarkTreasureRoom-v0", ("TreasureRoom",)))
register(EnvSpec("miniworld_sign", "fastmeta.envs.sign:Sign", "fastmeta/Sign-v0", ("Sign", "MiniWorldSign")))
register(EnvSpec("RayMaze", "fastmeta.envs.ray_maze:RayMaze", "fastmeta/RayMaze-v0", ("TinyWorld", "HardWorld")))
