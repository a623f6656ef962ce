"""The Gymnasium trial view and the envpool-style API over the grid envs."""
import gymnasium
import numpy as np
import pytest

import fastmeta
import fastmeta.views.envpool_api as envpool
from fastmeta.views.grid_trial import GridTrialVectorEnv

PIN = dict(tasks=np.array([0, 0]), instructions=np.tile(np.array([[8, 8], [0, 0]]), (2, 1, 1)))


def _view(mode="next_step", **kw):
    return GridTrialVectorEnv(fastmeta.make("vanilla", num_envs=2, seed=0), autoreset_mode=mode, **kw)


def test_trial_observation_reward_zeroing_and_boundary():
    venv = _view()
    obs, info = venv.reset(options=PIN)
    assert obs["instruction"].tolist() == [[8, 8], [8, 8]] and obs["prev_action"].tolist() == [0, 0]
    obs, rew, term, trunc, info = venv.step(np.array([1, 4]))
    assert rew.tolist() == [0.0, 0.0]                       # first episode is not optimised
    assert obs["prev_reward"].tolist() == [-0.1, -0.1]      # ... but the real reward is observed
    assert obs["prev_action"].tolist() == [2, 5] and obs["done"].tolist() == [0, 0]
    obs, rew, term, trunc, info = venv.step(np.array([6, 4]))  # slot 0 ends episode 1
    assert obs["done"].tolist() == [1, 0] and obs["prev_action"].tolist() == [0, 5]
    assert obs["prev_reward"][0] == -0.1 - 18 * 0.1 and rew[0] == 0.0
    assert obs["instruction"][0].tolist() == [0, 0] and obs["observation"][0].tolist() == [4, 4, 0]
    assert not term[0] and info["episode"].tolist() == [1, 0]
    obs, rew, term, trunc, info = venv.step(np.array([6, 4]))  # slot 0 ends the trial
    assert rew[0] == -0.1 - 19 * 0.1 and term.tolist() == [True, False] and not trunc.any()
    # NEXT_STEP: the trial's last observation now, a new trial on the next call
    assert obs["instruction"][0].tolist() == [0, 0] and obs["done"][0] == 1
    obs, rew, term, trunc, info = venv.step(np.array([6, 4]))
    assert rew[0] == 0.0 and not term[0] and obs["prev_action"][0] == 0 and obs["done"][0] == 0
    assert info["episode"][0] == 0 and obs["observation"][0].tolist() == [4, 4, 0]


def test_same_step_autoreset_reports_final_obs():
    venv = _view("same_step")
    venv.reset(options=PIN)
    venv.step(np.array([6, 4]))
    obs, rew, term, trunc, info = venv.step(np.array([6, 4]))
    assert term.tolist() == [True, False]
    assert info["_final_obs"].tolist() == [True, False]
    final = info["final_obs"][0]
    assert final["instruction"].tolist() == [0, 0] and final["done"] == 1
    assert obs["prev_action"][0] == 0 and obs["done"][0] == 0  # already the new trial
    assert venv.metadata["autoreset_mode"] == gymnasium.vector.AutoresetMode.SAME_STEP


def test_timeout_is_truncated_not_terminated():
    venv = _view()
    venv.reset(options=PIN)
    for t in range(40):
        obs, rew, term, trunc, info = venv.step(np.array([4, 4]))
    assert trunc.all() and not term.any()


def test_make_vec_kwargs_reach_env_and_view():
    venv = gymnasium.make_vec("fastmeta/DistractionBus-v0", num_envs=3, split="test",
                              first_episode_no_optimization=False, autoreset_mode="same_step")
    assert venv.env.split == "test" and not venv.first_episode_no_optimization
    obs, info = venv.reset(seed=1)
    from fastmeta.envs.distraction_bus import DistractionBus
    assert set(info["env_id"].tolist()) <= set(DistractionBus.test_ids().tolist())
    with pytest.raises(ValueError, match="unknown parameter"):
        gymnasium.make_vec("fastmeta/DistractionBus-v0", num_envs=2, bogus=1)


def test_envpool_sync_and_async():
    env = envpool.make("MapBus-v0", env_type="gymnasium", num_envs=4, seed=0)
    obs, info = env.reset()
    assert obs["observation"].shape == (4, 4) and info["env_id"].tolist() == [0, 1, 2, 3]
    obs, rew, term, trunc, info = env.step(np.zeros(4, np.int64))
    assert obs["observation"][:, 0].tolist() == [3, 3, 3, 3]

    env = envpool.make("MapBus-v0", env_type="gymnasium", num_envs=4, batch_size=2, seed=0)
    env.async_reset()
    obs, rew, term, trunc, info = env.recv()
    assert info["env_id"].tolist() == [0, 1]
    env.send(np.array([2, 2]), info["env_id"])
    obs, rew, term, trunc, info = env.recv()
    assert info["env_id"].tolist() == [2, 3]            # ready before the stepped ones
    assert obs["observation"][:, 0].tolist() == [4, 4]
    obs, rew, term, trunc, info = env.recv()
    assert info["env_id"].tolist() == [0, 1] and obs["observation"][:, 0].tolist() == [5, 5]
    with pytest.raises(RuntimeError, match="ready"):
        env.recv()
    with pytest.raises(ValueError, match="env_type"):
        envpool.make("MapBus-v0", env_type="dm")
    with pytest.raises(ValueError, match="batch_size"):
        envpool.make("MapBus-v0", num_envs=2, batch_size=3)


def test_step_ids_only_touches_given_slots():
    env = fastmeta.make("vanilla", num_envs=3, seed=0)
    env.reset(tasks=np.array([0, 0, 0]))
    env.step_ids(np.array([2]), np.array([1]))
    assert env.obs[:, 0].tolist() == [4, 5, 4]
    with pytest.raises(ValueError):
        env.step_ids(np.array([2, 2]), np.array([1, 1]))
    with pytest.raises(ValueError):
        env.step_ids(np.array([9]), np.array([0]))
    assert env.obs[:, 0].tolist() == [4, 5, 4]


def test_render_frames():
    env = fastmeta.make("cooking", num_envs=3, seed=0)
    env.reset()
    frames = env.render()
    assert frames.shape == (3, 48, 48, 3) and frames.dtype == np.uint8
    before = frames[0].copy()
    env.step(np.array([2, 2, 2]))
    assert not np.array_equal(env.render()[0], before)  # the agent moved
