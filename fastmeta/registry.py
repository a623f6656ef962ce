"""Names of every fastmeta env, the class behind each, its Gymnasium id and views, and `make`.

Envs and views are imported lazily, so `import fastmeta` stays cheap and compiles nothing.
To add an env: one `register(...)` line below and one module under fastmeta/envs/; its Gymnasium
and envpool views come from the shared view family (fastmeta/views/).
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from dataclasses import dataclass, field

#: the Gymnasium view family every env is seen through (fastmeta/views/gymnasium_views.py)
VECTOR_VIEW = "fastmeta.views.gymnasium_views:MetaVectorEnv"
SINGLE_VIEW = "fastmeta.views.gymnasium_views:MetaEnv"


def _load(entry_point: str):
    module, name = entry_point.split(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class EnvSpec:
    name: str  # fastmeta's canonical name (DREAM / First-Explore spelling)
    entry_point: str  # "module:Class" of the native batched env
    gym_id: str | None = None  # Gymnasium id, e.g. "fastmeta/DistractionBus-v0"
    aliases: tuple = ()
    kwargs: dict = field(default_factory=dict)
    #: defaults of the Gymnasium views' own parameters for this env
    view_kwargs: dict = field(default_factory=dict)
    vector_view: str = VECTOR_VIEW
    single_view: str = SINGLE_VIEW

    def load(self):
        return _load(self.entry_point)

    def load_vector_view(self):
        return _load(self.vector_view)

    def load_single_view(self):
        return _load(self.single_view)


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


def accepted_params(callable_) -> list:
    sig = inspect.signature(callable_)
    return [p for p in sig.parameters if p not in ("self", "env", "num_envs", "seed")]


def check_params(cls, params: dict, what: str, extra: tuple = ()) -> None:
    """Raise ValueError if `params` has keys that `cls.__init__` (or `extra`) does not accept."""
    accepted = accepted_params(cls.__init__) + list(extra)
    unknown = [k for k in params if k not in accepted]
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for {what}; "
            f"accepted: {', '.join(accepted) or 'none'}"
        )


def make(name: str, num_envs: int = 1, seed: int = 0, **params):
    """Build the native batched env `name` with `num_envs` slots (docs/env_contract.md)."""
    spec = resolve(name)
    cls = spec.load()
    check_params(cls, params, what=f"env {spec.name!r}")
    return cls(num_envs=num_envs, seed=seed, **{**spec.kwargs, **params})


def split_view_params(spec: EnvSpec, view_cls, kwargs: dict) -> tuple[dict, dict]:
    """Route keyword arguments to the native env or to the view that wraps it; unknown keys
    raise, naming both sets of accepted parameters."""
    view_keys = set(accepted_params(view_cls.__init__))
    env_kw = {k: v for k, v in kwargs.items() if k not in view_keys}
    view_kw = {**spec.view_kwargs, **{k: v for k, v in kwargs.items() if k in view_keys}}
    check_params(spec.load(), env_kw, what=f"env {spec.name!r}", extra=tuple(sorted(view_keys)))
    return env_kw, view_kw


def make_vector(name: str, num_envs: int = 1, seed: int = 0, **kwargs):
    """The Gymnasium VectorEnv of env `name` (what `gymnasium.make_vec` returns)."""
    spec = resolve(name)
    view = spec.load_vector_view()
    env_kw, view_kw = split_view_params(spec, view, kwargs)
    return view(make(spec.name, num_envs=num_envs, seed=seed, **env_kw), **view_kw)


def make_single(name: str, seed: int = 0, **kwargs):
    """The single Gymnasium Env of env `name` (what `gymnasium.make` returns)."""
    spec = resolve(name)
    view = spec.load_single_view()
    env_kw, view_kw = split_view_params(spec, view, kwargs)
    return view(make(spec.name, num_envs=1, seed=seed, **env_kw), **view_kw)


def list_envs() -> list[str]:
    return sorted(ENVS)


# as the original's baselines train and its E-RL² wrapper observes (dream.md §2.7)
_DREAM_VIEW = {"first_episode_no_optimization": True, "prev_action_reset": "episode"}
_GRID = "fastmeta.envs"
register(
    EnvSpec(
        "vanilla",
        f"{_GRID}.vanilla_bus:VanillaBus",
        "fastmeta/VanillaBus-v0",
        ("VanillaBus", "city"),
        view_kwargs=_DREAM_VIEW,
    )
)
register(
    EnvSpec(
        "distraction",
        f"{_GRID}.distraction_bus:DistractionBus",
        "fastmeta/DistractionBus-v0",
        ("DistractionBus",),
        view_kwargs=_DREAM_VIEW,
    )
)
register(
    EnvSpec(
        "map", f"{_GRID}.map_bus:MapBus", "fastmeta/MapBus-v0", ("MapBus",), view_kwargs=_DREAM_VIEW
    )
)
register(
    EnvSpec(
        "cooking",
        f"{_GRID}.cooking:Cooking",
        "fastmeta/Cooking-v0",
        ("Cooking",),
        view_kwargs=_DREAM_VIEW,
    )
)
register(
    EnvSpec(
        "FixedArmBandit",
        "fastmeta.envs.fixed_arm_bandit:FixedArmBandit",
        "fastmeta/FixedArmBandit-v0",
        ("MeanBandit",),
    )
)
register(
    EnvSpec(
        "GaussianBandit",
        "fastmeta.envs.gaussian_bandit:GaussianBandit",
        "fastmeta/GaussianBandit-v0",
    )
)
register(
    EnvSpec(
        "DarkTreasureRoom",
        "fastmeta.envs.dark_treasure_room:DarkTreasureRoom",
        "fastmeta/DarkTreasureRoom-v0",
        ("TreasureRoom",),
    )
)
register(
    EnvSpec(
        "miniworld_sign",
        "fastmeta.envs.sign:Sign",
        "fastmeta/Sign-v0",
        ("Sign", "MiniWorldSign"),
        view_kwargs=_DREAM_VIEW,
    )
)
register(
    EnvSpec(
        "RayMaze",
        "fastmeta.envs.ray_maze:RayMaze",
        "fastmeta/RayMaze-v0",
        ("TinyWorld", "HardWorld"),
    )
)
