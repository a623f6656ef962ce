"""Every registered env, the same way: env-steps/s against num_envs (1 ... 65536) with random
actions (R) and with a small policy network choosing them (N), threads 1 and 2 where the env
takes `num_threads`, meta-reset throughput, and each env's memory per slot and bytes written per
step (recorded with the step benchmark they belong to).

Each timed round is a run of `calls` batched steps, so `median / calls` is the cost of one call:
report.py fits it against num_envs (fixed per-call overhead + per-env cost)."""

import inspect

import numpy as np
import pytest

import fastmeta
from fastmeta.bench.conftest import NO_TORCH, ROUNDS, SWEEP, calls_per_round, sizes
from fastmeta.bench.footprint import bytes_written_per_step, slot_bytes

ENVS = fastmeta.list_envs()
SIGN = "miniworld_sign"
SIGN_MAX_N = 256  # every sign step renders N (and the ended slots') 80x60 frames


def _sizes(name, mode):
    full = SWEEP
    quick = [1, 64, 4096, 65536] if mode == "random" else [64, 4096]
    out = sizes(full, quick)
    return [n for n in out if n <= SIGN_MAX_N] if name == SIGN else out


def _cases(mode):
    return [(name, n) for name in ENVS for n in _sizes(name, mode)]


def _make(name, num_envs, **params):
    env = fastmeta.make(name, num_envs=num_envs, seed=0, **params)
    env.reset()
    return env


def _random_actions(env, count):
    rng = np.random.default_rng(0)
    return rng.integers(0, env.single_action_space.n, (count, env.num_envs), dtype=np.int64)


def _time_steps(benchmark, env, step_fn, name, mode, threads, max_calls=4096):
    calls = calls_per_round(step_fn, max_calls)

    def run():
        for _ in range(calls):
            step_fn()

    benchmark.extra_info.update(
        env=name,
        impl="fastmeta",
        mode=mode,
        num_envs=env.num_envs,
        threads=threads,
        calls=calls,
        env_steps=calls * env.num_envs,
    )
    benchmark.pedantic(run, rounds=ROUNDS, warmup_rounds=0)


@pytest.mark.parametrize("name, num_envs", _cases("random"))
def test_steps_random(benchmark, name, num_envs):
    env = _make(name, num_envs)
    acts = _random_actions(env, 64)  # cycled: generating actions is not part of the step
    i = [0]

    def step():
        env.step(acts[i[0] & 63])
        i[0] += 1

    _time_steps(benchmark, env, step, name, "random", 1)
    env.close()


@pytest.mark.parametrize("name, num_envs", _cases("policy"))
def test_steps_policy(benchmark, name, num_envs):
    torch = pytest.importorskip("torch", reason=NO_TORCH)
    from fastmeta.bench.policy_mlp import MLPPolicy

    torch.set_num_threads(1)  # one core for the network, as for the env
    env = _make(name, num_envs)
    policy = MLPPolicy(env)
    _time_steps(benchmark, env, lambda: env.step(policy.act()), name, "policy", 1)
    env.close()


def _threaded(name):
    return (
        "num_threads"
        in inspect.signature(fastmeta.registry.resolve(name).load().__init__).parameters
    )


@pytest.mark.parametrize(
    "name, num_envs",
    [(n, s) for n in ENVS if _threaded(n) for s in sizes([1024, 4096, 16384, 65536], [65536])],
)
def test_steps_threads(benchmark, name, num_envs):
    """Two threads (the 1-thread numbers are test_steps_random's)."""
    env = _make(name, num_envs, num_threads=2)
    acts = _random_actions(env, 64)
    i = [0]

    def step():
        env.step(acts[i[0] & 63])
        i[0] += 1

    _time_steps(benchmark, env, step, name, "random", 2)


@pytest.mark.parametrize("name", ENVS)
def test_meta_reset(benchmark, name):
    """reset(): a new task in every slot and its first observation (rendered, for the sign)."""
    n = 64 if name == SIGN else 4096
    env = _make(name, n)
    calls = calls_per_round(env.reset, 256)

    def run():
        for _ in range(calls):
            env.reset()

    benchmark.extra_info.update(
        env=name,
        impl="fastmeta meta-reset",
        mode="reset",
        num_envs=n,
        threads=1,
        calls=calls,
        env_steps=calls * n,
    )
    benchmark.pedantic(run, rounds=ROUNDS, warmup_rounds=0)
    env.close()


@pytest.mark.parametrize("name", ENVS)
def test_footprint(benchmark, name):
    """Memory per env slot and bytes a step writes, from the env's numpy buffers (exact, not
    timed); the timed part is one step at 1024 envs, so the record sits in results.json."""
    small = name == SIGN  # rendering makes large sign batches slow to build and step
    per_slot, fixed = slot_bytes(name, *((4, 20) if small else (64, 320)))
    written, arrays = bytes_written_per_step(name, num_envs=16 if small else 256)
    env = _make(name, 64 if name == SIGN else 1024)
    acts = _random_actions(env, 1)[0]
    benchmark.extra_info.update(
        env=name,
        impl="fastmeta footprint",
        mode="footprint",
        num_envs=env.num_envs,
        threads=1,
        env_steps=env.num_envs,
        bytes_per_slot=per_slot,
        fixed_bytes=fixed,
        bytes_written_per_step=written,
        written_arrays=arrays,
    )
    benchmark.pedantic(env.step, args=(acts,), rounds=ROUNDS, warmup_rounds=1)
    env.close()
