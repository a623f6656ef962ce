"""Moving env buffers to the learner's device.

On a CPU device a host array becomes a tensor with one copy. On CUDA, `HostToDevice` stages each
named buffer through a pinned host tensor it keeps, and issues a non-blocking copy, so the copy
overlaps with the Python work that follows; the only synchronisation per env step left is the
device-to-host transfer of the actions the env needs.
"""

from __future__ import annotations

import numpy as np
import torch


def to_device(x, device, dtype=None) -> torch.Tensor:
    """A fresh tensor on `device` holding the host array `x` (optionally cast to `dtype`)."""
    t = torch.from_numpy(np.ascontiguousarray(x)).to(device, copy=True)
    return t if dtype is None else t.to(dtype)


def check_device(device) -> torch.device:
    """`device` as a torch.device, refusing CUDA where it is not available."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"device {device!r} is not a torch device ({e})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(device)!r} requested but CUDA is not available")
    return dev


class HostToDevice:
    """Per-buffer staging of host arrays bound for one device.

    `put(name, array)` returns a device tensor holding a copy of `array`. On CUDA the array is
    first copied into a pinned host tensor kept for `name`, then sent with `non_blocking=True`;
    the tensor returned is a fresh device tensor each call, so a caller may keep it while the
    next step's copy is in flight. Elsewhere it is `to_device`."""

    def __init__(self, device):
        self.device = torch.device(device)
        self.pinned = self.device.type == "cuda"
        self._staging: dict[str, torch.Tensor] = {}
        self._done: dict[str, torch.cuda.Event] = {}

    def put(self, name: str, x, dtype=None) -> torch.Tensor:
        if not self.pinned:
            return to_device(x, self.device, dtype)
        x = np.ascontiguousarray(x)
        buf = self._staging.get(name)
        if buf is None or tuple(buf.shape) != x.shape or buf.numpy().dtype != x.dtype:
            buf = torch.empty(x.shape, dtype=torch.from_numpy(x[:0]).dtype).pin_memory()
            self._staging[name] = buf
        elif name in self._done:
            # the previous copy out of this buffer must be done before it is overwritten; the
            # step's action transfer has normally waited for it already, so this rarely blocks
            self._done[name].synchronize()
        buf.numpy()[...] = x
        t = buf.to(self.device, non_blocking=True)
        ev = self._done.setdefault(name, torch.cuda.Event())
        ev.record(torch.cuda.current_stream(self.device))
        return t if dtype is None else t.to(dtype)
