"""DarkTreasureRoom: parity with the plain-Python reference (full steps, partial `step_slots`
steps, collected treasures), scripted trajectories with exact rewards, the spec's measured
anchors, tasks, bad input, threads, state, rendering and the Gymnasium views."""

import math
import pickle

import gymnasium
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastmeta
from fastmeta.envs.dark_treasure_room import TREASURE_VARIANTS, TreasureTask
from fastmeta.reference.treasure_room import TreasureRoomRef


def make_env(**kw):
    """A DarkTreasureRoom, reset (native envs start with reset())."""
    env = fastmeta.make("DarkTreasureRoom", **kw)
    env.reset()
    return env


def reference(seed, slot, episodes_per_trial=10, **kw):
    """The plain-Python reference of slot `slot` (it calls a trial a lifetime)."""
    return TreasureRoomRef(seed, slot, episodes_per_lifetime=episodes_per_trial, **kw)


# -- parity with the reference ------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(
    n=st.sampled_from([1, 3, 17, 64]),
    seed=st.integers(0, 2**63),
    minval=st.sampled_from(sorted(TREASURE_VARIANTS.values()) + [1.5]),
    k=st.integers(1, 12),
    room=st.integers(2, 11),
    ep_len=st.integers(1, 6),
    trial=st.integers(1, 3),
    mode=st.sampled_from(["step", "running_return"]),
    data=st.data(),
)
def test_kernel_matches_reference(n, seed, minval, k, room, ep_len, trial, mode, data):
    kw = dict(minval=minval, k=k, roomsize=room, episode_length=ep_len, episodes_per_trial=trial)
    env = make_env(num_envs=n, seed=seed, reward_mode=mode, **kw)
    refs = [reference(seed, i, **kw) for i in range(n)]

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
        np.testing.assert_array_equal(
            env.episode_return, np.array([r.ret for r in refs], dtype=np.float32)
        )
        assert not term.any()
        np.testing.assert_array_equal(trunc, [o[3] for o in out])
        if trunc.any():
            np.testing.assert_array_equal(env.final_obs, [o[4] for o in out])
        np.testing.assert_array_equal(info["trial_done"], [o[5] for o in out])
        np.testing.assert_array_equal(info["episode_index"], [r.episode for r in refs])
        np.testing.assert_array_equal(env.elapsed, [r.t for r in refs])
        same_tasks()


# -- partial steps (step_slots) and collected treasures -------------------------------------------
def snapshot(env) -> dict:
    """Every per-slot array of the env's state and outputs, copied."""
    t = env.tasks
    out = {
        k: getattr(env, k).copy()
        for k in (
            "obs",
            "rew",
            "terminated",
            "truncated",
            "final_obs",
            "trial_done",
            "episode_index",
            "elapsed",
            "episode_return",
            "rng_states",
            "_avail",
            "_occ",
            "_packed",
        )
    }
    out.update({f"task.{k}": v for k, v in t.arrays().items()})
    return out


def assert_slot_matches_reference(env, i, r):
    assert tuple(env.obs[i]) == (r.x, r.y)
    assert env.episode_index[i] == r.episode and env.elapsed[i] == r.t
    assert env.episode_return[i] == r.ret
    assert int(env.rng_states[i]) == r.rng.state
    np.testing.assert_array_equal(env.collected(i), r.collected)
    t = env.tasks
    np.testing.assert_array_equal(t.x[i], r.tx)
    np.testing.assert_array_equal(t.y[i], r.ty)
    np.testing.assert_array_equal(t.value[i], np.array(r.tv, dtype=np.float32))


@settings(max_examples=40, deadline=None)
@given(
    n=st.sampled_from([1, 2, 5, 13]),
    seed=st.integers(0, 2**63),
    k=st.integers(1, 10),
    room=st.integers(1, 11),
    ep_len=st.integers(1, 4),
    trial=st.integers(1, 3),
    mode=st.sampled_from(["step", "running_return"]),
    threads=st.sampled_from([1, 2]),
    data=st.data(),
)
def test_step_slots_matches_reference(n, seed, k, room, ep_len, trial, mode, threads, data):
    """Random subsets of slots (in random order; sometimes none, sometimes all) step over many
    episode and trial ends, pinned slots included: each stepped slot equals its reference slot by
    slot (outputs, counters, tasks, collected treasures, RNG stream), and every other slot's
    every array stays exactly as it was."""
    kw = dict(k=k, roomsize=room, episode_length=ep_len, episodes_per_trial=trial)
    env = fastmeta.make(
        "DarkTreasureRoom", num_envs=n, seed=seed, reward_mode=mode, num_threads=threads, **kw
    )
    pinned = data.draw(st.lists(st.integers(0, n - 1), unique=True, max_size=n), label="pinned")
    ptasks = env.sample_tasks(n, seed=seed + 1)
    if pinned:
        env.pin_tasks(ptasks[np.array(pinned)], slots=pinned)
    env.reset()
    refs = [
        reference(
            seed,
            i,
            pinned=(ptasks.x[i], ptasks.y[i], ptasks.value[i]) if i in pinned else None,
            **kw,
        )
        for i in range(n)
    ]
    for _ in range(data.draw(st.integers(1, 40), label="steps")):
        how = data.draw(st.sampled_from(["subset", "subset", "subset", "all", "permuted"]))
        if how == "subset":
            slots = data.draw(st.lists(st.integers(0, n - 1), unique=True, max_size=n))
        elif how == "all":
            slots = list(range(n))
        else:
            slots = data.draw(st.permutations(range(n)))
        slots = np.array(slots, dtype=np.int64)
        acts = np.array(
            data.draw(st.lists(st.integers(0, 4), min_size=len(slots), max_size=len(slots))),
            dtype=np.int64,
        )
        before = snapshot(env)
        if how == "all":
            obs, rew, term, trunc, info = env.step(acts)
        else:
            obs, rew, term, trunc, info = env.step_slots(acts, slots)
        still = np.ones(n, dtype=bool)
        still[slots] = False
        for key, v in snapshot(env).items():
            np.testing.assert_array_equal(v[still], before[key][still], err_msg=key)
        for i, a in zip(slots, acts):
            out = refs[i].step(int(a))
            assert rew[i] == np.float32(out[2] if mode == "running_return" else out[1])
            assert not term[i] and trunc[i] == out[3] and info["trial_done"][i] == out[5]
            if out[3]:
                assert tuple(env.final_obs[i]) == out[4]
        for i in range(n):
            assert_slot_matches_reference(env, i, refs[i])


@pytest.mark.parametrize("num_threads", [1, 2])
def test_partial_step_leaves_other_slots_untouched(num_threads):
    """Slots 1 and 4 go through three trials by step_slots; the others' observations, rewards,
    RNG streams, counters and every other state array equal a twin that never stepped, and a
    full step afterwards moves them exactly as it moves the twin's."""
    kw = dict(num_envs=6, seed=7, episode_length=2, episodes_per_trial=2, num_threads=num_threads)
    env, twin = make_env(**kw), make_env(**kw)
    rng = np.random.default_rng(1)
    trials_ended = 0
    for _ in range(12):
        env.step_slots(rng.integers(0, 5, 2), [4, 1])
        trials_ended += int(env.trial_done[[1, 4]].all())
    assert trials_ended == 3
    assert not np.array_equal(env.tasks.value[[1, 4]], twin.tasks.value[[1, 4]])
    others = [0, 2, 3, 5]
    mine, theirs = env.get_state().arrays, twin.get_state().arrays
    assert mine.keys() == theirs.keys()
    for key in mine:
        if mine[key].shape[:1] == (6,):
            np.testing.assert_array_equal(mine[key][others], theirs[key][others], err_msg=key)
    for key in ("obs", "rew", "rng_states", "elapsed", "episode_index", "episode_return"):
        np.testing.assert_array_equal(getattr(env, key)[others], getattr(twin, key)[others])
    for i in others:
        np.testing.assert_array_equal(env.collected(i), twin.collected(i))
    for _ in range(5):  # full steps: per-slot counters in env, the lockstep kernel in the twin
        a = rng.integers(0, 5, 6)
        one = [x.copy() for x in env.step(a)[:4]]
        two = twin.step(a)[:4]
        for x, y in zip(one, two):
            np.testing.assert_array_equal(x[others], y[others])
        np.testing.assert_array_equal(env.rng_states[others], twin.rng_states[others])


def test_lockstep_path_is_used_until_slots_are_stepped_apart():
    """The fast lockstep path runs after reset() and while only full steps follow; a partial
    step switches to per-slot counters until the next reset (or a state where all slots agree)."""
    env = make_env(num_envs=3, seed=0, episode_length=3, episodes_per_trial=2)
    for t in range(4):
        env.step(np.array([1, 2, 3]))
        assert env._shared_t == (t + 1) % 3
    np.testing.assert_array_equal(env.elapsed, [1, 1, 1])
    env.step_slots(np.array([2]), [1])
    assert env._shared_t is None
    np.testing.assert_array_equal(env.elapsed, [1, 2, 1])
    env.step(np.array([0, 0, 0]))
    np.testing.assert_array_equal(env.elapsed, [2, 0, 2])
    np.testing.assert_array_equal(env.episode_index, [1, 0, 1])
    env.restart_episode()  # every slot at step 0, but not all in the same episode
    assert env._shared_t is None and not env.elapsed.any()
    state = env.get_state()
    env.reset()
    assert env._shared_t == 0
    env.set_state(state)
    assert env._shared_t is None
    env.step_slots(np.array([0]), [1])
    env.step(np.array([0, 0, 0]))
    np.testing.assert_array_equal(env.elapsed, [1, 2, 1])
    env.step(np.array([0, 0, 0]))  # only slot 1 ends its episode
    np.testing.assert_array_equal(env.truncated, [False, True, False])
    np.testing.assert_array_equal(env.elapsed, [2, 0, 2])
    np.testing.assert_array_equal(env.episode_index, [1, 1, 1])


def test_pickle_and_set_state_resume_partial_stepping_exactly():
    env = make_env(num_envs=5, seed=2, episode_length=3, episodes_per_trial=2)
    rng = np.random.default_rng(4)
    env.step(rng.integers(0, 5, 5))
    env.step_slots(rng.integers(0, 5, 2), [3, 0])
    other = fastmeta.make(
        "DarkTreasureRoom", num_envs=5, seed=9, episode_length=3, episodes_per_trial=2
    )
    other.set_state(env.get_state())
    clones = [pickle.loads(pickle.dumps(env)), other]
    for step in range(20):
        a = rng.integers(0, 5, 5)
        slots = rng.permutation(5)[: rng.integers(1, 6)]
        for e in [env, *clones]:
            if step % 4 == 0:
                e.step(a)
            else:
                e.step_slots(a[slots], slots)
        for c in clones:
            for key, v in snapshot(env).items():
                np.testing.assert_array_equal(snapshot(c)[key], v, err_msg=key)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**63),
    k=st.integers(1, 12),
    room=st.integers(1, 4),
    ep_len=st.integers(1, 6),
    data=st.data(),
)
def test_collected_matches_reference(seed, k, room, ep_len, data):
    """`collected(slot)` is the reference's per-treasure `collected` flags on random action
    sequences; small rooms put several treasures on one cell and on the start cell."""
    n = 4
    kw = dict(k=k, roomsize=room, episode_length=ep_len, episodes_per_trial=2)
    env = make_env(num_envs=n, seed=seed, **kw)
    refs = [reference(seed, i, **kw) for i in range(n)]
    for i in range(n):
        assert env.collected(i).dtype == bool and env.collected(i).shape == (k,)
        np.testing.assert_array_equal(env.collected(i), refs[i].collected)
    for _ in range(data.draw(st.integers(1, 30))):
        acts = np.array(data.draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)))
        if data.draw(st.booleans()):
            env.step(acts)
            moved = range(n)
        else:
            moved = data.draw(st.lists(st.integers(0, n - 1), unique=True, min_size=1))
            env.step_slots(acts[moved], moved)
        for i in moved:
            refs[i].step(int(acts[i]))
        for i in range(n):
            np.testing.assert_array_equal(env.collected(i), refs[i].collected)


def test_collected_scripted_and_bad_slots():
    env, _ = scripted_env()  # treasures: start, start, east, north, far corner
    assert not env.collected(0).any()  # the reset does not collect the start cell
    env.step(np.array([0]))
    assert env.collected(0).tolist() == [True, True, False, False, False]  # one cell, together
    env.step(np.array([2]))
    assert env.collected(0).tolist() == [True, True, True, False, False]
    run(env, [0] * 7)  # the episode ends: the next one has collected nothing
    assert not env.collected(0).any()
    for bad, err in (
        (1, ValueError),
        (-1, ValueError),
        (0.5, TypeError),
        (True, TypeError),
        ([0], ValueError),
        (None, ValueError),
    ):
        with pytest.raises(err, match="slot"):
            env.collected(bad)
    with pytest.raises(RuntimeError, match="reset"):
        fastmeta.make("DarkTreasureRoom").collected(0)


# -- scripted trajectories ------------------------------------------------------------------------
def scripted_env(mode="step", trial=10):
    # two treasures on the start cell, one east, one north, one in the far corner
    task = TreasureTask(
        x=np.array([4, 4, 5, 4, 8]),
        y=np.array([4, 4, 4, 5, 8]),
        value=np.array([1.0, 0.25, -0.5, 1.5, -3.0], dtype=np.float32),
    )
    env = fastmeta.make(
        "DarkTreasureRoom", num_envs=1, k=5, reward_mode=mode, episodes_per_trial=trial
    )
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
    assert got == [
        ((5, 4), -0.5, False),
        ((4, 4), 1.25, False),
        ((4, 4), 0.0, False),
        ((4, 5), 1.5, False),
        ((4, 4), 0.0, False),
        ((5, 4), 0.0, False),
        ((6, 4), 0.0, False),
        ((7, 4), 0.0, False),
        ((4, 4), 0.0, True),
    ]
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


def test_trial_keeps_task_then_draws_a_new_one():
    env = make_env(num_envs=8, seed=4, episode_length=2, episodes_per_trial=3)
    first = env.tasks
    for t in range(6):
        info = env.step(np.zeros(8, dtype=np.int64))[4]
        assert info["trial_done"].all() == (t == 5)
        if t < 5:
            np.testing.assert_array_equal(env.tasks.x, first.x)
    assert not np.array_equal(env.tasks.value, first.value)


def test_pinned_task_returns_every_trial():
    env, task = scripted_env(trial=1)
    env.pin_tasks(task, slots=[0])
    for _ in range(3):
        got = run(env, [2, 4, 0, 0, 0, 0, 0, 0, 0])
        assert [g[1] for g in got][:2] == [-0.5, 1.25]
    env.unpin_tasks()
    run(env, [0] * 9)
    assert not np.array_equal(env.tasks.value, task.value)


@pytest.mark.parametrize("mode", ["step", "running_return"])
def test_two_threads_are_bit_identical_to_one(mode):
    """num_threads=2 steps with the threaded kernels (slots in blocks, the last one partial; then
    partial steps over random subsets; then full steps on per-slot counters): every output, the
    tasks (sampled and pinned) and the RNG streams match the single-thread env exactly, across
    episode and trial ends."""
    n = 257
    envs = [
        fastmeta.make(
            "DarkTreasureRoom",
            num_envs=n,
            seed=5,
            num_threads=t,
            episodes_per_trial=3,
            reward_mode=mode,
        )
        for t in (1, 2)
    ]
    assert [e.num_threads for e in envs] == [1, 2]
    pinned = envs[0].sample_tasks(3, seed=11)
    for e in envs:
        e.pin_tasks(pinned, slots=[0, 128, 256])
        e.reset()
    rng = np.random.default_rng(0)
    trials_ended = 0
    for step in range(300):
        acts = rng.integers(0, 5, n)
        if 120 <= step < 200:
            slots = rng.permutation(n)[: rng.integers(1, n)]
            outs = [e.step_slots(acts[slots], slots) for e in envs]
        else:
            outs = [e.step(acts) for e in envs]
        for x, y in zip(outs[0][:4], outs[1][:4]):
            np.testing.assert_array_equal(x, y)
        for key in ("trial_done", "episode_index", "episode_return"):
            np.testing.assert_array_equal(outs[0][4][key], outs[1][4][key])
        for key in ("final_obs", "elapsed", "rng_states"):
            np.testing.assert_array_equal(getattr(envs[0], key), getattr(envs[1], key))
        trials_ended += int(envs[0].trial_done.all())
    assert trials_ended >= 3
    for k, v in envs[0].tasks.arrays().items():
        np.testing.assert_array_equal(getattr(envs[1].tasks, k), v)


# -- spec anchors (uniform-random actions, one 9-step episode per room) ---------------------------
@pytest.mark.parametrize("minval, mean, std", [(-4.0, -0.552, 1.484), (0.0, 0.560, 0.849)])
def test_random_return_anchor(minval, mean, std):
    n = 65536
    env = make_env(num_envs=n, seed=123, minval=minval)
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
@pytest.mark.parametrize(
    "kw, err, match",
    [
        (dict(minval=2.0), ValueError, "minval must be < maxval"),
        (dict(minval=0.0, maxval=-1.0), ValueError, "minval must be < maxval"),
        (dict(k=0), ValueError, "k must be >= 1"),
        (dict(k=2.5), TypeError, "k must be an int"),
        (dict(roomsize=12), ValueError, "roomsize"),
        (dict(episode_length=0), ValueError, "episode_length"),
        (dict(reward_mode="sparse"), ValueError, "reward_mode"),
        (dict(maxval=math.inf), ValueError, "maxval"),
        (dict(num_threads=0), ValueError, "num_threads"),
        (dict(num_threads=1.5), TypeError, "num_threads"),
        (dict(num_threads="2"), TypeError, "num_threads"),
    ],
)
def test_bad_parameters(kw, err, match):
    with pytest.raises(err, match=match):
        fastmeta.make("DarkTreasureRoom", num_envs=2, **kw)


def state(env):
    t = env.tasks
    return [
        env.obs.copy(),
        env.rew.copy(),
        env.truncated.copy(),
        env.trial_done.copy(),
        env.episode_return.copy(),
        env._avail.copy(),
        env.rng_states.copy(),
        t.x,
        t.y,
        t.value,
        env.episode_index.copy(),
        env.elapsed.copy(),
    ]


@pytest.mark.parametrize(
    "actions, err",
    [
        (np.array([0, 5, 1]), ValueError),
        (np.array([-1, 0, 1]), ValueError),
        (np.array([0, 1]), ValueError),
        (np.array([0.0, 1.0, 2.0]), TypeError),
    ],
)
@pytest.mark.parametrize("num_threads", [1, 2])
def test_bad_actions_raise_and_leave_state(actions, err, num_threads):
    env = make_env(num_envs=3, seed=1, num_threads=num_threads)
    env.step(np.array([1, 2, 3]))
    for partial in (False, True):  # lockstep, then per-slot counters
        if partial:
            env.step_slots(np.array([1]), [2])
        before = state(env)
        with pytest.raises(err, match="actions"):
            env.step(actions)
        with pytest.raises(err, match="actions"):
            env.step_slots(actions, [2, 0, 1])
        for a, b in zip(before, state(env)):
            np.testing.assert_array_equal(a, b)


def test_bad_tasks():
    env = make_env(num_envs=2, k=2)
    before = state(env)
    bad_x = TreasureTask(
        x=np.array([[0, 9], [0, 0]]), y=np.zeros((2, 2), int), value=np.zeros((2, 2))
    )
    with pytest.raises(ValueError, match="tasks.x"):
        env.reset(tasks=bad_x)
    with pytest.raises(TypeError, match="tasks.y"):
        env.reset(
            tasks=TreasureTask(x=np.zeros((2, 2), int), y=np.zeros((2, 2)), value=np.zeros((2, 2)))
        )
    with pytest.raises(ValueError, match="tasks.value"):
        env.pin_tasks(TreasureTask(x=np.zeros(2, int), y=np.zeros(2, int), value=np.zeros(3)))
    for a, b in zip(before, state(env)):
        np.testing.assert_array_equal(a, b)


def test_task_save_load(tmp_path):
    env = make_env(num_envs=5, seed=3)
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
    assert np.all(cell(4, 4) == 255)  # agent
    assert cell(4, 5)[1] > 100 and cell(4, 5)[0] < 50  # +1.5: green
    assert cell(8, 8)[0] > cell(4, 5)[1] and cell(8, 8)[1] < 50  # -3: red, and brighter
    assert np.all(cell(2, 2) < 50)  # empty
    before = cell(4, 5)
    env.step(np.array([1])), env.step(np.array([3]))
    assert cell(4, 5)[1] < before[1]  # collected: dimmed


def test_gymnasium_views():
    # one Gymnasium episode is one trial: 10 room episodes of 9 steps on one layout
    venv = gymnasium.make_vec(
        "fastmeta/DarkTreasureRoom-v0", num_envs=4, minval=0.0, autoreset_mode="same_step"
    )
    assert isinstance(venv, gymnasium.vector.VectorEnv)
    obs, _ = venv.reset(seed=0)
    assert obs["observation"].shape == (4, 2) and venv.observation_space.contains(obs)
    for t in range(9):
        obs, rew, term, trunc, info = venv.step(venv.action_space.sample())
    # a room episode ended: back at the start, same trial
    assert not trunc.any() and np.all(obs["observation"] == 4) and obs["episode_start"].all()
    np.testing.assert_array_equal(info["episode_index"], 1)
    for t in range(81):
        obs, rew, term, trunc, info = venv.step(venv.action_space.sample())
    assert trunc.all() and info["_final_obs"].all() and np.all(obs["observation"] == 4)
    assert obs["trial_start"].all()
    env = gymnasium.make("fastmeta/DarkTreasureRoom-v0")
    obs, info = env.reset(seed=5)
    native = env.unwrapped.env
    task = native.tasks
    for t in range(8):
        obs, r, term, trunc, info = env.step(2)
    assert tuple(obs["observation"]) == (8, 4)
    obs, r, term, trunc, info = env.step(2)  # the room episode ends, the trial goes on
    assert not trunc and tuple(obs["observation"]) == (4, 4) and info["episode_index"] == 1
    assert tuple(native.final_obs[0]) == (8, 4)
    np.testing.assert_array_equal(native.tasks.value, task.value)
    obs, info = env.reset()  # a new trial: a new room
    assert tuple(obs["observation"]) == (4, 4) and info["episode_index"] == 0
    assert not np.array_equal(native.tasks.value, task.value)


def test_restart_episode_mid_episode():
    env, task = scripted_env()
    run(env, [2, 4, 0])
    env.restart_episode()
    assert tuple(env.obs[0]) == (4, 4) and env.elapsed[0] == 0 and env.episode_return[0] == 0
    assert not env.collected(0).any()
    assert [g[1] for g in run(env, [2, 4])] == [-0.5, 1.25]  # everything pays again
    np.testing.assert_array_equal(env.tasks.value[0], task.value)
    single = gymnasium.make("fastmeta/DarkTreasureRoom-v0").unwrapped
    single.reset(seed=0)
    single.step(2)
    obs, info = single.reset()  # mid-episode: the agent is back at the start of episode 0
    assert tuple(obs["observation"]) == (4, 4) and info["episode_index"] == 0


def test_vector_view_final_obs_is_the_last_position():
    venv = gymnasium.make_vec(
        "fastmeta/DarkTreasureRoom-v0",
        num_envs=3,
        episode_length=2,
        episodes_per_trial=1,
        autoreset_mode="same_step",
    )
    venv.reset(seed=0)
    venv.step(np.array([2, 1, 0]))
    obs, rew, term, trunc, info = venv.step(np.array([2, 1, 4]))
    assert trunc.all() and info["_final_obs"].all()
    np.testing.assert_array_equal(
        [f["observation"] for f in info["final_obs"]], [[6, 4], [4, 6], [3, 4]]
    )
    np.testing.assert_array_equal(obs["observation"], [[4, 4]] * 3)
