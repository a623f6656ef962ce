"""The batched grid envs against the plain-Python reference, the spec's golden values and
scripted optimal/failing trajectories."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastmeta
from fastmeta.reference.grid import GOALS, RefGridEnv, RefInstructionWrapper, split_ids

KINDS = ["vanilla", "distraction", "map", "cooking"]
ENV_ID_HIGH = {"vanilla": 24, "distraction": 576, "map": 24, "cooking": 64}


class RefSlot:
    """The reference driven like one slot of the batched env (same tasks and instructions)."""

    def __init__(self, kind, task, instructions):
        self.kind = kind
        self.start(task, instructions)

    def start(self, task, instructions):
        self.env = RefGridEnv(self.kind, int(task))
        self.wrapper = RefInstructionWrapper(self.env)
        self.obs, _ = self.wrapper.reset()
        self.wrapper.instructions = [int(v) for v in instructions]

    def step(self, a):
        obs, _, done, r, complete = self.wrapper.step(a)
        terminated = complete or a == 6
        return obs, r, terminated, done and not terminated


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    n=st.sampled_from([1, 3, 17]),
    seed=st.integers(0, 2**31),
    data=st.data(),
)
def test_kernel_matches_reference(kind, n, seed, data):
    env = fastmeta.make(
        kind,
        num_envs=n,
        seed=seed,
        episodes_per_trial=2,
        split=data.draw(st.sampled_from(["train", "test"])),
    )
    env.reset()
    refs = [RefSlot(kind, env.tasks[i], env.instructions[i]) for i in range(n)]
    for i in range(n):
        assert env.obs[i].tolist() == refs[i].obs
    steps = data.draw(st.integers(1, 70))
    # bias towards the object actions so pickup/drop/ride paths are exercised often
    actions = data.draw(
        st.lists(
            st.lists(st.integers(0, 8), min_size=n, max_size=n), min_size=steps, max_size=steps
        )
    )
    for row in actions:
        episode_before = env.info["episode_index"].copy()
        obs, rew, term, trunc, info = env.step(np.array(row, dtype=np.int64))
        for i, a in enumerate(row):
            r_obs, r_rew, r_term, r_trunc = refs[i].step(a)
            assert rew[i] == r_rew, (kind, i, a)
            assert (term[i], trunc[i]) == (r_term, r_trunc)
            if r_term or r_trunc:
                assert env.final_obs[i].tolist() == r_obs
                trial_over = episode_before[i] == 1
                assert info["trial_done"][i] == trial_over
                assert info["episode_index"][i] == (0 if trial_over else 1)
                if not trial_over:
                    assert env.tasks[i] == refs[i].env.env_id
                refs[i].start(env.tasks[i], env.instructions[i])
                assert obs[i].tolist() == refs[i].obs
            else:
                assert obs[i].tolist() == r_obs
                assert not info["trial_done"][i]


@pytest.mark.parametrize("kind", KINDS)
def test_sampled_tasks_and_instructions_are_valid(kind):
    env = fastmeta.make(kind, num_envs=4096, seed=1, split="test")
    env.reset()
    assert set(env.tasks.tolist()) <= set(split_ids(kind, test=True))
    if kind == "cooking":
        digits = (env.tasks[:, None] // 4 ** np.arange(3)) % 4
        for j in range(2):
            assert (digits == env.instructions[:, j : j + 1]).any(axis=1).all()
    else:
        goals = {tuple(g) for g in env.instructions.tolist()}
        assert goals == set(GOALS)
        counts = np.unique(env.instructions[:, 0] * 9 + env.instructions[:, 1], return_counts=True)[
            1
        ]
        assert counts.min() > 4096 / 4 * 0.85  # uniform over the four corners


def test_splits():
    from fastmeta.envs.cooking import Cooking
    from fastmeta.envs.distraction_bus import DistractionBus
    from fastmeta.envs.map_bus import MapBus
    from fastmeta.envs.vanilla_bus import VanillaBus

    assert len(DistractionBus.train_ids()) == 53 and len(DistractionBus.test_ids()) == 523
    assert DistractionBus.train_ids()[:3].tolist() == [0, 11, 22]
    assert (np.diff(DistractionBus.test_ids()) > 0).all()
    assert len(Cooking.train_ids()) == 63 and Cooking.test_ids().tolist() == [10]
    for cls in (VanillaBus, MapBus):
        assert cls.train_ids().tolist() == cls.test_ids().tolist() == list(range(24))


def _run(env, actions):
    out = []
    for a in actions:
        obs, rew, term, trunc, _ = env.step(np.array([a]))
        ended = term[0] or trunc[0]
        out.append(
            (
                (env.final_obs if ended else obs)[0].tolist(),
                float(rew[0]),
                bool(term[0]),
                bool(trunc[0]),
            )
        )
    return out


def test_golden_distraction_trajectory():
    env = fastmeta.make("distraction", num_envs=1)
    env.reset(tasks=np.array([100]), instructions=np.array([[[8, 8], [8, 8]]]))
    out = _run(env, [1, 5, 3, 3, 0, 4, 7, 8, 2] + [1] * 11)
    expected = (
        [[4, 5, 1], [0, 1, 1]]
        + [[0, 0, 0]] * 6
        + [[1, 0, 0]]
        + [[1, y, 0] for y in range(1, 9)]
        + [[1, 8, 0]] * 3
    )
    assert [o for o, *_ in out] == expected
    assert all(r == -0.1 for _, r, _, _ in out)
    assert [t or tr for _, _, t, tr in out] == [False] * 19 + [True]
    assert out[-1][3] and not out[-1][2]  # a time-out is truncated, never terminated
    env.reset(tasks=np.array([100]), instructions=np.array([[[8, 8], [8, 8]]]))
    assert [o for o, *_ in _run(env, [0, 5])] == [[3, 4, 1], [0, 7, 1]]


def test_golden_cooking_failure_trajectory():
    env = fastmeta.make("cooking", num_envs=1)
    obs, _ = env.reset(tasks=np.array([10]), instructions=np.array([[[2, 2], [2, 2]]]))
    assert obs[0].tolist() == [1, 1, 2, 4, 4, 4, 4]
    out = _run(env, [7, 4, 2, 3, 7, 0, 8, 8, 7, 6])
    assert [r for _, r, _, _ in out] == [
        -0.35,
        -0.1,
        -0.1,
        -0.1,
        0.25,
        -0.1,
        -0.35,
        -0.1,
        -0.35,
        -1.1,
    ]
    assert [o for o, *_ in out] == [[1, 1, 2, 4, 4, 4, 4]] * 2 + [
        [2, 1, 3, 4, 4, 4, 4],
        [2, 0, 3, 4, 4, 4, 4],
        [2, 0, 3, 2, 4, 4, 4],
        [1, 0, 0, 2, 4, 4, 4],
    ] + [[1, 0, 0, 4, 4, 4, 4]] * 4
    assert out[-1][2] and not any(t for _, _, t, _ in out[:-1])


def test_end_episode_penalty_float_arithmetic():
    env = fastmeta.make("vanilla", num_envs=1)
    env.reset(tasks=np.array([0]), instructions=np.array([[[8, 8], [8, 8]]]))
    out = _run(env, [4] * 6 + [6])
    assert out[-1][1] == -1.4000000000000001 and out[-1][2]
    env.reset(tasks=np.array([0]), instructions=np.array([[[8, 8], [8, 8]]]))
    assert _run(env, [6])[0][1] == -2.0


def _optimal_bus_actions(task, goal):
    from fastmeta.envs.vanilla_bus import DESTINATIONS, PERMUTATIONS, SOURCES

    step_to = {(4, 5): 1, (5, 4): 2, (3, 4): 0, (4, 3): 3}
    perm = PERMUTATIONS[task % 24]
    for k, src in enumerate(SOURCES):
        dx, dy = DESTINATIONS[perm[k]]
        if abs(dx - goal[0]) + abs(dy - goal[1]) == 1:
            last = 1 if goal[1] > dy else 3
            return [step_to[src], 5, last]
    raise AssertionError("every goal corner is one step from a bus destination")


@pytest.mark.parametrize("kind", ["vanilla", "distraction", "map"])
def test_scripted_optimal_bus_return_is_0_8(kind):
    ids = np.arange(ENV_ID_HIGH[kind])
    tasks = np.repeat(ids, 4)
    goals = np.tile(np.array(GOALS), (len(ids), 1))
    n = len(tasks)
    env = fastmeta.make(kind, num_envs=n)
    env.reset(tasks=tasks, instructions=np.repeat(goals[:, None], 2, axis=1))
    plans = np.array([_optimal_bus_actions(t, g) for t, g in zip(tasks, goals)])
    total = np.zeros(n)
    for t in range(3):
        _, rew, term, trunc, _ = env.step(plans[:, t].copy())
        total += rew
        assert term.all() == (t == 2) and not trunc.any()
    np.testing.assert_allclose(total, 0.8, rtol=0, atol=1e-12)


def test_walking_to_the_goal_returns_0_3():
    env = fastmeta.make("vanilla", num_envs=1)
    env.reset(tasks=np.array([3]), instructions=np.array([[[0, 0], [0, 0]]]))
    out = _run(env, [0, 0, 0, 0, 3, 3, 3, 3])
    assert abs(sum(r for _, r, _, _ in out) - 0.3) < 1e-12 and out[-1][2]


def test_scripted_optimal_cooking_returns_0_6():
    env = fastmeta.make("cooking", num_envs=1)
    env.reset(tasks=np.array([10]), instructions=np.array([[[2, 2], [2, 2]]]))
    out = _run(env, [2, 7, 0, 8, 2, 7, 0, 8])
    assert [r for _, r, _, _ in out] == [-0.1, 0.25, -0.1, 0.25, -0.1, 0.25, -0.1, 0.25]
    assert abs(sum(r for _, r, _, _ in out) - 0.6) < 1e-12 and out[-1][2]


def test_map_cell_shows_env_id():
    env = fastmeta.make("map", num_envs=1)
    env.reset(tasks=np.array([5]), instructions=np.array([[[0, 0], [0, 0]]]))
    out = _run(env, [2, 2, 2, 3])
    assert out[-1][0] == [7, 3, 0, 6] and out[-2][0] == [7, 4, 0, 0]


def test_results_do_not_depend_on_batch_size_or_threads():
    def run(n, threads):
        env = fastmeta.make("distraction", num_envs=n, seed=7, num_threads=threads)
        env.reset()
        acts = np.random.default_rng(0).integers(0, 9, size=(200, 5000))[:, :n]
        trace = []
        for row in acts:
            obs, rew, *_ = env.step(row)
            trace.append((obs[:5].copy(), rew[:5].copy(), env.tasks[:5]))
        return trace

    a, b, c = run(5, 1), run(5000, 1), run(5000, 2)
    for x, y, z in zip(a, b, c):
        for u, v, w in zip(x, y, z):
            assert np.array_equal(u, v[:5] if len(v) > 5 else v) and np.array_equal(v, w)


def test_fixed_instructions_keep_the_first_draw():
    env = fastmeta.make("vanilla", num_envs=64, seed=3, fixed_instructions=True)
    env.reset()
    first = env.instructions.copy()
    env.step(np.full(64, 6))  # end every first episode
    assert (env.info["episode_index"] == 1).all()
    np.testing.assert_array_equal(env.instructions, first)


def test_pinned_tasks_persist_across_trials():
    env = fastmeta.make("distraction", num_envs=3, seed=0)
    env.pin_tasks([5, 6, 7])
    env.reset()
    for _ in range(4):
        env.step(np.full(3, 6))
    assert env.tasks.tolist() == [5, 6, 7]
    env.unpin_tasks()
    seen = set()
    for _ in range(40):
        env.step(np.full(3, 6))
        seen |= set(env.tasks.tolist())
    assert len(seen) > 3
