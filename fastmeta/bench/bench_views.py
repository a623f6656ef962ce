"""What the Gymnasium view costs on top of the native step, at 4096 envs: `MetaVectorEnv.step`
with `copy=True` (the default: every result is a fresh array), with `copy=False` (the view's own
buffers, overwritten by the next call) and the bare native `env.step` it wraps, for one DREAM
grid env (`map`) and one First-Explore env (`FixedArmBandit`).

The view assembles the meta-RL Dict observation (observation, instruction, prev_action,
prev_reward, episode_start, trial_start), applies NEXT_STEP autoreset (a slot whose trial ended
on the last call starts its next trial and does not move: the native env steps the others
through `step_slots`) and builds the info dict. Each timed round is a run of `calls` steps, so
`median / calls` is the cost of one call, as in bench_env_scaling.py."""

import numpy as np
import pytest

import fastmeta
from fastmeta.bench.conftest import ROUNDS, calls_per_round
from fastmeta.registry import make_vector

VIEW_ENVS = ["map", "FixedArmBandit"]
NUM_ENVS = 4096
IMPLS = {
    "native": "native step",
    "view-nocopy": "MetaVectorEnv copy=False",
    "view-copy": "MetaVectorEnv copy=True",
}


def _build(name, impl):
    """(the object whose step() is timed, the native env under it)."""
    if impl == "native":
        env = fastmeta.make(name, num_envs=NUM_ENVS, seed=0)
        env.reset()
        return env, env
    venv = make_vector(name, num_envs=NUM_ENVS, seed=0, copy=impl == "view-copy")
    venv.reset(seed=0)
    return venv, venv.env


@pytest.mark.parametrize("impl", list(IMPLS))
@pytest.mark.parametrize("name", VIEW_ENVS)
def test_view_step(benchmark, name, impl):
    stepper, env = _build(name, impl)
    acts = np.random.default_rng(0).integers(
        0, env.single_action_space.n, (64, NUM_ENVS), dtype=np.int64
    )  # cycled: not part of the step
    i = [0]

    def step():
        stepper.step(acts[i[0] & 63])
        i[0] += 1

    calls = calls_per_round(step)

    def run():
        for _ in range(calls):
            step()

    benchmark.extra_info.update(
        env=name,
        impl=IMPLS[impl],
        mode="view",
        view=impl,
        num_envs=NUM_ENVS,
        threads=1,
        calls=calls,
        env_steps=calls * NUM_ENVS,
    )
    benchmark.pedantic(run, rounds=ROUNDS, warmup_rounds=0)
    stepper.close()
