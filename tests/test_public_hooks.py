"""The public hooks external checks rely on: placing a sign-world state for rendering."""

import numpy as np
import pytest

import fastmeta


def _sign(**kw):
    try:
        return fastmeta.make("miniworld_sign", **kw)
    except RuntimeError as e:
        pytest.skip(str(e))


def test_sign_set_pose_places_the_agent_and_object_yaws_for_rendering():
    env = _sign(num_envs=2, seed=0, layout="hwc")
    env.reset(tasks=np.array([1, 2]))
    yaw = np.linspace(-1.0, 1.0, 6)
    env.set_pose(1, 2.5, 3.0, 0.75, yaw=yaw)
    assert env.pos[1].tolist() == [2.5, 3.0] and env.theta[1] == 0.75
    assert np.array_equal(env.yaw[1], yaw)
    expected = env.renderer.render_one(2.5, 3.0, 0.75, yaw=yaw, sign=2)
    diff = np.abs(env.obs[1].astype(int) - expected)
    assert diff.max() <= 1 and (diff > 0).mean() < 0.02  # batch position rounding only
    other = env.renderer.render_one(2.5, 3.0, 0.75 + np.pi / 2, yaw=yaw, sign=2)
    assert np.abs(env.obs[1].astype(int) - other).mean() > 5  # the pose really changed it
    top = env.render("top")
    assert top.shape == (2, 120, 160, 3)


def test_sign_set_pose_checks_its_slot_and_the_env():
    env = _sign(num_envs=2, seed=0, obs_mode="pose")
    env.reset()
    with pytest.raises(ValueError, match="slots"):
        env.set_pose(2, 1.0, 1.0, 0.0)
    env.set_pose(0, 1.0, 2.0, 0.5)
    assert env.obs[0].tolist() == [1.0, 2.0, 0.5]
    env.close()
    with pytest.raises(RuntimeError, match="closed"):
        env.set_pose(0, 1.0, 1.0, 0.0)
