"""One contract test for every registered env (docs/env_contract.md): make, reset, step, seeding,
Gymnasium views and checker, and bad input rejected before any state changes."""
import copy

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import fastmeta
from fastmeta.registry import ENVS

NAMES = fastmeta.list_envs()


def _make(name, **kw):
    try:
        return fastmeta.make(name, **kw)
    except RuntimeError as e:  # only the rendered envs can lack a system library
        if "EGL" in str(e) or "OpenGL" in str(e):
            pytest.skip(f"{name}: {e}")
        raise


def _actions(env, rng):
    return rng.integers(0, env.single_action_space.n, size=env.num_envs).astype(np.int64)


@pytest.mark.parametrize("name", NAMES)
def test_make_reset_step(name):
    env = _make(name, num_envs=3, seed=0)
    obs, info = env.reset()
    assert obs is env.obs and obs.shape[0] == 3
    assert env.single_observation_space.contains(np.asarray(obs[0]))
    rng = np.random.default_rng(0)
    for _ in range(30):
        obs, rew, term, trunc, info = env.step(_actions(env, rng))
        assert obs is env.obs and rew.shape == (3,) and term.dtype == bool and trunc.dtype == bool
        assert not (term & trunc).any()
        assert isinstance(info, dict)


@pytest.mark.parametrize("name", NAMES)
def test_seeding_reproducible(name):
    def trace(seed):
        env = _make(name, num_envs=4, seed=seed)
        env.reset()
        rng = np.random.default_rng(1)
        out = []
        for _ in range(25):
            obs, rew, *_ = env.step(_actions(env, rng))
            out.append((np.array(obs, copy=True), rew.copy()))
        return out

    a, b, c = trace(3), trace(3), trace(4)
    assert all(np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1]) for x, y in zip(a, b))
    assert not all(np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1]) for x, y in zip(a, c))


@pytest.mark.parametrize("name", NAMES)
def test_bad_actions_leave_state_unchanged(name):
    env = _make(name, num_envs=3, seed=0)
    twin = _make(name, num_envs=3, seed=0)
    env.reset()
    twin.reset()
    n = env.single_action_space.n
    bad = [np.zeros(4, np.int64), np.zeros((3, 1), np.int64), np.zeros(3, np.float32),
           np.array([0, n, 0]), np.array([0, -1, 0]), [0.5, 0, 0]]
    for actions in bad:
        with pytest.raises((ValueError, TypeError)):
            env.step(actions)
    rng_a, rng_b = np.random.default_rng(2), np.random.default_rng(2)
    for _ in range(10):
        oa, ra, *_ = env.step(_actions(env, rng_a))
        ob, rb, *_ = twin.step(_actions(twin, rng_b))
        assert np.array_equal(oa, ob) and np.array_equal(ra, rb)


@pytest.mark.parametrize("name", NAMES)
def test_gymnasium_vector_view(name):
    spec = ENVS[name]
    try:
        venv = gymnasium.make_vec(spec.gym_id, num_envs=3)
    except RuntimeError as e:
        if "EGL" in str(e) or "OpenGL" in str(e):
            pytest.skip(str(e))
        raise
    assert isinstance(venv, gymnasium.vector.VectorEnv) and venv.num_envs == 3
    assert not isinstance(venv, gymnasium.vector.SyncVectorEnv)
    assert "autoreset_mode" in venv.metadata
    obs, info = venv.reset(seed=0)
    assert venv.observation_space.contains(obs)
    venv.action_space.seed(0)
    for _ in range(50):
        obs, rew, term, trunc, info = venv.step(venv.action_space.sample())
        assert venv.observation_space.contains(obs)
        assert rew.shape == (3,) and term.shape == (3,) and trunc.shape == (3,)
    venv.close()


@pytest.mark.parametrize("name", NAMES)
def test_gymnasium_single_env_passes_checker(name):
    spec = ENVS[name]
    try:
        env = gymnasium.make(spec.gym_id)
    except RuntimeError as e:
        if "EGL" in str(e) or "OpenGL" in str(e):
            pytest.skip(str(e))
        raise
    check_env(env.unwrapped, skip_render_check=True)
    env.close()


def test_unknown_names_and_parameters():
    with pytest.raises(ValueError, match="unknown env 'distracton'.*distraction"):
        fastmeta.make("distracton")
    with pytest.raises(ValueError, match="unknown parameter.*'episodes'"):
        fastmeta.make("distraction", episodes=3)
    with pytest.raises(ValueError, match="num_envs"):
        fastmeta.make("distraction", num_envs=0)
    with pytest.raises(TypeError, match="num_envs"):
        fastmeta.make("distraction", num_envs=2.0)
    with pytest.raises(ValueError, match="split"):
        fastmeta.make("distraction", split="validation")


def test_bad_tasks_rejected_before_any_change():
    env = fastmeta.make("distraction", num_envs=2, seed=0)
    env.reset()
    before = copy.deepcopy(env._state)
    with pytest.raises(ValueError, match="tasks"):
        env.reset(tasks=np.array([0, 576]))
    with pytest.raises(ValueError, match="tasks"):
        env.pin_tasks([1, 2, 3])
    with pytest.raises(ValueError, match="instructions"):
        env.reset(instructions=np.full((2, 2, 2), 9))
    assert np.array_equal(before, env._state)


def test_dream_names_and_gym_ids_resolve_to_the_same_env():
    for alias in ("distraction", "DistractionBus", "fastmeta/DistractionBus-v0", "DistractionBus-v0"):
        assert type(fastmeta.make(alias)).__name__ == "DistractionBus"
