"""fastmeta: exact batched simulators and fast learners for DREAM and First-Explore benchmarks."""
from fastmeta.registry import check_params, list_envs, resolve

__version__ = "0.1.0"


def make(name: str, num_envs: int = 1, seed: int = 0, **params):
    """Build the native batched env `name` with `num_envs` slots (docs/env_contract.md)."""
    spec = resolve(name)
    cls = spec.load()
    check_params(cls, params, what=f"env {spec.name!r}")
    return cls(num_envs=num_envs, seed=seed, **{**spec.kwargs, **params})


from fastmeta import gym_registration as _gym_registration  # noqa: E402  (registers ids)

__all__ = ["make", "list_envs", "__version__"]
