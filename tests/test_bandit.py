"""FixedArmBandit / GaussianBandit: parity with the plain-Python reference, the spec's anchors,
the ziggurat sampler, tasks (pin, save, load), seeding, bad input and the Gymnasium views."""

import math

import gymnasium
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastmeta
from fastmeta.envs.fixed_arm_bandit import BanditTask
from fastmeta.kernels.bandit import ZIG_X, fill_normals
from fastmeta.kernels.rng import stream_states
from fastmeta.reference.bandit import BanditRef

NAMES = {"FixedArmBandit": True, "GaussianBandit": False}


def make(name, n, seed, **kw):
    if name == "GaussianBandit":
        kw.pop("minval", None)
    env = fastmeta.make(name, num_envs=n, seed=seed, **kw)
    env.reset()
    return env


# -- parity with the reference ------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(sorted(NAMES)),
    n=st.sampled_from([1, 3, 17, 64]),
    seed=st.integers(0, 2**63),
    minval=st.sampled_from([0.5, 0.0, -1.25]),
    noise=st.sampled_from([0.5, 0.1, 0.0]),
    trial=st.integers(1, 6),
    data=st.data(),
)
def test_kernel_matches_reference(name, n, seed, minval, noise, trial, data):
    env = make(name, n, seed, minval=minval, noise=noise, episodes_per_trial=trial)
    refs = [BanditRef(seed, i, NAMES[name], minval, noise, 10, trial) for i in range(n)]
    np.testing.assert_array_equal(env.tasks.means, [r.means for r in refs])
    steps = data.draw(st.integers(1, 15))
    for _ in range(steps):
        acts = np.array(data.draw(st.lists(st.integers(0, 9), min_size=n, max_size=n)))
        _, rew, term, trunc, info = env.step(acts)
        out = [r.step(a) for r, a in zip(refs, acts)]
        np.testing.assert_array_equal(rew, np.array([o[0] for o in out], dtype=np.float32))
        assert term.all() and not trunc.any()
        np.testing.assert_array_equal(info["trial_done"], [o[3] for o in out])
        np.testing.assert_array_equal(info["episode_index"], [r.episode for r in refs])
        np.testing.assert_array_equal(env.tasks.means, [r.means for r in refs])


def test_pinned_and_given_tasks_match_reference():
    n, seed = 5, 11
    given_means = np.arange(50, dtype=np.float32).reshape(5, 10) / 10
    pin = BanditTask(means=-given_means[:2])
    env = make("FixedArmBandit", n, seed, episodes_per_trial=3)  # draws the first task
    env.reset(tasks=BanditTask(means=given_means))
    env.pin_tasks(pin, slots=[1, 3])
    refs = [BanditRef(seed, i, episodes_per_lifetime=3) for i in range(n)]  # draws the first task
    for r, m in zip(refs, given_means):
        r.meta_reset(m)
    refs[1].pinned, refs[3].pinned = pin.means[0], pin.means[1]
    rng = np.random.default_rng(0)
    for t in range(10):
        acts = rng.integers(0, 10, n)
        rew = env.step(acts)[1]
        np.testing.assert_array_equal(rew, [r.step(a)[0] for r, a in zip(refs, acts)])
        np.testing.assert_array_equal(env.tasks.means, [r.means for r in refs])
    np.testing.assert_array_equal(env.tasks.means[[1, 3]], pin.means)


# -- spec facts ---------------------------------------------------------------------------------
def test_fixed_arm_pays_minval_exactly_and_others_are_noisy():
    env = make("FixedArmBandit", 2000, 3, minval=0.5, episodes_per_trial=10**6)
    rew0 = env.step(np.zeros(2000, dtype=np.int64))[1]
    assert rew0.dtype == np.float32 and np.all(rew0 == np.float32(0.5))
    pulls = np.stack([env.step(np.full(2000, 4))[1].copy() for _ in range(20)])
    resid = pulls - env.tasks.means[:, 4]
    # std of 40,000 N(0, 0.25) residuals: standard error of the std is 0.5/sqrt(2*40000)
    assert abs(resid.std() - 0.5) < 5 * 0.5 / math.sqrt(2 * resid.size)
    assert abs(resid.mean()) < 5 * 0.5 / math.sqrt(resid.size)


@pytest.mark.parametrize("minval, anchor, p_best", [(0.5, 1.491, 0.036), (0.0, 1.485, 0.002)])
def test_max_arm_mean_anchor(minval, anchor, p_best):
    env = fastmeta.make("FixedArmBandit", minval=minval)
    means = env.sample_tasks(200_000, seed=5).means
    assert np.all(means[:, 0] == np.float32(minval))
    best = means.max(axis=1)
    se = best.std() / math.sqrt(best.size)
    assert (
        abs(best.mean() - anchor) < 4 * se + 0.0015
    )  # 0.0015: the anchor's own MC error and rounding
    p = (means.argmax(axis=1) == 0).mean()
    assert abs(p - p_best) < 4 * math.sqrt(p_best * (1 - p_best) / best.size) + 0.0005


def test_gaussian_bandit_all_arms_random():
    means = fastmeta.make("GaussianBandit").sample_tasks(100_000, seed=1).means
    assert abs(means.max(axis=1).mean() - 1.538) < 0.01
    assert abs(means[:, 0].std() - 1) < 0.01


def test_ziggurat_is_standard_normal():
    x = np.zeros((500, 2000))
    fill_normals(stream_states(7, 500), x)
    x = x.ravel()
    n = x.size
    assert abs(x.mean()) < 5 / math.sqrt(n)
    assert abs(x.var() - 1) < 5 * math.sqrt(2 / n)
    for t in (0.5, 1.0, 2.0, 3.0, ZIG_X[1], 4.0):  # ZIG_X[1]: where the tail sampler takes over
        p = math.erfc(t / math.sqrt(2))
        assert abs((np.abs(x) > t).mean() - p) < 5 * math.sqrt(p * (1 - p) / n) + 1e-6
    assert ((x > 0).mean() - 0.5) < 5 * 0.5 / math.sqrt(n)
    # the layer recursion closes at the mode: the top layer's area matches the others
    area = ZIG_X[255] * (1 - math.exp(-0.5 * ZIG_X[255] ** 2))
    assert abs(area - ZIG_X[0] * math.exp(-0.5 * ZIG_X[1] ** 2)) < 1e-9


# -- trials, tasks, seeding -----------------------------------------------------------------------
def test_trial_draws_new_task_after_episodes_per_trial():
    env = make("FixedArmBandit", 4, 0, episodes_per_trial=3)
    first = env.tasks.means
    for t in range(3):
        _, _, _, _, info = env.step(np.ones(4, dtype=np.int64))
        if t < 2:
            assert not info["trial_done"].any() and np.all(env.tasks.means == first)
    assert info["trial_done"].all() and info["trial_done"] is env.trial_done
    assert np.all(info["episode_index"] == 0) and not np.any(env.tasks.means[:, 1:] == first[:, 1:])


def test_slot_results_independent_of_batch_size_and_reproducible():
    a = make("FixedArmBandit", 3, 9)
    b = make("FixedArmBandit", 8, 9)
    np.testing.assert_array_equal(a.tasks.means, b.tasks.means[:3])
    r1 = a.step(np.array([1, 2, 3]))[1].copy()
    r2 = b.step(np.array([1, 2, 3, 0, 0, 0, 0, 0]))[1][:3]
    np.testing.assert_array_equal(r1, r2)
    a.reset(seed=9)
    np.testing.assert_array_equal(a.tasks.means, a.sample_tasks(3, 9).means)
    c = make("FixedArmBandit", 3, 10)
    assert not np.array_equal(a.tasks.means, c.tasks.means)


def test_task_save_load_roundtrip(tmp_path):
    env = make("FixedArmBandit", 6, 2)
    tasks = env.sample_tasks(6, seed=4)
    tasks.save(tmp_path / "eval.npz")
    loaded = BanditTask.load(tmp_path / "eval.npz")
    np.testing.assert_array_equal(loaded.means, tasks.means)
    env.reset(tasks=loaded)
    np.testing.assert_array_equal(env.tasks.means, tasks.means)
    assert len(tasks[2:4]) == 2 and tasks[1].means.shape == (1, 10)
    env.tasks.means[:] = 99  # a copy: the env is untouched
    assert not np.any(env.tasks.means == 99)


# -- bad input ------------------------------------------------------------------------------------
def snapshot(env):
    return (env.rng_states.copy(), env.tasks.means, env.episode_index.copy(), env.rew.copy())


@pytest.mark.parametrize(
    "actions, err",
    [
        (np.array([0, 1, 10]), ValueError),
        (np.array([0, -1, 2]), ValueError),
        (np.array([0, 1]), ValueError),
        (np.array([0.0, 1.0, 2.0]), TypeError),
        (np.array([[0, 1, 2]]), ValueError),
        ("012", TypeError),
    ],
)
def test_bad_actions_raise_and_leave_state(actions, err):
    env = make("FixedArmBandit", 3, 0)
    env.step(np.array([1, 2, 3]))
    before = snapshot(env)
    with pytest.raises(err, match="actions"):
        env.step(actions)
    for x, y in zip(before, snapshot(env)):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize(
    "kw, err, match",
    [
        (dict(noise=-0.1), ValueError, "noise"),
        (dict(minval=float("nan")), ValueError, "minval"),
        (dict(num_arms=1), ValueError, "num_arms"),
        (dict(episodes_per_trial=0), ValueError, "episodes"),
        (dict(minval="a"), TypeError, "minval"),
        (dict(arms=3), ValueError, "arms"),
    ],
)
def test_bad_parameters(kw, err, match):
    with pytest.raises(err, match=match):
        fastmeta.make("FixedArmBandit", num_envs=2, **kw)


def test_bad_tasks_raise_and_leave_state():
    env = make("FixedArmBandit", 3, 0)
    before = snapshot(env)
    with pytest.raises(ValueError, match="means"):
        env.reset(tasks=BanditTask(means=np.zeros((2, 10))))
    with pytest.raises(ValueError, match="finite"):
        env.reset(tasks=BanditTask(means=np.full((3, 10), np.nan)))
    with pytest.raises(TypeError, match="BanditTask"):
        env.reset(tasks=np.zeros((3, 10)))
    with pytest.raises(ValueError, match="slots"):
        env.pin_tasks(BanditTask(means=np.zeros(10)), slots=[5])
    for x, y in zip(before, snapshot(env)):
        np.testing.assert_array_equal(x, y)


# -- views ----------------------------------------------------------------------------------------
def test_gymnasium_views():
    venv = gymnasium.make_vec("fastmeta/FixedArmBandit-v0", num_envs=16, minval=0.0)
    assert isinstance(venv, gymnasium.vector.VectorEnv) and venv.num_envs == 16
    obs, _ = venv.reset(seed=1)
    assert "observation" not in obs  # the bandits' observation is empty
    assert obs["trial_start"].all() and obs["episode_start"].all()
    obs, rew, term, trunc, info = venv.step(venv.action_space.sample())
    assert rew.shape == (16,) and not (term | trunc).any()  # a trial is 100 pulls
    assert obs["episode_start"].all() and not obs["trial_start"].any()  # every pull ends an episode
    np.testing.assert_array_equal(obs["prev_reward"][:, 0], rew.astype(np.float32))
    np.testing.assert_array_equal(info["episode_index"], 1)
    # one pull per trial, same-step autoreset: every slot ends its trial and reports its last obs
    venv = gymnasium.make_vec(
        "fastmeta/FixedArmBandit-v0",
        num_envs=16,
        minval=0.0,
        episodes_per_trial=1,
        autoreset_mode="same_step",
    )
    venv.reset(seed=1)
    obs, rew, term, trunc, info = venv.step(venv.action_space.sample())
    assert rew.shape == (16,) and term.all() and info["_final_obs"].all()
    env = gymnasium.make("fastmeta/GaussianBandit-v0", render_mode="rgb_array")
    env.reset(seed=3)
    obs, r, term, trunc, info = env.step(2)
    assert isinstance(r, float) and not term and info["episode_index"] == 1
    assert env.render().shape == (64, 160, 3)
    with pytest.raises(ValueError):
        env.step(11)


def test_render():
    env = make("FixedArmBandit", 2, 0)
    env.step(np.array([0, 3]))
    img = env.render()
    assert img.shape == (2, 64, 160, 3) and img.dtype == np.uint8
    assert np.all(img[1, -1, 3 * 16 + 4] == 255) and not np.all(img[0, -1, 3 * 16 + 4] == 255)


def test_noiseless_gaussian_bandit_pays_its_means():
    env = make("GaussianBandit", 4, 1, noise=0.0)
    acts = np.array([0, 3, 7, 9])
    rew = env.step(acts)[1]
    np.testing.assert_array_equal(rew, env.tasks.means[np.arange(4), acts])


def test_same_seed_gives_common_random_numbers_whatever_was_pulled_before():
    a = make("FixedArmBandit", 50, 8)
    b = make("FixedArmBandit", 50, 8)
    rng = np.random.default_rng(0)
    for t in range(5):  # different pulls, arm 0 included, then the same arm at pull 5
        a.step(rng.integers(0, 10, 50))
        b.step(rng.integers(0, 10, 50))
    ra, rb = a.step(np.full(50, 3))[1], b.step(np.full(50, 3))[1]
    np.testing.assert_array_equal(ra, rb)
