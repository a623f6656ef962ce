"""Per-slot SplitMix64 random streams, as numba device functions.

Every env slot owns one uint64 state; a slot's draws depend only on (seed, slot index) and its
own history, never on the batch size or thread count. `csrc/splitmix.pxd` is the same generator
for the Cython kernels; tests/test_rng.py proves the two agree draw for draw.
"""

import numpy as np
from numba import njit

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def stream_states(seed: int, num_envs: int, first_slot: int = 0) -> np.ndarray:
    """Initial states of slots first_slot .. first_slot+num_envs-1 for `seed` (numpy, no numba)."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    slots = np.arange(first_slot, first_slot + num_envs, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(int(seed) & 0xFFFFFFFFFFFFFFFF) * GOLDEN + (slots + np.uint64(1)) * _M2
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        z = z ^ (z >> np.uint64(31))
    return z


@njit(inline="always", cache=True)
def next_u64(states, i):
    s = states[i] + GOLDEN
    states[i] = s
    z = (s ^ (s >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(inline="always", cache=True)
def randint(states, i, n):
    """Integer in [0, n) (multiply-shift; bias below n / 2**32)."""
    return np.int64(((next_u64(states, i) >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32))


@njit(inline="always", cache=True)
def uniform(states, i):
    """Float64 in [0, 1) with 53 random bits."""
    return np.float64(next_u64(states, i) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(inline="always", cache=True)
def normal(states, i):
    """Standard normal by Box-Muller (one of the pair; two uniforms per draw)."""
    u1 = 1.0 - uniform(states, i)  # (0, 1]: log stays finite
    u2 = uniform(states, i)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
