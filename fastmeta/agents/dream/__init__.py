"""DREAM (Liu et al., ICML 2021), vectorized: N meta-episodes act together on fastmeta's
batched envs; replay and recurrent unrolls stay on the learner's device."""
from fastmeta.agents.dream.config import ConfigError, resolve
from fastmeta.agents.dream.train import main, train

__all__ = ["ConfigError", "resolve", "main", "train"]
