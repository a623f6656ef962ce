"""Per-call overhead of a numba kernel against the Cython grid kernel at one env.

This is the measurement behind the backend choice: numba's dispatcher checks argument types on
every call, which dominates single-env and small-batch stepping."""

import numpy as np
from numba import njit

import fastmeta
from fastmeta.bench.conftest import sizes

CALLS = 10000


@njit(cache=True)
def _touch(actions, obs, rew):
    obs[0, 0] = actions[0]
    rew[0] = 0.0


def test_numba_call_overhead(benchmark):
    a, o, r = np.zeros(1, np.int64), np.zeros((1, 3), np.int64), np.zeros(1)
    _touch(a, o, r)

    def run():
        for _ in range(CALLS):
            _touch(a, o, r)

    benchmark.extra_info.update(
        impl="numba empty kernel", env="dispatch", num_envs=1, threads=1, env_steps=CALLS
    )
    benchmark.pedantic(run, rounds=sizes(7, 3), warmup_rounds=1)


def test_cython_grid_step_overhead(benchmark):
    env = fastmeta.make("distraction", num_envs=1)
    env.reset()
    kernel, a = env._kernel, np.full(1, 4, np.int64)

    def run():
        for _ in range(CALLS):
            kernel.step(a, 1)

    benchmark.extra_info.update(
        impl="cython grid step", env="dispatch", num_envs=1, threads=1, env_steps=CALLS
    )
    benchmark.pedantic(run, rounds=sizes(7, 3), warmup_rounds=1)
