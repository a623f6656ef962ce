"""This machine's compute bound, and how close a learner's gradient step gets to it.

`cpu_features` says what the processor can do (vector and matrix extensions, bf16 in hardware,
torch's own dispatch level, a CUDA device if any); `matmul_peak` measures the GFLOP/s of a
matmul shaped like a learner's layers (many rows, 128 in, 512 out) in float32 or bfloat16, at a
chosen thread count; `count_flops` counts the FLOPs of one call of a closure and `achieved` times
it, so that a gradient step's GFLOP/s can be set against the peak in the benchmark report.

`python -m fastmeta.bench.compute` prints the lot as a markdown table, with a demo workload: a
batch-64, 20-step, 128-wide LSTM forward and backward, in fp32 and under bf16 autocast.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import platform
import time
import warnings
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from fastmeta.agents.common.precision import PRECISIONS, autocast

#: /proc/cpuinfo flag of each feature cpu_features reports
CPU_FLAGS = {
    "avx2": "avx2",
    "avx512f": "avx512f",
    "avx512_bf16": "avx512_bf16",
    "amx_bf16": "amx_bf16",
    "amx_tile": "amx_tile",
}


def _cpuinfo(path: str | Path = "/proc/cpuinfo") -> tuple[str | None, set[str]]:
    """(model name, flags) of the first processor in /proc/cpuinfo; (None, empty) without it."""
    try:
        text = Path(path).read_text()
    except OSError:
        return None, set()
    model, flags = None, set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and model is None:
            model = value.strip()
        elif key == "flags" and not flags:
            flags = set(value.split())
        if model is not None and flags:
            break
    return model, flags


def cpu_count() -> int:
    """The logical cores this process may run on (all of the machine's where that is unknown)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def cpu_features() -> dict:
    """What this machine computes with: `model` (CPU name), `logical_cores`, the booleans
    `avx2`, `avx512f`, `avx512_bf16`, `amx_bf16`, `amx_tile` (all False where /proc/cpuinfo is
    missing, e.g. off Linux), `bf16_hw` (bfloat16 dot products in hardware: AVX-512 BF16 or AMX),
    `torch_capability` (the vector level torch's CPU kernels dispatch to, None if torch does not
    say), `cuda` and `cuda_device` (the name of CUDA device 0, or None)."""
    model, flags = _cpuinfo()
    features = {
        "model": model or platform.processor() or platform.machine() or "unknown",
        "logical_cores": os.cpu_count() or 1,
    }
    features.update({name: flag in flags for name, flag in CPU_FLAGS.items()})
    features["bf16_hw"] = features["avx512_bf16"] or features["amx_bf16"]
    try:
        features["torch_capability"] = torch.backends.cpu.get_cpu_capability()
    except (AttributeError, RuntimeError):
        features["torch_capability"] = None
    features["cuda"] = torch.cuda.is_available()
    features["cuda_device"] = torch.cuda.get_device_name(0) if features["cuda"] else None
    return features


@contextlib.contextmanager
def num_threads(threads: int | None):
    """Run the body with torch on `threads` intra-op threads (None: leave it), then restore."""
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _sync(device: str | torch.device | None = None) -> None:
    """Wait for queued CUDA work (on `device`, or on the current one if CUDA is in use)."""
    if device is not None:
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize(device)
    elif torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def _time_calls(call, min_time: float, sync) -> tuple[int, float]:
    """(calls, seconds): call `call` in growing batches until at least `min_time` seconds have
    been spent, synchronizing after each batch."""
    calls, elapsed, batch = 0, 0.0, 1
    while elapsed < min_time:
        start = time.perf_counter()
        for _ in range(batch):
            call()
        sync()
        elapsed += time.perf_counter() - start
        calls += batch
        if elapsed > 0:  # aim the next batch at what is left, at most doubling
            left = (min_time - elapsed) * calls / elapsed
            batch = max(1, min(2 * batch, math.ceil(left)))
        else:
            batch *= 2
    return calls, elapsed


def matmul_peak(
    dtype: torch.dtype = torch.float32,
    threads: int | None = None,
    m: int = 12800,
    k: int = 128,
    n: int = 512,
    min_time: float = 0.5,
    device: str | torch.device = "cpu",
) -> float:
    """GFLOP/s of (m x k) @ (k x n) matmuls in `dtype` on `device`, 2*m*k*n FLOPs each, timed
    after a warm-up by repeating until `min_time` seconds have passed. `threads` sets torch's
    thread count for the measurement (restored after). bfloat16 on a CPU without bf16 hardware
    runs through conversions and is slow: the number says so."""
    with num_threads(threads), torch.no_grad():
        gen = torch.Generator(device="cpu").manual_seed(0)
        a = torch.randn(m, k, generator=gen).to(device=device, dtype=dtype)
        b = torch.randn(k, n, generator=gen).to(device=device, dtype=dtype)
        out = torch.empty(m, n, device=device, dtype=dtype)

        def call():
            torch.matmul(a, b, out=out)

        call()  # warm-up: thread pool, kernel selection, CUDA context
        call()
        _sync(device)
        calls, seconds = _time_calls(call, min_time, lambda: _sync(device))
    return 2.0 * m * k * n * calls / seconds / 1e9


@contextlib.contextmanager
def fused_kernels_off():
    """Run the body with oneDNN and cuDNN off (torch's own kernels instead of theirs)."""
    with warnings.catch_warnings():
        # setting the oneDNN flags re-sets its TF32 flag too, which warns on builds without XPU
        warnings.filterwarnings("ignore", message="TF32 acceleration on top of oneDNN")
        with torch.backends.mkldnn.flags(enabled=False), torch.backends.cudnn.flags(enabled=False):
            yield


def count_flops(fn) -> int:
    """The FLOPs of one call of `fn()` (e.g. a closure running a gradient step's forward and
    backward), as torch's FlopCounterMode counts them: matmuls, convolutions and attention.
    `fn` runs once. It runs with oneDNN and cuDNN off, because their fused RNN kernels are single
    ops the counter cannot see into: without them an LSTM or GRU computes the same products as
    plain matmuls, which it counts."""
    counter = FlopCounterMode(display=False)
    with fused_kernels_off(), counter:
        fn()
    return int(counter.get_total_flops())


def achieved(fn, flops: int | None = None, min_time: float = 1.0, warmup: int = 2) -> dict:
    """Time repeated calls of `fn()` after `warmup` untimed ones, until `min_time` seconds have
    passed (waiting for CUDA work, if CUDA is in use). `flops` per call defaults to
    count_flops(fn). Returns {"flops", "seconds_per_call", "gflops"}."""
    if flops is None:
        flops = count_flops(fn)
    for _ in range(warmup):
        fn()
    _sync()
    calls, seconds = _time_calls(fn, min_time, _sync)
    per_call = seconds / calls
    return {"flops": int(flops), "seconds_per_call": per_call, "gflops": flops / per_call / 1e9}


def lstm_step(batch: int = 64, steps: int = 20, width: int = 128, outputs: int = 16, device="cpu"):
    """The demo workload: a closure running one gradient step's forward and backward through a
    `width`-wide one-layer LSTM over `steps` steps of a batch of `batch`, a linear head to
    `outputs`, and a mean loss (gradients are cleared first, so calls do not accumulate)."""
    gen = torch.Generator(device="cpu").manual_seed(0)
    lstm = torch.nn.LSTM(width, width).to(device)
    head = torch.nn.Linear(width, outputs).to(device)
    params = list(lstm.parameters()) + list(head.parameters())
    x = torch.randn(steps, batch, width, generator=gen).to(device)

    def step():
        for p in params:
            p.grad = None
        out, _ = lstm(x)
        head(out).mean().backward()

    return step


def _workload_row(step, precision: str, device: str, min_time: float) -> dict:
    """Count and time `step` under `precision`; where a fused kernel refuses the precision (the
    oneDNN LSTM wants bf16 hardware for bf16), time it again with oneDNN off and say so."""

    def run():
        with autocast(precision, device):
            step()

    flops = count_flops(run)
    try:
        result = achieved(run, flops=flops, min_time=min_time)
        result["note"] = ""
    except RuntimeError as err:
        if "mkldnn" not in str(err).lower() and "primitive" not in str(err).lower():
            raise
        with fused_kernels_off():
            result = achieved(run, flops=flops, min_time=min_time)
        result["note"] = "oneDNN LSTM refused it: native kernels"
    return result


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _gflops(value: float) -> str:
    return f"{value:,.1f}" if value >= 10 else f"{value:.2f}"


def report(min_time: float = 0.5, threads: int | None = None) -> str:
    """The markdown tables `python -m fastmeta.bench.compute` prints."""
    threads = threads or cpu_count()
    feat = cpu_features()
    lines = [
        "| CPU | |",
        "|---|---|",
        f"| model | {feat['model']} |",
        f"| logical cores | {feat['logical_cores']} (this process: {cpu_count()}) |",
        "| AVX2 / AVX-512F / AVX-512 BF16 / AMX BF16 / AMX tile | "
        + " / ".join(_yes(feat[name]) for name in CPU_FLAGS)
        + " |",
        f"| bf16 in hardware | {_yes(feat['bf16_hw'])} |",
        f"| torch CPU capability | {feat['torch_capability']} |",
        f"| CUDA | {feat['cuda_device'] if feat['cuda'] else 'no'} |",
        "",
    ]

    m, k, n = 12800, 128, 512
    columns = ["1 thread", f"{threads} threads"]
    if feat["cuda"]:
        columns.append("CUDA")
    lines += [
        f"| matmul ({m}x{k}) @ ({k}x{n}), GFLOP/s | " + " | ".join(columns) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]
    peak_1t = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        cells = []
        for t in (1, threads):
            cells.append(matmul_peak(dtype, threads=t, m=m, k=k, n=n, min_time=min_time))
        if feat["cuda"]:
            cells.append(matmul_peak(dtype, m=m, k=k, n=n, min_time=min_time, device="cuda"))
        peak_1t[name] = cells[0]
        lines.append(f"| {name} | " + " | ".join(_gflops(c) for c in cells) + " |")
    lines.append("")

    lines += [
        "| LSTM step, batch 64 x 20 steps x 128 wide, fwd+bwd, 1 thread "
        "| FLOPs | ms/step | GFLOP/s | of 1-thread matmul peak | |",
        "|---|---|---|---|---|---|",
    ]
    with num_threads(1):
        step = lstm_step()
        for precision in PRECISIONS:
            row = _workload_row(step, precision, "cpu", max(min_time, 0.5))
            label = "fp32" if precision == "fp32" else "bf16 autocast"
            lines.append(
                f"| {label} | {row['flops'] / 1e6:,.1f} M | {row['seconds_per_call'] * 1e3:.2f} "
                f"| {_gflops(row['gflops'])} | {row['gflops'] / peak_1t[precision]:.0%} "
                f"| {row['note']} |"
            )
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m fastmeta.bench.compute",
        description="Print this machine's compute bound and a gradient step's achieved GFLOP/s.",
    )
    parser.add_argument(
        "--min-time", type=float, default=0.5, help="seconds per measurement (default 0.5)"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="the all-cores thread count (default: all)"
    )
    args = parser.parse_args(argv)
    print(report(min_time=args.min_time, threads=args.threads))


if __name__ == "__main__":
    main()
