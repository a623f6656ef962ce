"""Checks of a built fastmeta release, run by scripts/wheel_smoke.sh.

    python wheel_smoke.py check-dist SDIST WHEEL   what the sdist and the wheel must contain
    python wheel_smoke.py smoke                    the installed package, run from outside the
                                                   checkout (torch absent, site-packages read-only)
    python wheel_smoke.py fallback                 read-only package, no NUMBA_CACHE_DIR and no
                                                   writable home: fastmeta's private cache dir

`smoke` reads FASTMETA_CHECKOUT (the source tree it must not import from) and NUMBA_CACHE_DIR
(where numba's cache files must go instead of site-packages).
"""

from __future__ import annotations

import fnmatch
import importlib.metadata
import importlib.util
import os
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path


def fail(msg: str) -> None:
    print(f"wheel_smoke: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def require(names: list[str], patterns: list[str], what: str) -> None:
    for pattern in patterns:
        if not fnmatch.filter(names, pattern):
            fail(f"{what} has no file matching {pattern!r}")


def check_dist(sdist: str, wheel: str) -> None:
    with tarfile.open(sdist) as tar:
        # drop the leading "fastmeta-X.Y.Z/"
        names = [m.name.split("/", 1)[1] for m in tar.getmembers() if "/" in m.name]
    require(
        names,
        [
            "pyproject.toml",
            "setup.py",
            "README.md",
            "csrc/grid.pyx",
            "csrc/splitmix.pxd",
            "fastmeta/__init__.py",
            "fastmeta/py.typed",
            "fastmeta/presets/*.json",
        ],
        f"sdist {Path(sdist).name}",
    )
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        metadata = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    require(
        names,
        [
            "fastmeta/kernels/_grid*.so",
            "fastmeta/presets/dream_paper.json",
            "fastmeta/py.typed",
            "fastmeta/cli.py",
            "*.dist-info/entry_points.txt",
        ],
        f"wheel {Path(wheel).name}",
    )
    stray = [
        n
        for n in names
        if n.endswith((".nbi", ".nbc", ".pyc")) or n.startswith(("tests/", "bench/"))
    ]
    if stray:
        fail(f"wheel {Path(wheel).name} ships build leftovers or non-package files: {stray[:5]}")
    core = [
        line
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    ]
    if any("torch" in line for line in core):
        fail(f"torch is a core dependency of the wheel: {core}")
    n_presets = len(fnmatch.filter(names, "fastmeta/presets/*.json"))
    print(
        f"wheel_smoke: dist contents ok ({len(names)} files in the wheel, {n_presets} presets; "
        f"core requirements: {', '.join(line.split(':', 1)[1].strip() for line in core)})"
    )


def cache_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.suffix in (".nbi", ".nbc")]


def installed_package() -> Path:
    """fastmeta's directory, checked to be the installed one, not the checkout's."""
    import fastmeta

    checkout = Path(os.environ["FASTMETA_CHECKOUT"]).resolve()
    pkg = Path(fastmeta.__file__).resolve().parent
    if pkg.is_relative_to(checkout):
        fail(f"fastmeta was imported from the checkout ({pkg}), not the installed wheel")
    return pkg


def smoke() -> None:
    t0 = time.perf_counter()
    cache_dir = Path(os.environ["NUMBA_CACHE_DIR"]).resolve()
    if importlib.util.find_spec("torch") is not None:
        fail(
            "torch is installed in the smoke venv; the core package and render extra must not pull it"
        )

    import gymnasium
    import numpy as np

    import fastmeta
    import fastmeta.compat.dream  # noqa: F401  (the DREAM drop-in imports without torch)
    from fastmeta.kernels import _grid
    from fastmeta.registry import ENVS

    pkg = installed_package()
    if not Path(_grid.__file__).resolve().is_relative_to(pkg):
        fail(f"the compiled extension comes from {_grid.__file__}, outside {pkg}")
    dist_version = importlib.metadata.version("fastmeta")
    if fastmeta.__version__ != dist_version:
        fail(f"fastmeta.__version__ {fastmeta.__version__} != installed metadata {dist_version}")

    bin_dir = Path(sys.executable).parent
    out = subprocess.run(
        [bin_dir / "fastmeta", "--version"], check=True, capture_output=True, text=True
    ).stdout.strip()
    if dist_version not in out:
        fail(f"`fastmeta --version` printed {out!r}, expected {dist_version}")
    listed = subprocess.run(
        [bin_dir / "fastmeta", "list"], check=True, capture_output=True, text=True
    ).stdout
    missing = [name for name in ENVS if name not in listed]
    if missing:
        fail(f"`fastmeta list` does not show {missing}")
    print(f"wheel_smoke: {out}; `fastmeta list` shows {len(ENVS)} envs")

    rng = np.random.default_rng(0)
    for name in sorted(ENVS):
        t = time.perf_counter()
        env = fastmeta.make(name, num_envs=2, seed=0)
        obs, info = env.reset()
        actions = rng.integers(0, env.single_action_space.n, size=env.num_envs)
        obs, rew, terminated, truncated, info = env.step(actions)
        if obs.shape[0] != 2 or rew.shape != (2,) or "episode_index" not in info:
            fail(
                f"{name}: unexpected step result (obs {obs.shape}, rew {rew.shape}, info {list(info)})"
            )
        env.close()
        print(
            f"wheel_smoke: {name:<16} reset+step ok  obs {obs.shape} {obs.dtype}  "
            f"({time.perf_counter() - t:.1f}s)"
        )

    venv = gymnasium.make_vec("fastmeta/MapBus-v0", num_envs=4)
    venv.reset(seed=0)
    obs, rew, terminated, truncated, info = venv.step(venv.action_space.sample())
    if rew.shape != (4,) or "prev_action" not in obs:
        fail(f"gymnasium.make_vec step: unexpected result (rew {rew.shape}, obs keys {list(obs)})")
    venv.close()
    print("wheel_smoke: gymnasium.make_vec('fastmeta/MapBus-v0', num_envs=4) step ok")

    if "torch" in sys.modules:
        fail("something imported torch")
    in_package = cache_files(pkg)
    if in_package:
        fail(f"numba wrote cache files into the installed package: {in_package[:3]}")
    cached = cache_files(cache_dir)
    if not cached:
        fail(f"numba wrote no cache files under NUMBA_CACHE_DIR={cache_dir}")
    print(f"wheel_smoke: numba cache: {len(cached)} files under NUMBA_CACHE_DIR, none in {pkg}")
    print(f"wheel_smoke: smoke ok in {time.perf_counter() - t0:.1f}s")


def fallback() -> None:
    """No NUMBA_CACHE_DIR, read-only package and home: numba alone raises at import ("no locator
    available"); fastmeta points NUMBA_CACHE_DIR at its private per-user temp directory."""
    import tempfile

    import numpy as np

    import fastmeta

    pkg = installed_package()
    env = fastmeta.make("FixedArmBandit", num_envs=2, seed=0)
    env.reset()
    env.step(np.zeros(2, dtype=np.int64))
    expected = Path(tempfile.gettempdir()) / f"fastmeta-numba-cache-{os.getuid()}"
    if Path(os.environ.get("NUMBA_CACHE_DIR", "")) != expected:
        fail(f"NUMBA_CACHE_DIR is {os.environ.get('NUMBA_CACHE_DIR')!r}, expected {expected}")
    if not cache_files(expected) or cache_files(pkg):
        fail(f"numba's cache files are not (only) under {expected}")
    print(
        f"wheel_smoke: no NUMBA_CACHE_DIR and nothing writable: kernels cached under "
        f"{expected.name} in the temp dir ({len(cache_files(expected))} files)"
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "check-dist":
        check_dist(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 2 and sys.argv[1] == "smoke":
        smoke()
    elif len(sys.argv) == 2 and sys.argv[1] == "fallback":
        fallback()
    else:
        sys.exit(__doc__)
