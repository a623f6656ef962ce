"""Checkpoint helpers for exact resume: a native env's whole simulation state, and atomic writes.

The env's state is what its `get_state()` returns (docs/env_contract.md), stored as a plain dict
{"env", "params", "arrays", "scalars"} of strings, numpy arrays and scalars, so a checkpoint holds
no fastmeta class and loads without importing one. A checkpoint is written to a temporary file and
renamed over the old one, so a run killed while saving still leaves the previous checkpoint intact.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import torch

from fastmeta.envs.base import EnvState

CHECKPOINT = "checkpoint.pt"


def env_state(env) -> dict:
    """The whole simulation state of native env `env` as a plain dict (see the module doc)."""
    state = env.get_state()
    return {f.name: getattr(state, f.name) for f in dataclasses.fields(state)}


def load_env_state(env, state: dict) -> None:
    """Install a state saved by `env_state` into `env` (same class and num_envs), exactly."""
    fields = {f.name for f in dataclasses.fields(EnvState)}
    if not isinstance(state, dict) or set(state) != fields:
        raise ValueError(
            f"the checkpoint's env state is not an EnvState dict with keys "
            f"{sorted(fields)} (a checkpoint written before env.get_state() "
            f"existed cannot resume)"
        )
    env.set_state(EnvState(**state))


def atomic_save(obj, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)
