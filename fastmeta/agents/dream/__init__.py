"""DREAM (Liu et al., ICML 2021), vectorized: N meta-episodes act together on fastmeta's
batched envs; replay and recurrent unrolls stay on the learner's device.

Python API: `train(resolve("fast", environment="map"), "experiments/map")`; command line:
`fastmeta train dream --env map --preset fast`.
"""

from fastmeta.agents.dream.config import ConfigError, resolve

__all__ = ["ConfigError", "resolve", "main", "train"]


def __getattr__(name):
    # Imported on use so `python -m fastmeta.agents.dream.train` does not import itself twice.
    if name in ("main", "train"):
        import importlib

        return getattr(importlib.import_module(f"{__name__}.train"), name)
    raise AttributeError(name)
