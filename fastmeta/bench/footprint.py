"""What an env costs in memory, computed exactly from its numpy buffers.

`slot_bytes` counts the bytes of every numpy array an env object holds (attributes, dicts, lists,
task dataclasses), once per underlying buffer, at two batch sizes: the difference is the memory
per env slot and the rest is fixed (lookup tables). `bytes_written_per_step` steps a batch with
random actions and counts the per-slot arrays a step changes: a step must at least read and
rewrite those bytes, which is what the bandwidth line of the report divides by.
"""

from __future__ import annotations

import dataclasses

import numpy as np

import fastmeta


def env_arrays(obj, _seen=None, _depth=0) -> dict[str, np.ndarray]:
    """Every numpy array reachable from `obj`'s attributes, keyed by a dotted name, one entry per
    distinct memory block (views of the same buffer, e.g. the renderer's HWC views, count once)."""
    found: dict[str, np.ndarray] = {}
    seen = set() if _seen is None else _seen

    def visit(name, value, depth):
        if isinstance(value, np.ndarray):
            base = value
            while isinstance(base.base, np.ndarray):
                base = base.base
            key = (base.__array_interface__["data"][0], base.nbytes)
            if key not in seen:
                seen.add(key)
                found[name] = base
        elif depth > 3 or id(value) in seen:
            return
        elif isinstance(value, dict):
            seen.add(id(value))
            for k, v in value.items():
                visit(f"{name}[{k!r}]", v, depth + 1)
        elif isinstance(value, (list, tuple)):
            seen.add(id(value))
            for i, v in enumerate(value):
                visit(f"{name}[{i}]", v, depth + 1)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            seen.add(id(value))
            for f in dataclasses.fields(value):
                visit(f"{name}.{f.name}", getattr(value, f.name), depth + 1)

    for k, v in vars(obj).items():
        visit(k, v, 0)
    return found


def total_bytes(env) -> int:
    return sum(a.nbytes for a in env_arrays(env).values())


def slot_bytes(name: str, n1: int = 64, n2: int = 320, **params) -> tuple[float, int]:
    """(bytes per env slot, fixed bytes) of env `name`'s numpy buffers, from two batch sizes."""
    sizes = []
    for n in (n1, n2):
        env = fastmeta.make(name, num_envs=n, seed=0, **params)
        env.reset()
        sizes.append(total_bytes(env))
        env.close()
    per_slot = (sizes[1] - sizes[0]) / (n2 - n1)
    return per_slot, int(round(sizes[0] - per_slot * n1))


def bytes_written_per_step(
    name: str, num_envs: int = 256, steps: int = 64, **params
) -> tuple[int, list[str]]:
    """Per-slot bytes of the arrays that `step` changed at least once over `steps` random steps,
    plus the action array it reads, and the names of those arrays. Rows written only when an
    episode ends (final observations) count in full: an upper bound on what one step writes."""
    env = fastmeta.make(name, num_envs=num_envs, seed=0, **params)
    env.reset()
    arrays = {
        k: a
        for k, a in env_arrays(env).items()
        if a.ndim and a.shape[0] in (num_envs, 2 * num_envs)
    }
    rng = np.random.default_rng(0)
    changed = set()
    for _ in range(steps):
        before = {k: a.copy() for k, a in arrays.items() if k not in changed}
        env.step(rng.integers(0, env.single_action_space.n, num_envs, dtype=np.int64))
        changed.update(
            k for k, b in before.items() if not np.array_equal(b, arrays[k], equal_nan=True)
        )
    env.close()
    written = sum(arrays[k].nbytes for k in changed) // num_envs
    return written + np.dtype(np.int64).itemsize, sorted(changed)
