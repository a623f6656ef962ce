"""Checkpoint helpers for exact resume: a native env's whole simulation state, and atomic writes.

A checkpoint is written to a temporary file and renamed over the old one, so a run killed while
saving still leaves the previous checkpoint intact.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

CHECKPOINT = "checkpoint.pt"


def env_state(env) -> dict:
    """Every writable array and plain scalar of a native env (its whole simulation state)."""
    out = {}
    for k, v in vars(env).items():
        if isinstance(v, np.ndarray) and v.flags.writeable:
            out[k] = v.copy()
        elif isinstance(v, (bool, int, float, str)) and not k.startswith("__"):
            out[k] = v
    return out


def load_env_state(env, state: dict) -> None:
    for k, v in state.items():
        if isinstance(v, np.ndarray):
            np.copyto(getattr(env, k), v)     # in place: compiled kernels hold these buffers
        else:
            setattr(env, k, v)


def atomic_save(obj, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)
