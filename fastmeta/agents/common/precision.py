"""The numeric precision a learner computes in: "fp32" (plain float32) or "bf16" (bfloat16
autocast around the forward pass, float32 weights and optimizer state)."""

from __future__ import annotations

import contextlib
import functools

import torch

PRECISIONS = ("fp32", "bf16")


def check_precision(value) -> str:
    """`value` if it names a precision; otherwise ValueError naming the allowed ones."""
    if value not in PRECISIONS:
        allowed = ", ".join(repr(p) for p in PRECISIONS)
        raise ValueError(f"unknown precision {value!r}: expected one of {allowed}")
    return value


def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX-512 BF16 or AMX), from /proc/cpuinfo
    (False where that cannot be read)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def autocast(precision: str, device_type: str):
    """A context manager that runs its body in `precision` on `device_type` ("cpu", "cuda"):
    nothing changes for "fp32"; "bf16" autocasts eligible ops (matmuls, convolutions, LSTMs) to
    bfloat16. On a CPU without bf16 hardware oneDNN has no bf16 LSTM kernel and refuses it, so
    there the body runs with oneDNN off (torch's own kernels, which emulate bf16: slow, but the
    same numbers a bf16 machine's curve would show)."""
    if check_precision(precision) == "fp32":
        return contextlib.nullcontext()
    return _bf16(device_type)


@contextlib.contextmanager
def _bf16(device_type: str):
    with contextlib.ExitStack() as stack:
        stack.enter_context(torch.autocast(device_type, dtype=torch.bfloat16))
        if device_type == "cpu" and not cpu_has_bf16():
            stack.enter_context(_onednn_off())
        yield


@contextlib.contextmanager
def _onednn_off():
    before = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = before


def in_precision(method):
    """Run a learner's gradient-step method under `autocast(self.precision, self.device.type)`
    (the optimizer's own backward and step leave it: see `outside_autocast`)."""

    @functools.wraps(method)
    def wrapped(self, *args, **kwargs):
        with autocast(self.precision, self.device.type):
            return method(self, *args, **kwargs)

    return wrapped


def outside_autocast(device_type: str):
    """Backward passes and optimizer steps run with autocast off, as torch recommends."""
    return torch.autocast(device_type, enabled=False)
