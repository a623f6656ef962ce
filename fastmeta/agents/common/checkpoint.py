"""Checkpoint helpers for exact resume: a native env's whole simulation state, and atomic writes.

The env's state is what its `get_state()` returns (docs/env_contract.md), stored as a plain dict
{"env", "params", "arrays", "scalars"} of strings, numpy arrays and scalars, so a checkpoint holds
no fastmeta class and loads without importing one. A checkpoint is written to a temporary file and
renamed over the old one, so a run killed while saving still leaves the previous checkpoint intact;
the checkpoint it replaces is kept beside it as `checkpoint.prev.pt`, and `load_checkpoint` falls
back to that one (saying so) when the newest file is damaged.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import torch

from fastmeta.envs.base import EnvState

CHECKPOINT = "checkpoint.pt"
PREVIOUS = "checkpoint.prev.pt"


class CheckpointError(RuntimeError):
    pass


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


def atomic_save(obj, path: Path, keep_previous: bool = True) -> None:
    """Write `obj` to `path` through a temporary file and a rename; the file it replaces becomes
    `<stem>.prev<suffix>` beside it (when `keep_previous`)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    if keep_previous and path.exists():
        os.replace(path, previous_path(path))
    os.replace(tmp, path)


def previous_path(path: Path) -> Path:
    path = Path(path)
    return path.with_name(f"{path.stem}.prev{path.suffix}")


def load_checkpoint(path: Path, map_location="cpu") -> dict:
    """The checkpoint at `path`; if that file is damaged (truncated, corrupted), the previous one
    kept beside it, with a warning naming both. Raises CheckpointError naming the files when no
    intact checkpoint is left."""
    path = Path(path)
    errors = []
    for candidate in (path, previous_path(path)):
        if not candidate.exists():
            errors.append(f"{candidate}: missing")
            continue
        try:
            state = torch.load(candidate, map_location=map_location, weights_only=False)
        except Exception as e:  # torch raises RuntimeError, EOFError, UnpicklingError, ...
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            errors.append(f"{candidate} is damaged ({msg})")
            continue
        if candidate != path:
            print(
                f"warning: {errors[0]}; resuming from the previous checkpoint {candidate}",
                file=sys.stderr,
            )
        return state
    raise CheckpointError("no intact checkpoint to resume from: " + "; ".join(errors))
