"""DREAM's baselines (E-RL², IMPORT, VariBAD) on the same engine as the DREAM learner: N trials
act together on fastmeta's batched envs; replay, DQN machinery and recurrent kernels are shared.

Entry points load on first use, so `python -m fastmeta.agents.baselines.train` runs cleanly."""

import importlib

_EXPORTS = {
    "ConfigError": "config",
    "resolve": "config",
    "main_rl2": "train",
    "main_import": "train",
    "main_varibad": "train",
}
__all__ = list(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
