"""The DREAM drop-in `fastmeta.compat.dream.sign`: the original's interface, state tuples,
instruction draws and rewards, on the same kernel and renderer as the native env."""

import math

import numpy as np
import pytest

from fastmeta.compat.dream import sign
from fastmeta.compat.dream.meta_exploration import InstructionState, MetaExplorationState
from fastmeta.compat.dream.wrappers import MultiEpisodeWrapper
from fastmeta.kernels import sign_physics as K
from fastmeta.render.egl import EGLUnavailableError


@pytest.fixture(scope="module")
def env():
    try:
        return sign.MiniWorldSign.create_env(0)
    except EGLUnavailableError as err:
        pytest.skip(f"no headless OpenGL context on this machine: {err}")


def test_class_interface(env):
    assert sign.MiniWorldSign.env_ids() == ([0, 1, 2], [0, 1, 2])
    assert sign.MiniWorldSign.instruction_wrapper() is sign.InstructionWrapper
    # create_env draws RandomState(seed).randint(3) and returns the one shared instance
    ids = [np.random.RandomState(s).randint(3) for s in range(6)]
    got = [sign.MiniWorldSign.create_env(s).env_id for s in range(6)]
    assert got == ids
    assert sign.MiniWorldSign.create_env(1) is sign.sign_instance is env
    assert env.action_space.n == 4
    assert env.observation_space["observation"].shape == (3, 80, 60)
    assert env.observation_space["env_id"].high.tolist() == [3]


def test_episode_states_and_transposed_frames(env):
    import torch

    env = sign.MiniWorldSign.create_env(2)
    state = env.reset()
    assert isinstance(state, MetaExplorationState) and state.prev_action is None
    assert isinstance(state.observation, torch.Tensor) and state.observation.shape == (3, 80, 60)
    core = env._core
    assert 4.4 <= core.pos[0, 0] <= 4.6 and 4.4 <= core.pos[0, 1] <= 5.6
    state, reward, done, info = env.step(0)
    assert reward == 0 and state.prev_action == 0 and not done
    r = sign._shared_renderer()
    frame = r.render_one(*core.pos[0], core.theta[0], core.yaw[0], core.task[0])
    np.testing.assert_array_equal(state.observation.numpy(), frame.transpose(2, 1, 0))


def test_instruction_wrapper_rewards_and_draws(env):
    env = sign.MiniWorldSign.create_env(0)
    for seed in range(4):
        w = sign.InstructionWrapper(env, [], seed=seed)
        state = w.reset()
        assert isinstance(state, InstructionState)
        np.testing.assert_array_equal(
            state.instructions, np.random.RandomState(seed).randint(2, size=(1,))
        )
    w = sign.InstructionWrapper(env, [], seed=1)  # draw [1]: go to the key
    w.reset()
    assert w.current_instructions[0] == 1
    core = env._core
    # Put the agent 3 m south of the blue key (5, 1), facing it: two forward steps touch it.
    core.pos[0] = (5.0, 4.0)
    core.theta[0] = math.pi / 2
    s, r, d, _ = w.step(2)
    assert (r, d) == (0, False)
    s, r, d, _ = w.step(2)
    assert (r, d) == (1.0, True) and s.prev_reward == 1.0 and s.done
    w.reset()
    core.pos[0] = (5.0, 4.0)
    core.theta[0] = math.pi / 2
    w._core.set_instruction(0)  # box: the blue key is now wrong
    w.step(2)
    _, r, d, _ = w.step(2)
    assert (r, d) == (-1.0, True)


def test_multi_episode_wrapper_and_render(env):
    env = sign.MiniWorldSign.create_env(0)
    trial = MultiEpisodeWrapper(sign.InstructionWrapper(env, [], seed=3), 2)
    trial.reset()
    _, _, done, _ = trial.step(K.END)
    assert not done
    _, _, done, _ = trial.step(K.END)
    assert done
    image = sign.InstructionWrapper(env, [], seed=0)
    image.reset()
    pic = image.render().image()
    assert pic.size[0] == 320 and pic.size[1] >= 120


def test_bad_env_id_and_action(env):
    with pytest.raises(ValueError):
        sign.MiniWorldSign(3)
    with pytest.raises(ValueError):
        env._raw_step(4)
