"""The DREAM drop-in: the original's classes, tuples, RandomState draws and golden values."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from fastmeta.compat import dream
from fastmeta.compat.dream import (
    Action,
    CityGridEnv,
    CookingGridEnv,
    DistractionGridEnv,
    InstructionState,
    MapGridEnv,
    MultiEpisodeWrapper,
)
from fastmeta.reference.grid import RefGridEnv, RefInstructionWrapper, create_env_id

CLASSES = {
    "vanilla": CityGridEnv,
    "distraction": DistractionGridEnv,
    "map": MapGridEnv,
    "cooking": CookingGridEnv,
}


def test_create_env_golden_ids():
    assert [int(DistractionGridEnv.create_env(s).env_id[0]) for s in range(10)] == [
        484,
        407,
        440,
        462,
        506,
        385,
        110,
        517,
        33,
        308,
    ]
    assert [int(DistractionGridEnv.create_env(s, test=True).env_id[0]) for s in range(10)] == [
        212,
        41,
        185,
        274,
        135,
        227,
        250,
        193,
        497,
        421,
    ]
    assert [int(CookingGridEnv.create_env(s).env_id[0]) for s in range(10)] == [
        45,
        38,
        41,
        43,
        59,
        36,
        11,
        48,
        3,
        63,
    ]
    assert {int(CookingGridEnv.create_env(s, test=True).env_id[0]) for s in range(10)} == {10}
    for cls in (MapGridEnv, CityGridEnv):
        assert [int(cls.create_env(s).env_id[0]) for s in range(10)] == [
            12,
            5,
            8,
            10,
            14,
            3,
            10,
            15,
            3,
            21,
        ]


def test_instruction_golden_draws():
    env = CityGridEnv.create_env(0)
    firsts = [
        tuple(CityGridEnv.instruction_wrapper()(env, [], seed=s).reset().instructions.tolist())
        for s in range(12)
    ]
    assert firsts == [
        (0, 0),
        (8, 8),
        (0, 0),
        (0, 8),
        (0, 8),
        (8, 0),
        (0, 8),
        (8, 0),
        (8, 0),
        (0, 8),
        (8, 8),
        (8, 8),
    ]
    env45 = CookingGridEnv(np.array([45]))
    draws = [
        CookingGridEnv.instruction_wrapper()(env45, [], seed=s).reset().instructions.tolist()
        for s in range(10)
    ]
    assert draws == [[1, 3], [3, 1], [1, 3], [2, 1], [2, 2], [2, 3], [2, 3], [1, 3], [1, 3], [2, 1]]
    env10 = CookingGridEnv(np.array([10]))
    assert [
        CookingGridEnv.instruction_wrapper()(env10, [], seed=s).reset().instructions.tolist()
        for s in range(4)
    ] == [[2, 2], [2, 2], [2, 2], [0, 2]]


def test_golden_trajectory_and_state_tuples():
    env = DistractionGridEnv(np.array([100]))
    w = DistractionGridEnv.instruction_wrapper()(env, [], seed=1)
    s = w.reset()
    assert isinstance(s, InstructionState) and s.prev_action is None and s.prev_reward == 0
    assert s.instructions.tolist() == [8, 8] and isinstance(s.observation, torch.Tensor)
    assert s.observation.dtype == torch.int64 and s.env_id.tolist() == [100]
    obs = []
    for a in [Action.up, Action.ride_bus, Action.down]:
        s, r, done, info = w.step(a)
        obs.append(s.observation.tolist())
        assert r == -0.1 and not done and s.prev_action == a and info == {}
    assert obs == [[4, 5, 1], [0, 1, 1], [0, 0, 0]]


def test_goal_reward_is_integer_one():
    env = CityGridEnv(np.array([0]), wrapper=lambda o: o)
    w = CityGridEnv.instruction_wrapper()(env, [], seed=0)  # goal (0, 0)
    w.reset()
    # perm 0: the source (4, 5) rides to (0, 1); one step down is the goal
    for a in [1, 5]:
        w.step(a)
    s, r, done, _ = w.step(3)
    assert r == 1 and type(r) is int and done


def test_spaces_and_class_interface():
    env = MapGridEnv.create_env(0)
    assert env.unwrapped is env and env.action_space.n == 9
    assert env.observation_space["observation"].high.tolist() == [9, 9, 4, 25]
    assert env.observation_space["observation"].dtype == int
    assert env.observation_space["env_id"].high.tolist() == [24]
    w = MapGridEnv.instruction_wrapper()(env, [], seed=0)
    assert w.observation_space["instructions"].high.tolist() == [9, 9]
    assert w.unwrapped is env
    train, test = DistractionGridEnv.env_ids()
    assert train.shape == (53, 1) and test.shape == (523, 1)
    assert Action(6).name == "end_episode"
    assert isinstance(env, dream.grid.GridEnv)


def test_multi_episode_wrapper_boundary_and_zeroed_first_episode():
    env = CityGridEnv(np.array([3]), wrapper=lambda o: o)
    inner = CityGridEnv.instruction_wrapper()(env, [], seed=5, first_episode_no_optimization=True)
    trial = MultiEpisodeWrapper(inner, 2)
    trial.reset()
    s, r, done, _ = trial.step(Action.end_episode)
    assert r == 0 and not done and s.done and s.prev_action is None
    assert s.prev_reward == -0.1 - 19 * 0.1  # the real reward survives in the state
    s, r, done, _ = trial.step(Action.end_episode)
    assert r == -0.1 - 19 * 0.1 and done
    with pytest.raises(AssertionError):
        MultiEpisodeWrapper(env, 2)


@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(list(CLASSES)),
    seed=st.integers(0, 10000),
    flags=st.tuples(st.booleans(), st.booleans(), st.booleans()),
    actions=st.lists(st.integers(0, 8), min_size=1, max_size=80),
)
def test_dropin_matches_reference(kind, seed, flags, actions):
    no_instr, no_opt, fixed = flags
    cls = CLASSES[kind]
    env = cls.create_env(seed, wrapper=lambda o: o)
    env_id = create_env_id(kind, seed)
    assert int(env.env_id[0]) == env_id
    kw = dict(
        first_episode_no_instruction=no_instr,
        first_episode_no_optimization=no_opt,
        fixed_instructions=fixed,
    )
    w = cls.instruction_wrapper()(env, [], seed=seed + 1, **kw)
    ref = RefInstructionWrapper(RefGridEnv(kind, env_id), seed=seed + 1, **kw)
    s = w.reset()
    r_obs, r_instr = ref.reset()
    assert s.observation.tolist() == r_obs and s.instructions.tolist() == r_instr
    for a in actions:
        s, r, done, _ = w.step(a)
        r_obs, r_ret, r_done, r_real, _ = ref.step(a)
        assert (s.observation.tolist(), r, done, s.prev_reward) == (r_obs, r_ret, r_done, r_real)
        assert type(r) is type(r_ret)
        if done:
            s = w.reset()
            r_obs, r_instr = ref.reset()
            assert s.observation.tolist() == r_obs and s.instructions.tolist() == r_instr


def test_bad_input_is_rejected():
    env = CityGridEnv(np.array([0]))
    env.reset()
    with pytest.raises(ValueError, match="action"):
        env.step(9)
    assert env.steps == 0
    with pytest.raises(ValueError, match="env id"):
        CityGridEnv(np.array([24]))


def test_render_object():
    env = CookingGridEnv.create_env(0)
    w = CookingGridEnv.instruction_wrapper()(env, [], seed=0)
    w.reset()
    img = w.render()
    img.write_text("Experience: 0")
    pil = img.image()
    assert pil.size[0] > 0 and pil.mode == "RGB"
