"""DarkTreasureRoom: parity with the plain-Python reference, scripted trajectories with exact
rewards, the spec's measured anchors, tasks, bad input, rendering and the Gymnasium views."""
import math

import gymnasium
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import fastmeta
from fastmeta.envs.dark_treasure_room import TREASURE_VARIANTS, TreasureTask
from tests.reference.treasure_room import TreasureRoomRef
from tests.thread_parity import assert_two_threads_match_one


# -- parity with the reference ------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(n=st.sampled_from([1, 3, 17, 64]), seed=st.integers(0, 2**63),
       minval=st.sampled_from(sorted(TREASURE_VARIANTS.values()) + [1.5]),
       k=st.integers(1, 12), room=st.integers(2, 11), ep_len=st.integers(1, 6),
       lifetime=st.integers(1, 3), mode=st.sampled_from(["step", "running_return"]),
       data=st.data())
def test_kernel_matches_reference(n, seed, minval, k, room, ep_len, lifetime, mode, data):
    kw = dict(minval=minval, k=k, roomsize=room, episode_length=ep_len, episodes_per_lifetime=lifetime)
    env = fastmeta.make("DarkTreasureRoom", num_envs=n, seed=seed, reward_mode=mode, **kw)
    refs = [TreasureRoomRef(seed, i, **kw) for i in range(n)]

    def same_tasks():
        t = env.tasks
        np.testing.assert_array_equal(t.x, [r.tx for r in refs])
        np.testing.assert_array_equal(t.y, [r.ty for r in refs])
        np.testing.assert_array_equal(t.value, np.array([r.tv for r in refs], dtype=np.float32))

    same_tasks()
    np.testing.assert_array_equal(env.obs, [(r.x, r.y) for r in refs])
    for _ in range(data.draw(st.integers(1, 25))):
        acts = np.array(data.draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)))
        obs, rew, term, trunc, info = env.step(acts)
        out = [r.step(a) for r, a in zip(refs, acts)]
        np.testing.assert_array_equal(obs, [(r.x, r.y) for r in refs])
        want = [o[2] if mode == "running_return" else o[1] for o in out]
        np.testing.assert_array_equal(rew, np.array(want, dtype=np.float32))
        np.testing.assert_array_equal(env.episode_return, np.array([r.ret for r in refs], dtype=np.float32))
        assert not term.any()
        np.testing.assert_array_equal(trunc, [o[3] for o in out])
        if trunc.any():
            np.testing.assert_array_equal(env.final_obs, [o[4] for o in out])
        np.testing.assert_array_equal(info["trial_done"], [o[5] for o in out])
        np.testing.assert_array_equal(info["episode"], [r.episode for r in refs])
        same_tasks()


# -- scripted trajectories ------------------------------------------------------------------------
def scripted_env(mode="step", lifetime=10):
    # two treasures on the start cell, one east, one north, one in the far corner
    task = TreasureTask(x=np.array([4, 4, 5, 4, 8]), y=np.array([4, 4, 4, 5, 8]),
                        value=np.array([1.0, 0.25, -0.5, 1.5, -3.0], dtype=np.float32))
    env = fastmeta.make("DarkTreasureRoom", num_envs=1, k=5, reward_mode=mode,
                        episodes_per_lifetime=lifetime)
    env.reset(tasks=task)
    return env, task


def run(env, actions):
    out = []
    for a in actions:
        obs, rew, term, trunc, info = env.step(np.array([a]))
        out.append((tuple(obs[0]), float(rew[0]), bool(trunc[0])))
    return out


def test_scripted_episode_exact_rewards():
    env, _ = scripted_env()
    assert tuple(env.obs[0]) == (4, 4)  # start treasures are not collected by the reset
    got = run(env, [2, 4, 0, 1, 3, 2, 2, 2, 2])
    assert got == [((5, 4), -0.5, False), ((4, 4), 1.25, False), ((4, 4), 0.0, False),
                   ((4, 5), 1.5, False), ((4, 4), 0.0, False), ((5, 4), 0.0, False),
                   ((6, 4), 0.0, False), ((7, 4), 0.0, False), ((4, 4), 0.0, True)]
    assert tuple(env.final_obs[0]) == (8, 4)
    # the next episode restarts from the same state: everything pays again
    got = run(env, [0, 2])
    assert [g[1] for g in got] == [1.25, -0.5]


def test_scripted_running_return_and_walls():
    env, _ = scripted_env("running_return")
    got = run(env, [2, 4, 1, 1, 1, 1, 1, 1, 2])
    assert [g[1] for g in got] == [-0.5, 0.75, 2.25, 2.25, 2.25, 2.25, 2.25, 2.25, 2.25]
    assert tuple(env.final_obs[0]) == (5, 8)  # y clipped at 8
    got = run(env, [2, 2, 2, 2, 2, 1, 1, 1, 1])
    assert [g[0] for g in got][4] == (8, 4) and got[-1][1] == -3.5  # -0.5 then the corner's -3
    assert float(env.episode_return[0]) == 0.0  # a new episode has begun


def test_lifetime_keeps_task_then_draws_a_new_one():
    env = fastmeta.make("DarkTreasureRoom", num_envs=8, seed=4, episode_length=2, episodes_per_lifetime=3)
    first = env.tasks
    for t in range(6):
        info = env.step(np.zeros(8, dtype=np.int64))[4]
        assert info["trial_done"].all() == (t == 5)
        if t < 5:
            np.testing.assert_array_equal(env.tasks.x, first.x)
    assert not np.array_equal(env.tasks.value, first.value)


def test_pinned_task_returns_every_lifetime():
    env, task = scripted_env(lifetime=1)
    env.pin_tasks(task, slots=[0])
    for _ in range(3):
        got = run(env, [2, 4, 0, 0, 0, 0, 0, 0, 0])
        assert [g[1] for g in got][:2] == [-0.5, 1.25]
    env.unpin_tasks()
    run(env, [0] * 9)
    assert not np.array_equal(env.tasks.value, task.value)


@pytest.mark.parametrize("mode", ["step", "running_return"])
def test_two_threads_are_bit_identical_to_one(mode):
    """num_threads=2 steps with the threaded kernel (slots in blocks, the last one partial):
    every output, the tasks (sampled and pinned) and the RNG streams match the single-thread env
    exactly, across episode and lifetime ends."""
    assert_two_threads_match_one("DarkTreasureRoom", 5, episodes_per_lifetime=3, reward_mode=mode)


# -- spec anchors (uniform-random actions, one 9-step episode per room) ---------------------------
@pytest.mark.parametrize("minval, mean, std", [(-4.0, -0.552, 1.484), (0.0, 0.560, 0.849)])
def test_random_return_anchor(minval, mean, std):
    n = 65536
    env = fastmeta.make("DarkTreasureRoom", num_envs=n, seed=123, minval=minval)
    rng = np.random.default_rng(0)
    ret = np.zeros(n)
    for _ in range(9):
        ret += env.step(rng.integers(0, 5, n))[1]
    # standard errors of this sample and of the spec's 262,144-room measurement
    se = std * math.sqrt(1 / n + 1 / 262144)
    assert abs(ret.mean() - mean) < 4 * se
    # the standard error of a standard deviation grows with the kurtosis (returns are far from normal)
    kurt = np.mean((ret - ret.mean()) ** 4) / ret.var() ** 2
    assert abs(ret.std() - std) < 4 * std * math.sqrt((kurt - 1) / 4 * (1 / n + 1 / 262144))


def test_treasure_value_anchors():
    env = fastmeta.make("DarkTreasureRoom", minval=-4.0)
    v = env.sample_tasks(262144, seed=1).value.astype(np.float64)
    assert abs((v > 0).mean() - 1 / 3) < 4 * math.sqrt(2 / 9 / v.size)
    assert abs(np.where(v > 0, v, 0).sum(axis=1).mean() - 2.657) < 0.01
    assert v.min() >= -4 and v.max() < 2
    v0 = fastmeta.make("DarkTreasureRoom", minval=0.0).sample_tasks(262144, seed=2).value
    assert abs(v0.astype(np.float64).sum(axis=1).mean() - 7.995) < 0.01
    t = env.sample_tasks(100000, seed=3)
    for a in (t.x, t.y):  # uniform on 0..8
        counts = np.bincount(a.ravel(), minlength=9) / a.size
        assert np.all(np.abs(counts - 1 / 9) < 4 * math.sqrt(8 / 81 / a.size))


def test_values_stay_below_maxval_after_float32_rounding():
    # maxval - minval large: minval + span * u rounds to maxval in float32 for u near 1
    env = fastmeta.make("DarkTreasureRoom", num_envs=4, minval=-1e9, maxval=2.0)
    v = env.sample_tasks(20000, seed=0).value
    assert v.max() < np.float32(2.0)


# -- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kw, err, match", [
    (dict(minval=2.0), ValueError, "minval must be < maxval"),
    (dict(minval=0.0, maxval=-1.0), ValueError, "minval must be < maxval"),
    (dict(k=0), ValueError, "k must be >= 1"), (dict(k=2.5), TypeError, "k must be an int"),
    (dict(roomsize=12), ValueError, "roomsize"), (dict(episode_length=0), ValueError, "episode_length"),
    (dict(reward_mode="sparse"), ValueError, "reward_mode"), (dict(maxval=math.inf), ValueError, "maxval"),
    (dict(num_threads=0), ValueError, "num_threads"), (dict(num_threads=1.5), ValueError, "num_threads"),
    (dict(num_threads="2"), ValueError, "num_threads")])
def test_bad_parameters(kw, err, match):
    with pytest.raises(err, match=match):
        fastmeta.make("DarkTreasureRoom", num_envs=2, **kw)


def state(env):
    t = env.tasks
    return [env.obs.copy(), env.episode_return.copy(), env._avail.copy(), env.rng_states.copy(),
            t.x, t.y, t.value, env.episode.copy(), np.array(env.t)]


@pytest.mark.parametrize("actions, err", [
    (np.array([0, 5, 1]), ValueError), (np.array([-1, 0, 1]), ValueError),
    (np.array([0, 1]), ValueError), (np.array([0.0, 1.0, 2.0]), TypeError)])
@pytest.mark.parametrize("num_threads", [1, 2])
def test_bad_actions_raise_and_leave_state(actions, err, num_threads):
    env = fastmeta.make("DarkTreasureRoom", num_envs=3, seed=1, num_threads=num_threads)
    env.step(np.array([1, 2, 3]))
    before = state(env)
    with pytest.raises(err, match="actions"):
        env.step(actions)
    for a, b in zip(before, state(env)):
        np.testing.assert_array_equal(a, b)


def test_bad_tasks():
    env = fastmeta.make("DarkTreasureRoom", num_envs=2, k=2)
    before = state(env)
    bad_x = TreasureTask(x=np.array([[0, 9], [0, 0]]), y=np.zeros((2, 2), int), value=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="tasks.x"):
        env.reset(tasks=bad_x)
    with pytest.raises(TypeError, match="tasks.y"):
        env.reset(tasks=TreasureTask(x=np.zeros((2, 2), int), y=np.zeros((2, 2)), value=np.zeros((2, 2))))
    with pytest.raises(ValueError, match="tasks.value"):
        env.pin_tasks(TreasureTask(x=np.zeros(2, int), y=np.zeros(2, int), value=np.zeros(3)))
    for a, b in zip(before, state(env)):
        np.testing.assert_array_equal(a, b)


def test_task_save_load(tmp_path):
    env = fastmeta.make("DarkTreasureRoom", num_envs=5, seed=3)
    env.tasks.save(tmp_path / "rooms.npz")
    loaded = TreasureTask.load(tmp_path / "rooms.npz")
    other = fastmeta.make("DarkTreasureRoom", num_envs=5, seed=99)
    other.reset(tasks=loaded)
    np.testing.assert_array_equal(other.tasks.value, env.tasks.value)
    with pytest.raises(ValueError, match="TreasureTask"):
        from fastmeta.envs.fixed_arm_bandit import BanditTask
        BanditTask.load(tmp_path / "rooms.npz")


# -- render and views ----------------------------------------------------------------------------
def test_render_draws_agent_and_treasures():
    env, _ = scripted_env()
    img = env.render()
    assert img.shape == (1, 72, 72, 3) and img.dtype == np.uint8
    cell = lambda x, y: env.render()[0, (8 - y) * 8 + 4, x * 8 + 4].astype(int)  # noqa: E731
    assert np.all(cell(4, 4) == 255)                              # agent
    assert cell(4, 5)[1] > 100 and cell(4, 5)[0] < 50             # +1.5: green
    assert cell(8, 8)[0] > cell(4, 5)[1] and cell(8, 8)[1] < 50   # -3: red, and brighter
    assert np.all(cell(2, 2) < 50)                                # empty
    before = cell(4, 5)
    env.step(np.array([1])), env.step(np.array([3]))
    assert cell(4, 5)[1] < before[1]                              # collected: dimmed


def test_gymnasium_views():
    venv = gymnasium.make_vec("fastmeta/DarkTreasureRoom-v0", num_envs=4, minval=0.0)
    assert isinstance(venv, gymnasium.vector.VectorEnv)
    obs, _ = venv.reset(seed=0)
    assert obs.shape == (4, 2) and venv.observation_space.contains(obs)
    for t in range(9):
        obs, rew, term, trunc, info = venv.step(venv.action_space.sample())
    assert trunc.all() and info["_final_obs"].all() and np.all(obs == 4)
    env = gymnasium.make("fastmeta/DarkTreasureRoom-v0")
    obs, info = env.reset(seed=5)
    task = env.unwrapped.env.tasks
    for t in range(9):
        obs, r, term, trunc, info = env.step(2)
    assert trunc and tuple(obs) == (8, 4)
    obs, info = env.reset()  # next episode, same room
    assert tuple(obs) == (4, 4) and info["episode"] == 1
    np.testing.assert_array_equal(env.unwrapped.env.tasks.value, task.value)
    env.unwrapped.reset_task()
    assert not np.array_equal(env.unwrapped.env.tasks.value, task.value)


def test_restart_episode_mid_episode():
    env, task = scripted_env()
    run(env, [2, 4, 0])
    env.restart_episode()
    assert tuple(env.obs[0]) == (4, 4) and env.t == 0 and env.episode_return[0] == 0
    assert [g[1] for g in run(env, [2, 4])] == [-0.5, 1.25]  # everything pays again
    np.testing.assert_array_equal(env.tasks.value[0], task.value)
    single = gymnasium.make("fastmeta/DarkTreasureRoom-v0").unwrapped
    single.reset(seed=0)
    single.step(2)
    obs, info = single.reset()  # mid-episode: restart the same episode of the same room
    assert tuple(obs) == (4, 4) and info["episode"] == 0


def test_vector_view_final_obs_is_the_last_position():
    venv = gymnasium.make_vec("fastmeta/DarkTreasureRoom-v0", num_envs=3, episode_length=2)
    venv.reset(seed=0)
    venv.step(np.array([2, 1, 0]))
    obs, rew, term, trunc, info = venv.step(np.array([2, 1, 4]))
    assert trunc.all() and info["_final_obs"].all()
    np.testing.assert_array_equal(info["final_obs"], [[6, 4], [4, 6], [3, 4]])
    np.testing.assert_array_equal(obs, [[4, 4]] * 3)
