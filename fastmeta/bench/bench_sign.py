"""Env-steps/s of DREAM's 3D sign world: physics alone (batched numba kernel against the
plain-Python reference) and with 80x60 frames (batched EGL renderer, with and without MSAA,
against the `miniworld` package stepping DREAM's sign world with its own renderer, measured in
the same run). Uniform random actions, so about a quarter of the slots end each step and their
final frames are rendered too."""

import numpy as np
import pytest

import fastmeta
from fastmeta.bench.conftest import sizes
from fastmeta.reference.sign import SignReference

PHYSICS_STEPS = 200
FRAME_STEPS = {1: 300, 16: 60, 64: 24, 256: 8}  # steps per round, by num_envs


def _actions(steps, n, seed=0):
    return np.random.default_rng(seed).integers(0, 4, size=(steps, n), dtype=np.int64)


@pytest.mark.parametrize("num_envs", sizes([64, 4096, 65536], [4096]))
def test_sign_physics(benchmark, num_envs):
    env = fastmeta.make("miniworld_sign", num_envs=num_envs, seed=0, obs_mode="pose")
    env.reset()
    steps = PHYSICS_STEPS if num_envs >= 4096 else 2000
    acts = _actions(steps, num_envs)
    env.step(acts[0])

    def run():
        for row in acts:
            env.step(row)

    benchmark.extra_info.update(
        env="sign physics",
        impl="fastmeta",
        num_envs=num_envs,
        threads=1,
        env_steps=steps * num_envs,
    )
    benchmark.pedantic(run, rounds=sizes(5, 3), warmup_rounds=1)


def test_sign_physics_reference(benchmark):
    """The plain-Python reference of the same physics, one object per slot: the baseline."""
    n = 64
    rng = np.random.default_rng(0)
    agents = [SignReference(4.5, 5.0, rng.uniform(-3, 3), i % 3, i % 2) for i in range(n)]
    acts = _actions(50, n).tolist()

    def run():
        for row in acts:
            for k, (ag, a) in enumerate(zip(agents, row)):
                _, term, trunc = ag.step(a)
                if term or trunc:
                    agents[k] = SignReference(4.5, 5.0, ag.theta, ag.task, ag.instruction)

    benchmark.extra_info.update(
        env="sign physics", impl="reference", num_envs=n, threads=1, env_steps=50 * n
    )
    benchmark.pedantic(run, rounds=sizes(5, 3), warmup_rounds=1)


@pytest.mark.parametrize(
    "samples, storage", [(8, "u8"), (8, "f32"), (1, "u8")], ids=["msaa-u8", "msaa-f32", "no-msaa"]
)
@pytest.mark.parametrize("num_envs", sizes([1, 16, 64, 256], [1, 64, 256]))
def test_sign_frames(benchmark, num_envs, samples, storage):
    env = fastmeta.make(
        "miniworld_sign", num_envs=num_envs, seed=0, samples=samples, msaa_storage=storage
    )
    env.reset()
    steps = FRAME_STEPS[num_envs]
    acts = _actions(steps, num_envs)
    env.step(acts[0])

    def run():
        for row in acts:
            env.step(row)

    label = f"fastmeta msaa x{env.samples} {storage}" if env.samples > 1 else "fastmeta no msaa"
    benchmark.extra_info.update(
        env="sign frames",
        impl=label,
        num_envs=num_envs,
        threads=1,
        env_steps=steps * num_envs,
        samples=env.samples,
    )
    benchmark.pedantic(run, rounds=sizes(5, 3), warmup_rounds=1)
    env.close()


def test_sign_frames_dream_dropin(benchmark):
    """One env through the DREAM drop-in interface (numpy observations), as old code runs it."""
    from fastmeta.compat.dream.sign import MiniWorldSign

    env = MiniWorldSign.create_env(0, wrapper=lambda o: o)
    w = MiniWorldSign.instruction_wrapper()(env, [], seed=1)
    w.reset()
    acts = _actions(300, 1)[:, 0].tolist()

    def run():
        for a in acts:
            if w.step(a)[2]:
                w.reset()

    benchmark.extra_info.update(
        env="sign frames", impl="fastmeta.compat.dream", num_envs=1, threads=1, env_steps=len(acts)
    )
    benchmark.pedantic(run, rounds=sizes(5, 3), warmup_rounds=1)


def test_sign_frames_miniworld(benchmark):
    """The baseline: miniworld 2.1.0's sign world (same engine code as DREAM's pin), headless,
    one env stepping with 80x60 rendering and resetting when an episode ends."""
    try:
        import pyglet
    except ImportError:
        pytest.skip("the miniworld package is not installed (pip install 'fastmeta[render]')")
    pyglet.options["headless"] = True
    from miniworld.envs.sign import Sign

    env = Sign()
    env.reset(seed=0)
    acts = _actions(300, 1)[:, 0].tolist()

    def run():
        for a in acts:
            _, _, term, trunc, _ = env.step(a)
            if term or trunc:
                env.reset()

    benchmark.extra_info.update(
        env="sign frames",
        impl="reference",
        num_envs=1,
        threads=1,
        env_steps=len(acts),
        baseline="miniworld 2.1.0, headless pyglet",
    )
    benchmark.pedantic(run, rounds=sizes(5, 3), warmup_rounds=1)
    env.close()
