"""Conformance: every registered id through the clients people already use.

Native contract (make, reset, step, step_slots, seeding, state, pickling, close), Gymnasium's
checker and vector wrappers in both autoreset modes, Stable-Baselines3's checker and PPO, the
envpool-style async loop, aliasing of returned observations, and every bad input followed by a
check that the env still equals an untouched twin.
"""

import copy
import pickle

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from gymnasium.vector import AutoresetMode
from gymnasium.wrappers import vector as vw

import fastmeta
import fastmeta.views.envpool_api as envpool
from fastmeta.registry import ENVS

NAMES = fastmeta.list_envs()
IDS = [ENVS[n].gym_id for n in NAMES]


def _skip_without_gl(e):
    if "EGL" in str(e) or "OpenGL" in str(e) or "GL" in type(e).__name__:
        pytest.skip(str(e))
    raise e


def _make(name, **kw):
    try:
        return fastmeta.make(name, **kw)
    except RuntimeError as e:  # only the rendered sign world can lack a system library
        _skip_without_gl(e)


def _make_vec(gym_id, **kw):
    try:
        return gymnasium.make_vec(gym_id, **kw)
    except RuntimeError as e:
        _skip_without_gl(e)


def _gym_make(gym_id, **kw):
    try:
        return gymnasium.make(gym_id, **kw)
    except RuntimeError as e:
        _skip_without_gl(e)


def _actions(n_actions, n, rng):
    return rng.integers(0, n_actions, size=n).astype(np.int64)


def _state_equal(a, b, final_frame_tol: int = 0) -> bool:
    """Equal simulation states. `final_frame_tol`: the sign world draws a final frame at a
    batch position that depends on which slots ended with it, which can move a value by one
    level of 255 (llvmpipe's rounding, see README > Reproducibility)."""
    sa, sb = a.get_state(), b.get_state()

    def same(k):
        x, y = sa.arrays[k], sb.arrays[k]
        if k == "final_obs" and x.dtype == np.uint8 and final_frame_tol:
            return (
                x.shape == y.shape and np.abs(x.astype(int) - y).max(initial=0) <= final_frame_tol
            )
        return np.array_equal(x, y)

    return (
        sa.arrays.keys() == sb.arrays.keys()
        and sa.scalars == sb.scalars
        and all(same(k) for k in sa.arrays)
    )


def _twins(name, n=3, seed=0, **kw):
    a, b = _make(name, num_envs=n, seed=seed, **kw), _make(name, num_envs=n, seed=seed, **kw)
    a.reset()
    b.reset()
    return a, b


# -- native contract --------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_native_make_reset_step(name):
    env = _make(name, num_envs=3, seed=0)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(3, np.int64))
    obs, info = env.reset()
    assert obs is env.obs and obs.shape[0] == 3
    assert env.single_observation_space.contains(np.asarray(obs[0]))
    assert set(info) >= {"episode_index", "trial_done"} and "episode" not in info
    rng = np.random.default_rng(0)
    for _ in range(30):
        obs, rew, term, trunc, info = env.step(_actions(env.single_action_space.n, 3, rng))
        assert obs is env.obs and rew.shape == (3,) and term.dtype == bool and trunc.dtype == bool
        assert not (term & trunc).any()
    assert env.params["num_envs"] == 3 and env.params["seed"] == 0


@pytest.mark.parametrize("name", NAMES)
def test_native_seeding_reproducible(name):
    def trace(seed):
        env = _make(name, num_envs=4, seed=seed)
        env.reset()
        rng = np.random.default_rng(1)
        out = []
        for _ in range(25):
            obs, rew, *_ = env.step(_actions(env.single_action_space.n, 4, rng))
            out.append((obs.copy(), rew.copy()))
        return out

    a, b, c = trace(3), trace(3), trace(4)
    assert all(np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1]) for x, y in zip(a, b))
    assert not all(np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1]) for x, y in zip(a, c))


@pytest.mark.parametrize("name", NAMES)
def test_native_bad_input_leaves_state_equal_to_twin(name):
    env, twin = _twins(name)
    n = env.single_action_space.n
    bad_actions = [
        np.zeros(4, np.int64),
        np.zeros((3, 1), np.int64),
        np.zeros(3, np.float32),
        np.array([0, n, 0]),
        np.array([0, -1, 0]),
        [0.5, 0, 0],
        "abc",
        np.array([0, 2**63, 0], dtype=np.uint64),
    ]
    for actions in bad_actions:
        with pytest.raises((ValueError, TypeError)):
            env.step(actions)
    for seed in (-1, 2**64, 1.5, "0", True):
        with pytest.raises((ValueError, TypeError)):
            env.reset(seed=seed)
    for slots in ([-1, 0], [0, 0], [0.5], [3], np.array([[0, 1]])):
        with pytest.raises((ValueError, TypeError)):
            env.step_slots(np.zeros(np.size(slots), np.int64), slots)
    with pytest.raises(ValueError):
        env.step_slots(np.array([n]), [1])
    with pytest.raises((ValueError, TypeError)):
        env.reset(tasks=np.full(3, 10**6) if env.num_tasks else np.zeros(3))
    with pytest.raises((ValueError, TypeError)):
        env.pin_tasks(np.zeros(3) if env.num_tasks else "task", slots=[0, 1, 2])
    with pytest.raises((ValueError, TypeError)):
        env.reset(
            instructions=np.full(
                (3, env.episodes_per_trial, max(1, len(env.instruction_highs))), 99
            )
        )
    assert _state_equal(env, twin)
    rng_a, rng_b = np.random.default_rng(2), np.random.default_rng(2)
    for _ in range(10):
        oa, ra, *_ = env.step(_actions(n, 3, rng_a))
        ob, rb, *_ = twin.step(_actions(n, 3, rng_b))
        assert np.array_equal(oa, ob) and np.array_equal(ra, rb)


@pytest.mark.parametrize("name", NAMES)
def test_native_step_slots_leaves_other_slots_alone(name):
    env, twin = _twins(name, n=4)
    rng = np.random.default_rng(3)
    n = env.single_action_space.n
    for _ in range(25):  # slots 1 and 3 move; 0 and 2 must equal a twin that never moved them
        env.step_slots(_actions(n, 2, rng), [3, 1])
    for k in env.get_state().arrays:
        if k.startswith("_v") or k == "_frames":
            continue
        a, b = env.get_state().arrays[k], twin.get_state().arrays[k]
        if a.shape[:1] == (4,):
            assert np.array_equal(a[[0, 2]], b[[0, 2]]), k
    # a moved slot depends only on its own actions: as if every slot had been stepped
    full, _ = _twins(name, n=4)
    part, _ = _twins(name, n=4)
    for _ in range(25):
        a = _actions(n, 4, rng)
        full.step(a)
        part.step_slots(a[[2, 0]], [2, 0])
        part.step_slots(a[[3, 1]], np.array([3, 1], dtype=np.int32))
    assert _state_equal(full, part, final_frame_tol=1)


@pytest.mark.parametrize("name", NAMES)
def test_native_state_pickle_and_deepcopy_resume_exactly(name):
    env = _make(name, num_envs=3, seed=5)
    env.reset()
    rng = np.random.default_rng(0)
    n = env.single_action_space.n
    for _ in range(7):
        env.step(_actions(n, 3, rng))
    clones = [pickle.loads(pickle.dumps(env)), copy.deepcopy(env)]
    fresh = _make(name, num_envs=3, seed=99)
    fresh.set_state(env.get_state())
    clones.append(fresh)
    for _ in range(30):
        a = _actions(n, 3, rng)
        o, r, *_ = env.step(a)
        for c in clones:
            oc, rc, *_ = c.step(a.copy())
            assert np.array_equal(o, oc) and np.array_equal(r, rc)
    other = _make(name, num_envs=2, seed=0)
    with pytest.raises(ValueError, match="shape|match"):
        other.set_state(env.get_state())


@pytest.mark.parametrize("name", NAMES)
def test_native_close_ends_the_env(name):
    env = _make(name, num_envs=2, seed=0)
    env.reset()
    env.close()
    for call in (
        lambda: env.step(np.zeros(2, np.int64)),
        env.reset,
        lambda: env.step_slots(np.zeros(1, np.int64), [0]),
    ):
        with pytest.raises(RuntimeError, match="closed"):
            call()


# -- Gymnasium --------------------------------------------------------------------------------
@pytest.mark.parametrize("gym_id", IDS)
def test_gymnasium_check_env_single(gym_id):
    env = _gym_make(gym_id)
    gym_check_env(env.unwrapped, skip_render_check=True)
    for key in ("prev_action", "prev_reward", "episode_start", "trial_start"):
        assert key in env.observation_space.spaces
    assert env.observation_space["prev_reward"].shape == (1,)
    assert all(
        np.prod(s.shape) > 0
        for s in env.observation_space.spaces.values()
        if isinstance(s, gymnasium.spaces.Box)
    )
    env.close()


def _run(venv, steps, seed=0):
    obs, info = venv.reset(seed=seed)
    venv.action_space.seed(seed)
    out = []
    for _ in range(steps):
        out.append(venv.step(venv.action_space.sample()))
    return out


@pytest.mark.parametrize("gym_id", IDS)
def test_gymnasium_vector_wrappers_next_step(gym_id):
    venv = _make_vec(gym_id, num_envs=3)
    assert isinstance(venv, gymnasium.vector.VectorEnv)
    assert not isinstance(venv, gymnasium.vector.SyncVectorEnv)
    assert venv.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    wrapped = vw.DictInfoToList(
        vw.NormalizeReward(
            vw.NormalizeObservation(vw.FlattenObservation(vw.RecordEpisodeStatistics(venv)))
        )
    )
    steps = 260 if "Bandit" in gym_id else 130
    results = _run(wrapped, steps)
    episodes = [i for r in results for i in r[4] if "episode" in i]
    assert episodes, "RecordEpisodeStatistics saw no finished trial"
    assert all(np.isfinite(r[0]).all() and r[0].dtype.kind == "f" for r in results)
    assert wrapped.observation_space.shape == (3, results[0][0].shape[1])
    wrapped.close()


@pytest.mark.parametrize("gym_id", IDS)
def test_gymnasium_vector_wrappers_same_step(gym_id):
    venv = _make_vec(gym_id, num_envs=3, autoreset_mode="same_step")
    assert venv.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    wrapped = vw.DictInfoToList(vw.NormalizeReward(vw.RecordEpisodeStatistics(venv)))
    steps = 260 if "Bandit" in gym_id else 130
    results = _run(wrapped, steps)
    finals = [i for r in results for i in r[4] if "final_obs" in i]
    assert finals and all(venv.single_observation_space.contains(i["final_obs"]) for i in finals)
    assert any("episode" in i for r in results for i in r[4])
    with pytest.raises(Exception):
        vw.FlattenObservation(venv)  # Gymnasium's observation wrappers refuse SAME_STEP
    wrapped.close()


@pytest.mark.parametrize("gym_id", IDS)
def test_vector_observations_are_never_overwritten(gym_id):
    venv = _make_vec(gym_id, num_envs=2)
    obs0, info0 = venv.reset(seed=0)
    kept = copy.deepcopy(obs0)
    venv.action_space.seed(0)
    history = []
    for _ in range(45):
        obs, rew, term, trunc, info = venv.step(venv.action_space.sample())
        history.append((obs, copy.deepcopy(obs), rew, rew.copy()))
    assert all(np.array_equal(obs0[k], kept[k]) for k in kept)
    assert all(np.array_equal(o[k], c[k]) for o, c, _, _ in history for k in o)
    assert all(np.array_equal(r, rc) for *_, r, rc in history)
    venv.close()


def test_zero_copy_option_returns_the_views_buffers():
    venv = gymnasium.make_vec("fastmeta/MapBus-v0", num_envs=2, copy=False)
    obs0, _ = venv.reset(seed=0)
    obs1, *_ = venv.step(np.array([2, 2]))
    assert obs1["observation"] is obs0["observation"]  # documented: overwritten by later calls


@pytest.mark.parametrize("gym_id", IDS)
def test_vector_bad_input_and_close(gym_id):
    venv = _make_vec(gym_id, num_envs=2)
    twin = _make_vec(gym_id, num_envs=2)
    with pytest.raises(RuntimeError, match="reset"):
        venv.step(np.zeros(2, np.int64))
    venv.reset(seed=1)
    twin.reset(seed=1)
    n = venv.single_action_space.n
    for bad in (
        np.array([0, n]),
        np.array([-1, 0]),
        np.zeros(3, np.int64),
        np.zeros(2, np.float64),
    ):
        with pytest.raises((ValueError, TypeError)):
            venv.step(bad)
    for seed in (-1, 0.5, [1, 2]):
        with pytest.raises((ValueError, TypeError)):
            venv.reset(seed=seed)
    with pytest.raises(ValueError, match="option"):
        venv.reset(options={"task": 1})
    assert _state_equal(venv.unwrapped.env, twin.unwrapped.env)
    a = np.zeros(2, np.int64)
    for _ in range(30):
        oa, ra, *_ = venv.step(a)
        ob, rb, *_ = twin.step(a)
        assert all(np.array_equal(oa[k], ob[k]) for k in oa) and np.array_equal(ra, rb)
    venv.close()
    with pytest.raises(RuntimeError, match="closed"):
        venv.step(a)
    with pytest.raises(RuntimeError, match="closed"):
        venv.reset()


@pytest.mark.parametrize("gym_id", IDS)
def test_both_autoreset_modes_see_the_same_trials(gym_id):
    """NEXT_STEP is SAME_STEP with one extra reset step per trial: the same rewards otherwise."""
    nxt = _make_vec(gym_id, num_envs=1)
    same = _make_vec(gym_id, num_envs=1, autoreset_mode="same_step")
    nxt.reset(seed=4)
    same.reset(seed=4)
    rng = np.random.default_rng(0)
    n = nxt.single_action_space.n
    r_next, r_same, pending = [], [], False
    for _ in range(150):
        a = _actions(n, 1, rng)
        _, r, t, tr, _ = nxt.step(a)
        if pending:  # the reset step: action ignored, reward 0
            assert r[0] == 0 and not (t[0] or tr[0])
            _, r, t, tr, _ = nxt.step(a)
        r_next.append(r[0])
        pending = bool(t[0] or tr[0])
        _, rs, ts, trs, _ = same.step(a)
        r_same.append(rs[0])
        assert (t[0], tr[0]) == (ts[0], trs[0])
    assert np.array_equal(r_next, r_same)


# -- Stable-Baselines3 --------------------------------------------------------------------------
@pytest.mark.parametrize("gym_id", IDS)
def test_sb3_check_env(gym_id):
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = _gym_make(gym_id)
    sb3_check_env(env, warn=True)
    env.close()


@pytest.mark.parametrize(
    "gym_id",
    [
        "fastmeta/MapBus-v0",
        "fastmeta/FixedArmBandit-v0",
        "fastmeta/DarkTreasureRoom-v0",
        "fastmeta/Sign-v0",
    ],
)
def test_sb3_ppo_trains_a_few_hundred_steps(gym_id):
    from stable_baselines3 import PPO

    env = _gym_make(gym_id)
    model = PPO(
        "MultiInputPolicy",
        env,
        n_steps=64,
        batch_size=32,
        n_epochs=1,
        seed=0,
        policy_kwargs={"net_arch": [32]},
        device="cpu",
    )
    model.learn(total_timesteps=256)
    assert model.num_timesteps >= 256
    obs, _ = env.reset(seed=0)
    action, _ = model.predict(obs, deterministic=True)
    assert env.action_space.contains(int(action))
    env.close()


@pytest.mark.parametrize("gym_id", ["fastmeta/MapBus-v0", "fastmeta/FixedArmBandit-v0"])
def test_sb3_contrib_recurrent_ppo_trains(gym_id):
    """RecurrentPPO, the SB3 policy meta-RL users reach for, on a grid and a bandit."""
    from sb3_contrib import RecurrentPPO

    env = _gym_make(gym_id)
    model = RecurrentPPO(
        "MultiInputLstmPolicy",
        env,
        n_steps=64,
        batch_size=32,
        n_epochs=1,
        seed=0,
        policy_kwargs={"net_arch": [32], "lstm_hidden_size": 32},
        device="cpu",
    )
    model.learn(total_timesteps=256)
    assert model.num_timesteps >= 256
    env.close()


# -- envpool convention -------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_envpool_async_loop_with_smaller_batches(name):
    task_id = ENVS[name].gym_id.split("/", 1)[1]
    assert task_id in envpool.list_all_envs()
    try:
        env = envpool.make(task_id, env_type="gymnasium", num_envs=4, batch_size=2, seed=0)
    except RuntimeError as e:
        _skip_without_gl(e)
    env.async_reset()
    rng = np.random.default_rng(0)
    seen = set()
    stored = []
    for _ in range(60):
        obs, rew, term, trunc, info = env.recv()
        ids = info["env_id"]
        assert ids.dtype == np.int64 and len(ids) == 2 and set(info) >= {"env_id", "episode_index"}
        assert env.observation_space.contains({k: v[0] for k, v in obs.items()})
        stored.append((obs, copy.deepcopy(obs)))
        seen.update(ids.tolist())
        env.send(_actions(env.action_space.n, 2, rng), ids)
    assert seen == {0, 1, 2, 3}
    assert all(np.array_equal(o[k], c[k]) for o, c in stored for k in o)
    env.close()


def test_envpool_sync_matches_gymnasium_vector():
    env = envpool.make("MapBus-v0", env_type="gymnasium", num_envs=4, seed=0)
    venv = gymnasium.make_vec("fastmeta/MapBus-v0", num_envs=4, seed=0)
    obs, info = env.reset()
    vobs, _ = venv.reset()
    assert info["env_id"].tolist() == [0, 1, 2, 3]
    rng = np.random.default_rng(0)
    for _ in range(50):
        a = _actions(9, 4, rng)
        obs, rew, term, trunc, info = env.step(a)
        vobs, vrew, vterm, vtrunc, _ = venv.step(a)
        assert all(np.array_equal(obs[k], vobs[k]) for k in obs)
        assert np.array_equal(rew, vrew) and np.array_equal(term, vterm)


@pytest.mark.parametrize("name", ["map", "FixedArmBandit", "RayMaze"])
def test_envpool_env_ids_are_checked_before_anything_moves(name):
    task_id = ENVS[name].gym_id.split("/", 1)[1]
    env = envpool.make(task_id, num_envs=4, batch_size=2, seed=0)
    twin = envpool.make(task_id, num_envs=4, batch_size=2, seed=0)
    for e in (env, twin):
        e.async_reset()
        e.recv()  # slots 0 and 1 are in hand
    a = np.zeros(2, np.int64)
    for bad, err in (
        ([-1, 0], ValueError),
        ([0, 4], ValueError),
        ([0, 0], ValueError),
        (np.array([0.5, 1.0]), TypeError),
        ([0, 2], ValueError),  # 2 is not in hand
        (np.array([[0, 1]]), ValueError),
    ):
        with pytest.raises(err):
            env.send(a, bad)
    with pytest.raises(ValueError):
        env.send(np.array([0, 99]), [0, 1])
    with pytest.raises(TypeError):
        env.send(np.array([0.0, 1.0]), [0, 1])
    assert _state_equal(env._vec.env, twin._vec.env)
    env.send(a, [0, 1])
    twin.send(a, [0, 1])
    for _ in range(2):
        r1, r2 = env.recv(), twin.recv()
        assert r1[4]["env_id"].tolist() == r2[4]["env_id"].tolist()
        assert all(np.array_equal(r1[0][k], r2[0][k]) for k in r1[0])
    with pytest.raises(RuntimeError, match="ready"):
        env.recv()
    with pytest.raises(ValueError, match="env_type"):
        envpool.make(task_id, env_type="dm")
    with pytest.raises(ValueError, match="batch_size"):
        envpool.make(task_id, num_envs=2, batch_size=3)


# -- registry -----------------------------------------------------------------------------------
def test_unknown_names_and_parameters():
    with pytest.raises(ValueError, match="unknown env 'distracton'.*distraction"):
        fastmeta.make("distracton")
    with pytest.raises(ValueError, match="unknown parameter.*'episodes'"):
        fastmeta.make("distraction", episodes=3)
    with pytest.raises(ValueError, match="unknown parameter.*'bogus'.*autoreset_mode"):
        gymnasium.make_vec("fastmeta/DistractionBus-v0", num_envs=2, bogus=1)
    with pytest.raises(ValueError, match="num_envs"):
        fastmeta.make("distraction", num_envs=0)
    with pytest.raises(TypeError, match="num_envs"):
        fastmeta.make("distraction", num_envs=2.0)
    with pytest.raises(ValueError, match="split"):
        fastmeta.make("distraction", split="validation")
    with pytest.raises(ValueError, match="autoreset_mode"):
        gymnasium.make_vec("fastmeta/RayMaze-v0", num_envs=2, autoreset_mode="disabled")


def test_names_and_gym_ids_resolve_to_the_same_env():
    for alias in (
        "distraction",
        "DistractionBus",
        "fastmeta/DistractionBus-v0",
        "DistractionBus-v0",
    ):
        assert type(fastmeta.make(alias)).__name__ == "DistractionBus"


# -- the meta-RL observation ----------------------------------------------------------------------
PIN = dict(tasks=np.array([0, 0]), instructions=np.tile(np.array([[8, 8], [0, 0]]), (2, 1, 1)))


def test_grid_trial_observation_reward_zeroing_and_boundary():
    venv = gymnasium.make_vec("fastmeta/VanillaBus-v0", num_envs=2)
    obs, info = venv.reset(options=PIN)
    assert obs["instruction"].tolist() == [[8, 8], [8, 8]] and obs["prev_action"].tolist() == [0, 0]
    assert obs["trial_start"].tolist() == [1, 1] and obs["episode_start"].tolist() == [1, 1]
    obs, rew, term, trunc, info = venv.step(np.array([1, 4]))
    assert rew.tolist() == [0.0, 0.0]  # first episode is not optimised
    assert obs["prev_reward"][:, 0].tolist() == [np.float32(-0.1)] * 2  # ... but observed
    assert obs["prev_action"].tolist() == [2, 5] and obs["episode_start"].tolist() == [0, 0]
    obs, rew, term, trunc, info = venv.step(np.array([6, 4]))  # slot 0 ends episode 1
    assert obs["episode_start"].tolist() == [1, 0] and obs["prev_action"].tolist() == [0, 5]
    assert obs["prev_reward"][0, 0] == np.float32(-0.1 - 18 * 0.1) and rew[0] == 0.0
    assert obs["instruction"][0].tolist() == [0, 0] and obs["observation"][0].tolist() == [4, 4, 0]
    assert not term[0] and info["episode_index"].tolist() == [1, 0] and obs["trial_start"][0] == 0
    obs, rew, term, trunc, info = venv.step(np.array([6, 4]))  # slot 0 ends the trial
    assert rew[0] == -0.1 - 19 * 0.1 and term.tolist() == [True, False] and not trunc.any()
    # NEXT_STEP: the trial's last observation now, a new trial on the next call
    assert obs["instruction"][0].tolist() == [0, 0] and obs["prev_action"][0] == 7
    assert obs["episode_start"][0] == 0 and obs["trial_start"][0] == 0
    obs, rew, term, trunc, info = venv.step(np.array([6, 4]))
    assert rew[0] == 0.0 and not term[0] and obs["prev_action"][0] == 0
    assert obs["trial_start"][0] == 1 and obs["episode_start"][0] == 1
    assert info["episode_index"][0] == 0 and obs["observation"][0].tolist() == [4, 4, 0]


def test_timeout_is_truncated_not_terminated():
    venv = gymnasium.make_vec("fastmeta/VanillaBus-v0", num_envs=2)
    venv.reset(options=PIN)
    for t in range(40):
        obs, rew, term, trunc, info = venv.step(np.array([4, 4]))
    assert trunc.all() and not term.any()


def test_bandit_observation_carries_the_pulled_arm_across_its_one_step_episodes():
    venv = gymnasium.make_vec("fastmeta/FixedArmBandit-v0", num_envs=2)
    assert "observation" not in venv.single_observation_space.spaces  # no empty Box
    venv.reset(seed=0)
    for arms in ([3, 5], [0, 9]):
        obs, rew, term, trunc, info = venv.step(np.array(arms))
        assert obs["prev_action"].tolist() == [a + 1 for a in arms]
        assert np.array_equal(obs["prev_reward"][:, 0], rew.astype(np.float32))
        assert obs["episode_start"].tolist() == [1, 1] and obs["trial_start"].tolist() == [0, 0]
    assert rew[0] == np.float32(0.5)  # the fixed arm pays minval exactly
    grid = gymnasium.make_vec("fastmeta/VanillaBus-v0", num_envs=1, prev_action_reset="trial")
    grid.reset(options={k: v[:1] for k, v in PIN.items()})
    obs, *_ = grid.step(np.array([6]))  # ends episode 1; the action stays visible
    assert obs["episode_start"][0] == 1 and obs["prev_action"][0] == 7
    with pytest.raises(ValueError, match="prev_action_reset"):
        gymnasium.make_vec("fastmeta/VanillaBus-v0", num_envs=1, prev_action_reset="never")


def test_make_vec_kwargs_reach_env_and_view():
    venv = gymnasium.make_vec(
        "fastmeta/DistractionBus-v0",
        num_envs=3,
        split="test",
        first_episode_no_optimization=False,
        autoreset_mode="same_step",
    )
    assert venv.env.split == "test" and not venv.first_episode_no_optimization
    obs, info = venv.reset(seed=1)
    from fastmeta.envs.distraction_bus import DistractionBus

    assert set(info["task_id"].tolist()) <= set(DistractionBus.test_ids().tolist())
