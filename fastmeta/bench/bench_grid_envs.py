"""Env-steps/s of the DREAM grid envs: batched kernel across num_envs and threads, the DREAM
drop-in single-env path, and the plain-Python reference as the same-run baseline."""

import numpy as np
import pytest

import fastmeta
from fastmeta.bench.conftest import sizes
from fastmeta.reference.grid import RefGridEnv, RefInstructionWrapper

KINDS = ["vanilla", "distraction", "map", "cooking"]
STEPS = 64  # steps per benchmark round, actions pre-generated


def _actions(n, steps=STEPS, seed=0):
    return np.random.default_rng(seed).integers(0, 9, size=(steps, n), dtype=np.int64)


@pytest.mark.parametrize("threads", sizes([1, 2], [1, 2]))
@pytest.mark.parametrize("num_envs", sizes([1, 64, 4096, 65536], [1, 4096, 65536]))
@pytest.mark.parametrize("kind", KINDS)
def test_grid_batched(benchmark, kind, num_envs, threads):
    if threads > 1 and num_envs < 4096:
        pytest.skip("threads only engage from 4096 envs")
    env = fastmeta.make(kind, num_envs=num_envs, seed=0, num_threads=threads)
    env.reset()
    steps = STEPS if num_envs >= 4096 else 1024
    acts = _actions(num_envs, steps)

    def run():
        for row in acts:
            env.step(row)

    benchmark.extra_info.update(
        env=kind, impl="fastmeta", num_envs=num_envs, threads=threads, env_steps=steps * num_envs
    )
    benchmark.pedantic(run, rounds=sizes(7, 3), warmup_rounds=1)


@pytest.mark.parametrize("kind", KINDS)
def test_grid_reference(benchmark, kind):
    """The plain-Python reference (one env object per slot), the baseline."""
    n = 64
    env_id = {"distraction": 100, "cooking": 45}.get(kind, 5)
    wrappers = [RefInstructionWrapper(RefGridEnv(kind, env_id), seed=i) for i in range(n)]
    for w in wrappers:
        w.reset()
    acts = _actions(n, 16).tolist()

    def run():
        for row in acts:
            for w, a in zip(wrappers, row):
                if w.step(a)[2]:
                    w.reset()

    benchmark.extra_info.update(env=kind, impl="reference", num_envs=n, threads=1, env_steps=16 * n)
    benchmark.pedantic(run, rounds=sizes(5, 3), warmup_rounds=1)


@pytest.mark.parametrize("impl", ["fastmeta.compat.dream", "reference"])
def test_dream_dropin_single_env(benchmark, impl):
    """One env through the original interface (identity observation wrapper), as old code runs it."""
    acts = _actions(1, 4000)[:, 0].tolist()
    if impl == "reference":
        w = RefInstructionWrapper(RefGridEnv("distraction", 100), seed=1)
    else:
        from fastmeta.compat.dream import DistractionGridEnv

        env = DistractionGridEnv(np.array([100]), wrapper=lambda o: o)
        w = DistractionGridEnv.instruction_wrapper()(env, [], seed=1)
    w.reset()

    def run():
        step, reset = w.step, w.reset
        for a in acts:
            if step(a)[2]:
                reset()

    benchmark.extra_info.update(
        env="distraction", impl=impl, num_envs=1, threads=1, env_steps=len(acts)
    )
    benchmark.pedantic(run, rounds=sizes(7, 3), warmup_rounds=1)
