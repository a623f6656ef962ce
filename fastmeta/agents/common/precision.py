"""The numeric precision a learner computes in: "fp32" (plain float32) or "bf16" (bfloat16
autocast around the forward pass, float32 weights and optimizer state)."""

from __future__ import annotations

import contextlib

import torch

PRECISIONS = ("fp32", "bf16")


def check_precision(value) -> str:
    """`value` if it names a precision; otherwise ValueError naming the allowed ones."""
    if value not in PRECISIONS:
        allowed = ", ".join(repr(p) for p in PRECISIONS)
        raise ValueError(f"unknown precision {value!r}: expected one of {allowed}")
    return value


def autocast(precision: str, device_type: str):
    """A context manager that runs its body in `precision` on `device_type` ("cpu", "cuda"):
    nothing changes for "fp32"; "bf16" autocasts eligible ops (matmuls, convolutions, LSTMs) to
    bfloat16."""
    if check_precision(precision) == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_type, dtype=torch.bfloat16)
