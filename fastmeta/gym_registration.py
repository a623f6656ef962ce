"""Registers every fastmeta env with Gymnasium (`gymnasium.make` / `gymnasium.make_vec`).

Each native env class names its Gymnasium views (`vector_view`, `single_view` attributes); the
entry points below build the native env and wrap it, so `make_vec` returns a real batched
VectorEnv, not a loop of single envs.
"""
import gymnasium

from fastmeta.registry import ENVS, check_params


def _split_view_params(cls, view, kwargs):
    """Route keyword arguments to the native env or to the view that wraps it."""
    import inspect
    view_keys = set(inspect.signature(view.__init__).parameters) - {"self", "env"}
    env_kw = {k: v for k, v in kwargs.items() if k not in view_keys}
    view_kw = {k: v for k, v in kwargs.items() if k in view_keys}
    return env_kw, view_kw


def make_vector(name: str, num_envs: int = 1, seed: int = 0, **kwargs):
    from fastmeta import make
    spec = ENVS[name]
    cls = spec.load()
    env_kw, view_kw = _split_view_params(cls, cls.vector_view(), kwargs)
    check_params(cls, env_kw, what=f"env {name!r}")
    return cls.vector_view()(make(name, num_envs=num_envs, seed=seed, **env_kw), **view_kw)


def make_single(name: str, seed: int = 0, **kwargs):
    from fastmeta import make
    spec = ENVS[name]
    cls = spec.load()
    env_kw, view_kw = _split_view_params(cls, cls.single_view(), kwargs)
    kwargs.pop("render_mode", None)
    check_params(cls, {k: v for k, v in env_kw.items() if k != "render_mode"}, what=f"env {name!r}")
    env_kw.pop("render_mode", None)
    return cls.single_view()(make(name, num_envs=1, seed=seed, **env_kw), **view_kw)


for _spec in ENVS.values():
    if _spec.gym_id and _spec.gym_id not in gymnasium.registry:
        gymnasium.register(
            id=_spec.gym_id,
            entry_point=f"{__name__}:make_single",
            vector_entry_point=f"{__name__}:make_vector",
            kwargs={"name": _spec.name},
            disable_env_checker=False,
        )
