"""RayMaze: parity with the plain-Python reference, hand-built mazes with known ray distances,
the forward-move, goal and reward rules, generated mazes, the spec's anchors, tasks, bad input
and the Gymnasium views."""

import math

import gymnasium
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastmeta
from fastmeta.envs.ray_maze import RayMazeTask
from fastmeta.kernels import ray_maze as K
from fastmeta.reference import ray_maze as R
from fastmeta.reference.first_explore_rng import Stream, initial_state
from tests.thread_parity import assert_two_threads_match_one


def ref_task_arrays(task):
    V, H, goals, values = task
    return (np.array(V), np.array(H), np.array(goals, dtype=float), np.array(values, dtype=float))


def check_tasks_equal(env, refs):
    t = env.tasks
    for i, r in enumerate(refs):
        V, H, goals, values = ref_task_arrays(r.task)
        np.testing.assert_array_equal(t.v_walls[i], V)
        np.testing.assert_array_equal(t.h_walls[i], H)
        np.testing.assert_array_equal(t.goals[i], goals)
        np.testing.assert_array_equal(t.goal_values[i], values)


def hand_task(v=(), h=(), goals=(), values=()):
    """A task with the outer walls, interior walls v = [(i, j)], h = [(i, j)], and up to 3 goals
    (unused goal slots are parked as empty-valued points in a corner no position reaches)."""
    V, H = np.zeros((4, 3), bool), np.zeros((3, 4), bool)
    V[[0, 3], :] = True
    H[:, [0, 3]] = True
    for i, j in v:
        V[i, j] = True
    for i, j in h:
        H[i, j] = True
    g = np.zeros((3, 4))
    val = np.zeros(3)
    for k, (rect, x) in enumerate(zip(goals, values)):
        g[k], val[k] = rect, x
    return RayMazeTask(v_walls=V, h_walls=H, goals=g, goal_values=val)


def make(num_envs=1, seed=0, **kw):
    """A reset RayMaze (native envs start nothing until their first reset)."""
    env = fastmeta.make("RayMaze", num_envs=num_envs, seed=seed, **kw)
    env.reset()
    return env


def env_with(task, **kw):
    env = make(**kw)
    env.reset(tasks=task)
    return env


def act(env, *actions):
    out = []
    for a in actions:
        out.append(float(env.step(np.array([a]))[1][0]))
    return out


# -- parity with the reference ------------------------------------------------------------------
@settings(max_examples=20, deadline=None)
@given(
    n=st.sampled_from([1, 2, 5]),
    seed=st.integers(0, 2**63),
    p_reward=st.sampled_from([0.3, 0.0, 1.0, 0.5]),
    penalty=st.sampled_from([-1.0, 0.0]),
    trial=st.integers(1, 3),
    data=st.data(),
)
def test_kernel_matches_reference(n, seed, p_reward, penalty, trial, data):
    env = make(n, seed, p_reward=p_reward, penalty_value=penalty, episodes_per_trial=trial)
    refs = [R.RayMazeRef(seed, i, p_reward, 1.0, penalty, trial) for i in range(n)]
    check_tasks_equal(env, refs)
    np.testing.assert_array_equal(env.obs, np.array([r.obs() for r in refs], dtype=np.float32))
    steps = data.draw(st.integers(1, 45))
    # forward-heavy action mix: the interesting geometry is in forward moves
    acts = data.draw(
        st.lists(
            st.lists(st.sampled_from([0, 0, 1, 2]), min_size=n, max_size=n),
            min_size=steps,
            max_size=steps,
        )
    )
    acc = np.zeros(n)
    for a in acts:
        obs, rew, term, trunc, info = env.step(np.array(a))
        out = [r.step(x) for r, x in zip(refs, a)]
        np.testing.assert_array_equal(rew, np.array([o[1] for o in out], dtype=np.float32))
        np.testing.assert_array_equal(trunc, [o[2] for o in out])
        assert not term.any()
        np.testing.assert_array_equal(info["trial_done"], [o[3] for o in out])
        np.testing.assert_array_equal(info["episode_index"], [r.episode for r in refs])
        ended = np.flatnonzero(trunc)
        np.testing.assert_array_equal(
            env.final_obs[ended],
            np.array([out[i][0] for i in ended], dtype=np.float32).reshape(-1, 30),
        )
        np.testing.assert_array_equal(obs, np.array([o[4] for o in out], dtype=np.float32))
        np.testing.assert_array_equal(env.px, [r.x for r in refs])
        np.testing.assert_array_equal(env.py, [r.y for r in refs])
        acc += [o[1] for o in out]  # info["episode_return"]: the return so far, final at the end
        np.testing.assert_array_equal(info["episode_return"], acc.astype(np.float32))
        acc[trunc] = 0.0
    check_tasks_equal(env, refs)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**63),
    x=st.floats(0.15, 2.85),
    y=st.floats(0.15, 2.85),
    h=st.integers(0, 7),
)
def test_cast_matches_reference_from_arbitrary_poses(seed, x, y, h):
    V, H, goals, values = R.sample_task(Stream(initial_state(seed, 0)))
    task = RayMazeTask(*[a[None] for a in ref_task_arrays((V, H, goals, values))])
    obs = np.zeros((1, 30), np.float32)
    vm, hm = K.wall_masks(task.v_walls, task.h_walls, 0)
    K.write_obs(obs, vm, hm, task.goals, 0, x, y, h)
    ref = R.RayMazeRef(0, 0, task=(V, H, goals, values))
    ref.x, ref.y, ref.heading = x, y, h
    np.testing.assert_array_equal(obs[0], np.array(ref.obs(), dtype=np.float32))


# -- hand-built mazes: ray distances -------------------------------------------------------------
def test_empty_room_ray_distances_are_analytic():
    env = env_with(hand_task())
    d, t = env.obs[0, :15], env.obs[0, 15:]
    for j in range(-7, 8):
        a = math.atan(j / 7 * math.tan(math.pi / 3))
        to_right = 2.45 / math.cos(a)  # x = 3 - 0.05
        to_floor = 0.45 / abs(math.sin(a)) if j < 0 else math.inf  # y = 0 + 0.05
        to_ceil = 2.45 / math.sin(a) if j > 0 else math.inf  # y = 3 - 0.05
        expect = min(to_right, to_floor, to_ceil)
        assert d[j + 7] == pytest.approx(expect, rel=1e-6), j
        assert t[j + 7] == (1 if to_right < min(to_floor, to_ceil) else 0), j
    assert d[7] == np.float32(2.45) and t[7] == 1


def test_hits_sit_005_in_front_of_the_wall_line():
    env = env_with(hand_task(v=[(1, 0)]))
    assert env.obs[0, 7] == np.float32(0.45)  # wall at x = 1, agent at x = 0.5
    act(env, 1, 1)  # face -y: floor at y = 0
    assert env.obs[0, 7] == np.float32(0.45) and env.obs[0, 22] == 0


def test_corner_block_rule():
    # a horizontal wall ending at x = 1 on y = 1; a ray grazing y = 1 within 0.05 stops at the
    # first x-crossing although no vertical wall is there
    task = hand_task(h=[(1, 1)])
    vm, hm = K.wall_masks(task.v_walls[None], task.h_walls[None], 0)
    d, hx, hy, kind = K.cast(
        vm, hm, 0.5, 1.02, K.TAN[0, 15], K.COT[0, 15], K.BACK_X[0, 15], K.BACK_Y[0, 15]
    )
    assert (d, kind) == (pytest.approx(0.45), 1) and hx == pytest.approx(0.95)
    rd = R.cast(task.v_walls.tolist(), task.h_walls.tolist(), 0.5, 1.02, 0.0)
    assert rd[0] == d and rd[3] == kind
    # 0.05 away from the line the corner no longer blocks: the ray crosses the room
    d, *_ = K.cast(vm, hm, 0.5, 1.06, K.TAN[0, 15], K.COT[0, 15], K.BACK_X[0, 15], K.BACK_Y[0, 15])
    assert d == pytest.approx(2.45)


def test_goal_strip_seen_only_from_its_side_and_as_type_2_whatever_its_sign():
    for value in (1.0, -1.0):
        # strip on the far (+x) side of the wall x = 1: invisible from the start cell
        env = env_with(hand_task(v=[(1, 0)], goals=[(1.0, 1.3, 0.0, 1.0)], values=[value]))
        assert env.obs[0, 22] == 1
        # strip on the near side: the hit point (0.95, 0.5) lies inside it
        env = env_with(hand_task(v=[(1, 0)], goals=[(0.7, 1.0, 0.0, 1.0)], values=[value]))
        assert env.obs[0, 22] == 2 and env.obs[0, 7] == np.float32(0.45)


# -- forward moves, headings ---------------------------------------------------------------------
def test_forward_moves_snap_01_before_a_wall_within_06():
    env = env_with(hand_task())
    xs = []
    for _ in range(6):
        act(env, 0)
        xs.append(env.px[0])
    assert xs == [1.0, 1.5, 2.0, 2.5, 2.95 - 0.1, 2.95 - 0.1]
    assert env.py[0] == 0.5


def test_blocked_by_interior_wall():
    env = env_with(hand_task(v=[(1, 0)]))
    act(env, 0)
    assert env.px[0] == 0.95 - 0.1 and env.py[0] == 0.5
    act(env, 0)
    assert env.px[0] == 0.95 - 0.1


def test_headings_are_multiples_of_quarter_pi():
    env = env_with(hand_task())
    start = env.obs[0].copy()
    act(env, 2, 0)  # +pi/4 then forward: a diagonal step of 0.5
    assert env.px[0] == 0.5 + 0.5 * math.cos(math.pi / 4)
    assert env.py[0] == 0.5 + 0.5 * math.sin(math.pi / 4)
    env.reset(tasks=hand_task())
    act(env, *[2] * 8)
    np.testing.assert_array_equal(env.obs[0], start)
    act(env, *[1] * 8)
    np.testing.assert_array_equal(env.obs[0], start)
    act(env, 1, 2)
    np.testing.assert_array_equal(env.obs[0], start)


# -- goals and rewards ---------------------------------------------------------------------------
def test_first_contact_pays_once_per_episode_closed_bounds():
    task = hand_task(goals=[(1.0, 1.3, 0.0, 1.0)], values=[1.0])
    env = env_with(task)
    # x = 1.0 lies on the goal's closed edge
    assert act(env, 0, 0, 2, 2, 2, 2, 0, 0) == [1, 0, 0, 0, 0, 0, 0, 0]
    assert env.episode_return[0] == 1


def test_bad_goal_first_spends_the_episode():
    task = hand_task(goals=[(1.0, 1.3, 0.0, 1.0), (2.0, 2.3, 0.0, 1.0)], values=[-1.0, 1.0])
    env = env_with(task)
    assert act(env, 0, 0, 0) == [-1, 0, 0]


def test_overlapping_goals_pay_their_mean():
    rects = [(1.0, 1.3, 0.0, 1.0), (0.9, 1.3, 0.4, 0.6), (0.8, 1.0, 0.5, 0.5)]
    env = env_with(hand_task(goals=rects[:2], values=[1.0, -1.0]))
    assert act(env, 0, 0) == [0, 0]  # mean 0 still uses the episode's contact
    env = env_with(hand_task(goals=rects, values=[1.0, 1.0, -1.0]))
    assert act(env, 0) == [pytest.approx(1 / 3)]
    env = env_with(hand_task(goals=rects[:2], values=[1.0, 0.5]))
    assert act(env, 0) == [0.75]


def test_each_episode_restarts_and_may_pay_again():
    env = env_with(hand_task(goals=[(1.0, 1.3, 0.0, 1.0)], values=[1.0]), episodes_per_trial=3)
    start = env.obs[0].copy()
    rewards = act(env, *[0] * 20)
    term, trunc, info = env.terminated, env.truncated, env.info
    assert rewards[0] == 1 and sum(rewards) == 1 and trunc[0] and not term[0]
    assert env.px[0] == 0.5 and env.heading[0] == 0 and info["episode_index"][0] == 1
    np.testing.assert_array_equal(env.obs[0], start)
    assert env.final_obs[0, 7] == np.float32(0.1)
    assert act(env, 0) == [1]


# -- generated mazes and the spec's anchors ------------------------------------------------------
def _spanning_tree(V, H):
    """Passages between the 9 cells form a connected graph with 8 edges."""
    edges = [(c * 3 + r, (c - 1) * 3 + r) for c in (1, 2) for r in range(3) if not V[c, r]]
    edges += [(i * 3 + j, i * 3 + j - 1) for i in range(3) for j in (1, 2) if not H[i, j]]
    seen, todo = {0}, [0]
    while todo:
        a = todo.pop()
        for u, w in edges:
            for x, y in ((u, w), (w, u)):
                if x == a and y not in seen:
                    seen.add(y)
                    todo.append(y)
    return len(edges) == 8 and len(seen) == 9


def test_generated_mazes_are_spanning_trees_with_4_interior_walls():
    t = fastmeta.make("RayMaze").sample_tasks(3000, seed=4)
    assert t.v_walls[:, [0, 3]].all() and t.h_walls[:, :, [0, 3]].all()
    interior = t.v_walls[:, 1:3].sum((1, 2)) + t.h_walls[:, :, 1:3].sum((1, 2))
    assert np.all(interior == 4)
    assert all(_spanning_tree(t.v_walls[i], t.h_walls[i]) for i in range(300))
    # goals: 3 distinct strips beside existing interior walls
    for i in range(300):
        V, H = t.v_walls[i], t.h_walls[i]
        strips = R.goal_strips(V.tolist(), H.tolist())
        rows = [tuple(g) for g in t.goals[i]]
        assert len(set(rows)) == 3 and all(g in strips for g in rows)
    # Aldous-Broder gives the uniform spanning tree: all 192 trees of the 3x3 grid, evenly
    keys = np.concatenate(
        [t.v_walls[:, 1:3].reshape(-1, 6), t.h_walls[:, :, 1:3].reshape(-1, 6)], 1
    )
    _, counts = np.unique(keys, axis=0, return_counts=True)
    assert len(counts) == 192
    expect = len(keys) / 192
    chi2 = ((counts - expect) ** 2 / expect).sum()
    assert chi2 < 191 + 5 * math.sqrt(2 * 191)


def test_reset_observation_anchors():
    n = 16384  # as many mazes as the spec's measurement
    env = make(n, 12)
    d, t = env.obs[:, :15], env.obs[:, 15:]
    assert d.min() == np.float32(0.45) and abs(d.max() - 3.15) < 0.005

    def close(per_maze, anchor):
        # both means carry Monte Carlo error over n mazes; the anchor is rounded to 0.0005
        se = per_maze.std() / math.sqrt(n)
        return abs(per_maze.mean() - anchor) < 4 * math.sqrt(2) * se + 0.0005

    assert close(d.mean(axis=1), 1.035)
    for k, p in enumerate((0.523, 0.263, 0.214)):
        assert close((t == k).mean(axis=1), p), k
    good = env.tasks.goal_values > 0
    assert abs(good.mean() - 0.3) < 4 * math.sqrt(0.21 / good.size)


def test_uniform_random_return_anchor():
    n = 16384
    env = make(n, 5)
    rng = np.random.default_rng(5)
    ret = np.zeros(n)
    for _ in range(20):
        ret += env.step(rng.integers(0, 3, n))[1]
    assert env.truncated.all()
    np.testing.assert_array_equal(env.final_obs.shape, (n, 30))
    se = 0.497 / math.sqrt(n)
    assert abs(ret.mean() - (-0.0995)) < 4 * se
    assert abs(ret.std() - 0.497) < 0.02
    for frac, p in (((ret > 0).mean(), 0.0785), ((ret < 0).mean(), 0.178)):
        assert abs(frac - p) < 4 * math.sqrt(p * (1 - p) / n)


# -- trials, tasks, seeding ----------------------------------------------------------------------
def test_trial_keeps_task_then_draws_a_new_one():
    env = make(8, 1, episodes_per_trial=2)
    first = env.tasks
    a = np.zeros(8, dtype=np.int64)
    for t in range(40):
        _, _, _, trunc, info = env.step(a)
        if t < 39:
            assert not info["trial_done"].any()
            np.testing.assert_array_equal(env.tasks.goals, first.goals)
    assert info["trial_done"].all() and (info["episode_index"] == 0).all()
    assert not np.array_equal(env.tasks.goals, first.goals)


def test_pinned_tasks_and_save_load(tmp_path):
    env = make(4, 3, episodes_per_trial=1)
    evalset = env.sample_tasks(4, seed=9)
    evalset.save(tmp_path / "mazes.npz")
    loaded = RayMazeTask.load(tmp_path / "mazes.npz")
    for k, v in evalset.arrays().items():
        np.testing.assert_array_equal(getattr(loaded, k), v)
    env.pin_tasks(loaded[1:3], slots=[1, 2])
    for _ in range(20):
        env.step(np.zeros(4, dtype=np.int64))
    assert env.trial_done.all()
    np.testing.assert_array_equal(env.tasks.goals[1:3], loaded.goals[1:3])
    assert not np.array_equal(env.tasks.goals[0], loaded.goals[0])
    env.reset(tasks=loaded)
    np.testing.assert_array_equal(env.tasks.v_walls, loaded.v_walls)


def test_slot_results_independent_of_batch_size_and_seeded():
    a = make(2, 21)
    b = make(7, 21)
    np.testing.assert_array_equal(a.obs, b.obs[:2])
    for t in range(30):
        act_a = np.array([t % 3, (t * 7) % 3])
        a.step(act_a)
        b.step(np.concatenate([act_a, np.zeros(5, np.int64)]))
        np.testing.assert_array_equal(a.obs, b.obs[:2])
        np.testing.assert_array_equal(a.rew, b.rew[:2])
    a.reset(seed=21)
    np.testing.assert_array_equal(a.tasks.goals, a.sample_tasks(2, seed=21).goals)


def test_two_threads_are_bit_identical_to_one():
    """num_threads=2 steps with the threaded kernel: every output, the tasks (sampled and pinned)
    and the RNG streams match the single-thread env exactly, across episode and trial ends."""
    assert_two_threads_match_one("RayMaze", 3, episodes_per_trial=2)


# -- bad input -----------------------------------------------------------------------------------
def snapshot(env):
    return [
        env.rng_states.copy(),
        env.obs.copy(),
        env.px.copy(),
        env.heading.copy(),
        env.tasks.goals,
        env.episode_index.copy(),
    ]


@pytest.mark.parametrize(
    "actions, err",
    [
        (np.array([0, 3]), ValueError),
        (np.array([-1, 0]), ValueError),
        (np.array([0]), ValueError),
        (np.array([0.0, 1.0]), TypeError),
        (np.array([[0, 1]]), ValueError),
    ],
)
@pytest.mark.parametrize("num_threads", [1, 2])
def test_bad_actions_raise_and_leave_state(actions, err, num_threads):
    env = make(2, 0, num_threads=num_threads)
    env.step(np.array([0, 2]))
    before = snapshot(env)
    with pytest.raises(err, match="actions"):
        env.step(actions)
    for x, y in zip(before, snapshot(env)):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize(
    "kw, err, match",
    [
        (dict(p_reward=1.5), ValueError, "p_reward"),
        (dict(p_reward=-0.1), ValueError, "p_reward"),
        (dict(p_reward="x"), TypeError, "p_reward"),
        (dict(episode_length=0), ValueError, "episode_length"),
        (dict(penalty_value=float("inf")), ValueError, "penalty_value"),
        (dict(episodes_per_trial=0), ValueError, "episodes"),
        (dict(side_rays=3), ValueError, "side_rays"),
        (dict(num_threads=0), ValueError, "num_threads"),
        (dict(num_threads=1.5), TypeError, "num_threads"),
        (dict(num_threads="2"), TypeError, "num_threads"),
    ],
)
def test_bad_parameters(kw, err, match):
    with pytest.raises(err, match=match):
        fastmeta.make("RayMaze", num_envs=2, **kw)


def test_bad_tasks_raise_and_leave_state():
    env = make(2, 0)
    before = snapshot(env)
    open_room = hand_task()
    open_room.v_walls[3, 1] = False
    with pytest.raises(ValueError, match="outer walls"):
        env.reset(tasks=open_room)
    with pytest.raises(ValueError, match="goals"):
        env.reset(tasks=hand_task(goals=[(1.0, 0.5, 0.0, 1.0)], values=[1.0]))
    with pytest.raises(ValueError, match="goals"):
        env.pin_tasks(hand_task(goals=[(1.0, 4.0, 0.0, 1.0)], values=[1.0]))
    with pytest.raises(TypeError, match="RayMazeTask"):
        env.reset(tasks=np.zeros(3))
    for x, y in zip(before, snapshot(env)):
        np.testing.assert_array_equal(x, y)


# -- views ---------------------------------------------------------------------------------------
def test_gymnasium_views():
    venv = gymnasium.make_vec("fastmeta/RayMaze-v0", num_envs=8, penalty_value=0.0)
    assert isinstance(venv, gymnasium.vector.VectorEnv)
    obs, _ = venv.reset(seed=2)
    assert obs["observation"].shape == (8, 30) and obs["observation"].dtype == np.float32
    for _ in range(20):
        obs, rew, term, trunc, info = venv.step(venv.action_space.sample())
    # the first of the trial's 6 episodes ended: the next one starts, the trial goes on
    assert obs["episode_start"].all() and not (term | trunc).any() and (rew >= 0).all()
    np.testing.assert_array_equal(info["episode_index"], 1)
    venv = gymnasium.make_vec(
        "fastmeta/RayMaze-v0",
        num_envs=8,
        penalty_value=0.0,
        episodes_per_trial=1,
        autoreset_mode="same_step",
    )
    venv.reset(seed=2)
    for _ in range(20):
        obs, rew, term, trunc, info = venv.step(venv.action_space.sample())
    assert trunc.all() and info["_final_obs"].all() and (rew >= 0).all()
    env = gymnasium.make("fastmeta/RayMaze-v0", render_mode="rgb_array")
    obs, _ = env.reset(seed=1)
    assert env.observation_space.contains(obs)
    obs, r, term, trunc, info = env.step(0)
    assert isinstance(r, float) and env.observation_space.contains(obs)
    assert env.render().shape == (104, 104, 3)


def test_render_shows_goals_walls_and_agent():
    env = env_with(
        hand_task(
            v=[(1, 0)], goals=[(0.7, 1.0, 0.0, 1.0), (1.0, 2.0, 2.7, 3.0)], values=[1.0, -1.0]
        )
    )
    act(env, 2, 2, 2, 2)  # face -x: rays away from the goals
    img = env.render()
    assert img.shape == (1, 104, 104, 3) and img.dtype == np.uint8
    px = lambda x, y: img[0, int((3 - y) * 32 + 4), int(x * 32 + 4)]  # noqa: E731
    assert tuple(px(0.58, 0.5)) == (40, 80, 220)  # agent
    assert tuple(px(0.4, 0.5)) == (255, 255, 255)  # heading mark
    assert tuple(px(0.85, 0.9)) == (90, 200, 90)  # good goal
    assert tuple(px(1.5, 2.85)) == (220, 80, 80)  # bad goal
    assert tuple(px(1.0, 0.2)) == (20, 20, 20)  # wall x = 1


def test_restart_episode_keeps_task_and_episode_index():
    env = make(3, 8, episodes_per_trial=4)
    start, tasks = env.obs.copy(), env.tasks
    for _ in range(25):
        env.step(np.zeros(3, dtype=np.int64))
    state = env.rng_states.copy()
    env.restart_episode()
    np.testing.assert_array_equal(env.obs, start)
    np.testing.assert_array_equal(env.tasks.goals, tasks.goals)
    assert (env.episode_index == 1).all() and (env.px == 0.5).all() and not env.touched.any()
    np.testing.assert_array_equal(env.rng_states, state)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**63), x=st.floats(0.15, 2.85), y=st.floats(0.15, 2.85), snap=st.booleans()
)
def test_index_gating_of_the_corner_rule_cannot_change_a_hit(seed, x, y, snap):
    """The spec says the original's ungated corner-rule indices (wrap at -1, clamp above) act only
    at or beyond an outer wall, where they cannot change the hit: check against fully gated and
    mirrored readings, from arbitrary poses and from poses grazing a wall line."""
    V, H, _, _ = R.sample_task(Stream(initial_state(seed, 0)))
    if snap:  # within 0.05 of a grid line, where the corner rule fires
        x, y = round(x) + 0.04 * (1 if x > round(x) else -1), round(y) + 0.03
        x, y = min(max(x, 0.15), 2.85), min(max(y, 0.15), 2.85)
    for h in range(8):
        for a in R.RAY_OFFSETS:
            phi = (h * (math.pi / 4) + a) % (2 * math.pi)
            hit = R.cast(V, H, x, y, phi)
            assert R.cast(V, H, x, y, phi, gating="full") == hit
            assert R.cast(V, H, x, y, phi, gating="mirror") == hit
