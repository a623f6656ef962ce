"""The parts of scripts/device_check.sh that run Python: each part in its own time box, one
markdown summary at the end (<out>/summary.md), whatever failed.

    python scripts/device_check.py --out device-check
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def sh(cmd, timeout, env=None) -> tuple[int, str, float]:
    t = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)
        return p.returncode, p.stdout + p.stderr, time.perf_counter() - t
    except subprocess.TimeoutExpired as e:
        text = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        return 124, text + f"\n(timed out after {timeout} s)", time.perf_counter() - t


def tail(text: str, n: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-n:])


def machine() -> list[str]:
    import torch

    rows = [
        f"- host: {platform.node()}, {platform.machine()}, python {platform.python_version()}",
        f"- torch {torch.__version__}, CUDA build {torch.version.cuda}",
    ]
    try:
        import numba

        rows.append(f"- numba {numba.__version__}")
    except ImportError:
        rows.append("- numba: not installed")
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            rows.append(f"- GPU {i}: {p.name}, {p.total_memory / 2**30:.0f} GiB")
    else:
        rows.append("- no CUDA device: the GPU parts run on the CPU or are skipped")
    return rows


def part_cuda_tests(device) -> list[str]:
    code, text, s = sh([sys.executable, "-m", "pytest", "-m", "cuda", "-q", "-rs", "tests/"], 150)
    return [f"exit {code} in {s:.0f} s", "```", tail(text), "```"]


def part_dream(device, out: Path) -> list[str]:
    cmd = [sys.executable, "-m", "fastmeta", "train", "dream", "--env", "map", "--preset", "fast"]
    cmd += ["--device", device, "--max-minutes", "1.5", "--no-progress", "--force"]
    cmd += ["--out", str(out / "runs"), "-b", "fastmeta.tensorboard=false", "dream-map"]
    code, text, s = sh(cmd, 160)
    lines = [f"`{' '.join(cmd[1:])}`: exit {code} in {s:.0f} s"]
    try:
        summary = json.loads(text.strip().splitlines()[-1])
        lines.append(
            f"- env steps {summary['env_steps']:,}, {summary['env_steps_per_s']:.0f} env steps/s, "
            f"{summary['updates_per_s']:.1f} gradient steps/s, test return "
            f"{summary['test_return']:.2f} ({summary['stopped']})"
        )
    except (ValueError, KeyError, IndexError):
        lines += ["```", tail(text), "```"]
    return lines


def part_first_explore(device) -> list[str]:
    import torch

    from fastmeta.agents.first_explore.learner import Learner
    from fastmeta.agents.first_explore.train import resolve_args

    rows = [
        "| device | precision | s/update (collect + gradient step) | env steps/s |",
        "|---|---|---|---|",
    ]
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    todo = [(device, "fp32")] + ([(device, "bf16")] if device == "cuda" else [])
    for dev, prec in todo:
        config = resolve_args("bandit", "paper", [f"precision={prec}"])
        learner = Learner(config, device=dev)
        learner.update_idx = 1000  # past the warm-up
        n = 8 if dev == "cuda" else 2
        learner.update()
        if dev == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(n):
            learner.update()
        if dev == "cuda":
            torch.cuda.synchronize()
        per = (time.perf_counter() - t) / n
        rows.append(f"| {dev} | {prec} | {per:.3f} | {learner.env_steps_per_update / per:,.0f} |")
    return ["Original model size (bandit, batch 128, 99 explore pulls):", "", *rows]


def part_sign(device) -> list[str]:
    import numpy as np

    import fastmeta

    sizes = [64, 256, 1024, 4096] if device == "cuda" else [64, 256]
    rows = ["| envs | steps | env steps/s |", "|---|---|---|"]
    renderer = "?"
    for n in sizes:
        env = fastmeta.make("miniworld_sign", num_envs=n, seed=0)
        env.reset()
        steps = 20 if n <= 1024 else 10
        acts = np.random.default_rng(0).integers(0, 3, size=(steps + 1, n))
        env.step(acts[0])
        t = time.perf_counter()
        for a in acts[1:]:
            env.step(a)
        s = time.perf_counter() - t
        renderer = env._renderer.ctx.info.get("GL_RENDERER", "?") if env._renderer else "?"
        env.close()
        rows.append(f"| {n:,} | {steps} | {steps * n / s:,.0f} |")
    return [f"GL renderer: `{renderer}`", "", *rows]


def part_nccl(device, out: Path) -> list[str]:
    import torch

    if device != "cuda" or torch.cuda.device_count() < 2:
        return ["skipped: needs two GPUs"]
    cmd = [sys.executable, "-m", "fastmeta", "train", "dream", "--env", "map", "--preset", "fast"]
    cmd += ["--device", "cuda", "--nproc", "2", "--max-minutes", "0.75", "--no-progress"]
    cmd += ["--force", "--out", str(out / "runs"), "-b", "fastmeta.tensorboard=false", "nccl"]
    code, text, s = sh(cmd, 120)
    return [f"`{' '.join(cmd[1:])}`: exit {code} in {s:.0f} s", "```", tail(text, 5), "```"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", default="device-check")
    p.add_argument("--install-log", default=None)
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    sections = [("Machine", lambda: machine())]
    if args.install_log and Path(args.install_log).exists():
        text = Path(args.install_log).read_text()
        keep = [ln for ln in text.splitlines() if ln.startswith(("wheels", "Cython", "fastmeta"))]
        sections.append(("Install", lambda: [f"- {ln}" for ln in keep]))
    sections += [
        ("`cuda` tests", lambda: part_cuda_tests(device)),
        (f"DREAM map, 90 s on {device}", lambda: part_dream(device, out)),
        (f"First-Explore update on {device}", lambda: part_first_explore(device)),
        ("Sign renderer (EGL)", lambda: part_sign(device)),
        ("2-rank NCCL", lambda: part_nccl(device, out)),
    ]
    doc = [f"# fastmeta device check ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})", ""]
    failed = 0
    for title, fn in sections:
        t = time.perf_counter()
        try:
            body = fn()
        except Exception:  # a part that fails is reported, and the others still run
            failed += 1
            body = ["FAILED:", "```", tail(traceback.format_exc(), 20), "```"]
        doc += [f"## {title} ({time.perf_counter() - t:.0f} s)", "", *body, ""]
        (out / "summary.md").write_text("\n".join(doc))
        print(f"[device check] {title}: done", file=sys.stderr, flush=True)
    print("\n".join(doc))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
