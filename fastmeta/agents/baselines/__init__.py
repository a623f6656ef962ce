"""DREAM's baselines (E-RL², IMPORT, VariBAD) on the same engine as the DREAM learner: N trials
act together on fastmeta's batched envs; replay, DQN machinery and recurrent kernels are shared."""
from fastmeta.agents.baselines.config import ConfigError, resolve
from fastmeta.agents.baselines.train import main_import, main_rl2, main_varibad, train

__all__ = ["ConfigError", "resolve", "main_rl2", "main_import", "main_varibad", "train"]
