"""Env-steps/s of First-Explore's envs (FixedArmBandit, DarkTreasureRoom, RayMaze): the batched
kernels with observations written, meta-reset (new task) throughput, and same-run baselines:
the plain-Python references and, when the `peers` extra is installed, gymnax's
BernoulliBandit-misc and MetaMaze-misc (jit + vmap + scan over 100 steps, compile excluded)."""

import numpy as np
import pytest

import fastmeta
from fastmeta.bench.conftest import sizes
from fastmeta.reference.bandit import BanditRef
from fastmeta.reference.ray_maze import RayMazeRef
from fastmeta.reference.treasure_room import TreasureRoomRef

ENVS = ["FixedArmBandit", "DarkTreasureRoom", "RayMaze"]
STEPS = 64  # steps per round, actions pre-generated; crosses episode and trial boundaries


def _actions(env, steps, seed=0, dtype=np.int64):
    n = env.num_envs
    return np.random.default_rng(seed).integers(
        0, env.single_action_space.n, (steps, n), dtype=dtype
    )


@pytest.mark.parametrize("dtype", ["int64", "int32"])
@pytest.mark.parametrize("num_envs", sizes([128, 4096, 65536], [128, 4096, 65536]))
@pytest.mark.parametrize("name", ENVS)
def test_fe_batched(benchmark, name, num_envs, dtype):
    """Actions as int64 (torch's argmax) and int32 (envpool's): at 65536 envs the action array
    alone is 512 KB per step in int64, and the step is memory-bound."""
    _bench_batched(benchmark, name, num_envs, np.dtype(dtype), threads=1)


@pytest.mark.parametrize("name, num_envs", [("RayMaze", 4096), ("DarkTreasureRoom", 65536)])
def test_fe_batched_threads(benchmark, name, num_envs):
    """num_threads=2, int64 actions (the 1-thread numbers are test_fe_batched's, same sizes)."""
    _bench_batched(benchmark, name, num_envs, np.dtype("int64"), threads=2)


def _bench_batched(benchmark, name, num_envs, dtype, threads):
    kw = {} if threads == 1 else dict(num_threads=threads)
    env = fastmeta.make(name, num_envs=num_envs, seed=0, **kw)
    env.reset()
    steps = STEPS if num_envs >= 4096 else 1024
    if name == "RayMaze":
        steps //= 8  # 15 ray casts per env-step: keep a round short
    acts = _actions(env, steps, dtype=dtype)
    env.step(acts[0])  # compile outside the timing

    def run():
        for row in acts:
            env.step(row)

    impl = "fastmeta" if dtype == np.int64 else f"fastmeta ({dtype} actions)"
    benchmark.extra_info.update(
        env=name, impl=impl, num_envs=num_envs, threads=threads, env_steps=steps * num_envs
    )
    benchmark.pedantic(run, rounds=sizes(7, 3), warmup_rounds=1)


@pytest.mark.parametrize("name", ENVS)
def test_fe_meta_reset(benchmark, name):
    """reset(): a new task in every slot (maze generation included) and its first observation."""
    n = 4096
    env = fastmeta.make(name, num_envs=n, seed=0)

    def run():
        for _ in range(8):
            env.reset()

    benchmark.extra_info.update(
        env=name, impl="fastmeta meta-reset", num_envs=n, threads=1, env_steps=8 * n
    )
    benchmark.pedantic(run, rounds=sizes(7, 3), warmup_rounds=1)


def _reference(name, n):
    if name == "FixedArmBandit":
        return [BanditRef(0, i) for i in range(n)]
    if name == "DarkTreasureRoom":
        return [TreasureRoomRef(0, i) for i in range(n)]
    return [RayMazeRef(0, i) for i in range(n)]


@pytest.mark.parametrize("name", ENVS)
def test_fe_reference(benchmark, name):
    """The plain-Python references (one object per slot), the baseline."""
    n = 64
    refs = _reference(name, n)
    num_actions = {"FixedArmBandit": 10, "DarkTreasureRoom": 5, "RayMaze": 3}[name]
    acts = np.random.default_rng(0).integers(0, num_actions, (16, n)).tolist()

    def run():
        for row in acts:
            for r, a in zip(refs, row):
                r.step(a)

    benchmark.extra_info.update(env=name, impl="reference", num_envs=n, threads=1, env_steps=16 * n)
    benchmark.pedantic(run, rounds=sizes(5, 3), warmup_rounds=1)


@pytest.mark.parametrize("num_envs", [128, 4096])
@pytest.mark.parametrize(
    "gymnax_id, name", [("BernoulliBandit-misc", "FixedArmBandit"), ("MetaMaze-misc", "RayMaze")]
)
def test_fe_gymnax(benchmark, gymnax_id, name, num_envs):
    """gymnax peers (peers extra): jit(vmap) step inside lax.scan over 100 steps, compile excluded."""
    jax = pytest.importorskip("jax")
    gymnax = pytest.importorskip("gymnax")
    env, params = gymnax.make(gymnax_id)
    steps = 100
    keys = jax.random.split(jax.random.PRNGKey(0), num_envs)
    obs, state = jax.vmap(env.reset, in_axes=(0, None))(keys, params)
    n_act = env.num_actions

    @jax.jit
    def rollout(state, key):
        def body(carry, k):
            st = carry
            ka, ks = jax.random.split(k)
            acts = jax.random.randint(ka, (num_envs,), 0, n_act)
            # gymnax < 1.0 returns 5 values, 1.0 adds `truncated`: the first three are the same
            obs, st, rew = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
                jax.random.split(ks, num_envs), st, acts, params
            )[:3]
            return st, rew.sum()

        return jax.lax.scan(body, state, jax.random.split(key, steps))

    jax.block_until_ready(rollout(state, jax.random.PRNGKey(1)))

    def run():
        jax.block_until_ready(rollout(state, jax.random.PRNGKey(2)))

    benchmark.extra_info.update(
        env=name,
        impl=f"gymnax {gymnax_id}",
        num_envs=num_envs,
        threads=1,
        env_steps=steps * num_envs,
    )
    benchmark.pedantic(run, rounds=sizes(5, 3), warmup_rounds=1)
