"""Sign-world physics: the batched kernel against the plain-Python reference, the spec's golden
values, scripted trajectories with exact rewards, spawn distributions and the contract."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastmeta
from fastmeta.kernels import sign_physics as K
from fastmeta.reference import sign as ref

# Headings: +x is 0, -z is pi/2 (f = (cos, 0, -sin)).
EAST, NORTH, WEST, SOUTH = 0.0, math.pi / 2, math.pi, -math.pi / 2


def pose_env(n=1, **kw):
    env = fastmeta.make("miniworld_sign", num_envs=n, obs_mode="pose", **kw)
    env.reset(seed=0)
    return env


def place(env, slot, x, z, theta, task=0, instruction=0, steps=0):
    env.pos[slot] = (x, z)
    env.theta[slot] = theta
    env.task_ids[slot] = task
    env.instructions[slot] = instruction
    env.steps[slot] = steps


# -- golden values (sign.md §2.3, §3, §5.4) ---------------------------------------------------
def test_near_thresholds_and_radii_match_spec():
    assert K.BOX_RADIUS == pytest.approx(0.565685, abs=1e-6)
    assert K.KEY_RADIUS == pytest.approx(0.735547, abs=1e-6)
    np.testing.assert_allclose(K.NEAR_DIST, [1.735685] * 3 + [1.905547] * 3, atol=1e-6)
    assert K.TURN_STEP == math.pi / 4


def test_wall_segments_are_the_spec_table():
    spec = {
        ((10, 0), (10, 6.5)),
        ((0, 0), (10, 0)),
        ((0, 0), (0, 6.5)),
        ((6, 6.5), (10, 6.5)),
        ((0, 6.75), (0, 13)),
        ((0, 13), (6, 13)),
        ((10, 6.75), (10, 13)),
        ((6, 6.75), (10, 6.75)),
        ((6, 13), (10, 13)),
        ((6, 6.5), (6, 6.75)),
        ((0, 6.5), (0, 6.75)),
    }
    got = {tuple(sorted(map(tuple, seg.tolist()))) for seg in K.WALL_SEGS}
    assert got == {tuple(sorted(s)) for s in spec}
    assert len(K.WALL_SEGS) == 11


def test_key_radius_recomputed_from_the_mesh_file():
    assets = pytest.importorskip("fastmeta.render.assets")
    try:
        pos, _, kd = assets.load_key_mesh("blue")
    except assets.AssetsNotFoundError as err:
        pytest.skip(str(err))
    hi = pos.max(axis=0).max(axis=0)
    np.testing.assert_allclose(pos.min(axis=0).min(axis=0), [-0.401406, 0, -2.4187405], atol=1e-6)
    np.testing.assert_allclose(hi, [0.401406, 2.0, 2.4187405], atol=1e-6)
    assert pos.shape == (208, 3, 3)
    # 2020 promotion: float32 extents, float64 scale 0.6 / 2.0.
    r = math.sqrt(float(hi[0] * hi[0] + hi[2] * hi[2])) * (0.6 / float(hi[1]))
    assert r == K.KEY_RADIUS
    np.testing.assert_array_equal(kd, [0, 0, 1])


# -- parity with the reference (hypothesis) ----------------------------------------------------
def _free_pose(draw):
    x = draw(st.floats(0.0, 10.0))
    z = draw(st.floats(0.0, 13.0))
    theta = draw(st.floats(-4 * math.pi, 4 * math.pi))
    return x, z, theta


@st.composite
def rollouts(draw):
    x, z, theta = _free_pose(draw)
    if ref.collides(x, z) or any(ref.near(x, z, o) for o in ref.OBJECTS):
        # Start somewhere free instead; hypothesis still varies the heading.
        x, z = draw(st.sampled_from([(4.5, 5.0), (3.0, 10.0), (8.0, 10.0), (7.0, 3.5), (2.5, 2.0)]))
    task = draw(st.integers(0, 2))
    instruction = draw(st.integers(0, 1))
    actions = draw(
        st.lists(
            st.integers(0, 3).filter(lambda a: a != 3) | st.integers(0, 3), min_size=1, max_size=45
        )
    )
    return x, z, theta, task, instruction, actions


@settings(max_examples=300, deadline=None)
@given(rollouts())
def test_kernel_matches_reference(case):
    x, z, theta, task, instruction, actions = case
    env = pose_env(1)
    place(env, 0, x, z, theta, task, instruction)
    r = ref.SignReference(x, z, theta, task, instruction)
    for a in actions:
        rew, term, trunc = r.step(a)
        env.step(np.array([a]))
        assert (env.rew[0], env.terminated[0], env.truncated[0]) == (rew, term, trunc)
        if term or trunc:
            last = (env.final_pos[0, 0], env.final_pos[0, 1], env.final_theta[0])
            assert last == (r.x, r.z, r.theta)
            assert env.steps[0] == 0
            r = ref.SignReference(
                env.pos[0, 0], env.pos[0, 1], env.theta[0], env.task_ids[0], env.instructions[0, 0]
            )
        else:
            assert (env.pos[0, 0], env.pos[0, 1], env.theta[0]) == (r.x, r.z, r.theta)


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 2**32), st.lists(st.integers(0, 3), min_size=64 * 30, max_size=64 * 30))
def test_batch_matches_reference_slot_by_slot(seed, flat):
    n = 64
    env = pose_env(n)
    env.reset(seed=seed)
    refs = [
        ref.SignReference(*env.pos[i], env.theta[i], env.task_ids[i], env.instructions[i, 0])
        for i in range(n)
    ]
    for t in range(30):
        acts = np.array(flat[t * n : (t + 1) * n])
        env.step(acts)
        for i in range(n):
            out = refs[i].step(acts[i])
            assert (env.rew[i], env.terminated[i], env.truncated[i]) == out
            if out[1] or out[2]:
                refs[i] = ref.SignReference(
                    *env.pos[i], env.theta[i], env.task_ids[i], env.instructions[i, 0]
                )
            else:
                assert tuple(env.pos[i]) == (refs[i].x, refs[i].z)


# -- scripted trajectories: every object, exact rewards and dones ----------------------------
def approach(obj, dist):
    """A free start `dist` from object `obj`, near nothing, and the heading toward the object."""
    ox, oz = K.OBJ_POS[obj]
    for k in range(8):
        phi = k * math.pi / 4  # direction from the object to the start
        x, z = ox + dist * math.cos(phi), oz - dist * math.sin(phi)
        path = [
            (x - t * math.cos(phi), z + t * math.sin(phi)) for t in (0, 0.7, 1.4) if dist - t > 1.2
        ]
        if (
            not any(ref.collides(*p) for p in path)
            and not any(ref.near(x, z, o) for o in ref.OBJECTS)
            and 0 < x < 10
            and 0 < z < 13
        ):
            return x, z, phi + math.pi
    raise AssertionError(f"no free approach to object {obj}")


@pytest.mark.parametrize("obj", range(6))
@pytest.mark.parametrize("task", range(3))
@pytest.mark.parametrize("instruction", range(2))
def test_forward_into_each_object(obj, task, instruction):
    env = pose_env(1)
    x, z, theta = approach(obj, 2.8 if obj < 3 else 3.0)  # near after 2 steps, not 1
    place(env, 0, x, z, theta, task, instruction)
    env.step(np.array([2]))  # first step: still out of reach
    assert env.rew[0] == 0 and not env.terminated[0]
    env.step(np.array([2]))  # second step: near the object
    right = obj % 3 == task and obj // 3 == instruction
    assert env.rew[0] == (1.0 if right else -1.0)
    assert env.terminated[0] and not env.truncated[0]


def test_end_action_moves_back_and_can_touch():
    env = pose_env(1)
    x, z, toward = approach(4, 2.2)  # red key one step behind the agent
    place(env, 0, x, z, toward + math.pi, task=1, instruction=1)
    env.step(np.array([3]))
    assert env.rew[0] == 1.0 and env.terminated[0]
    back = toward + math.pi
    assert tuple(env.final_pos[0]) == (x + math.cos(back) * -0.7, z + -math.sin(back) * -0.7)


def test_end_action_against_a_wall_stays_and_ends_with_zero():
    env = pose_env(1)
    place(env, 0, 3.0, 0.6, SOUTH)  # moving back goes toward z = 0: blocked
    env.step(np.array([3]))
    assert env.rew[0] == 0 and env.terminated[0]
    assert tuple(env.final_pos[0]) == (3.0, 0.6)


def test_wall_clearance_edge_cases():
    env = pose_env(1)
    # 1.1 from the wall x = 10: 8.9 + 0.7 lands just above 0.4 from it, so it is allowed.
    place(env, 0, 8.9, 3.0, EAST)
    env.step(np.array([2]))
    assert env.pos[0, 0] == 8.9 + 0.7 and 10 - env.pos[0, 0] > 0.4
    # From 8.95 the move would end 0.35 from the wall: rejected, the step still counts.
    place(env, 0, 8.95, 3.0, EAST)
    env.step(np.array([2]))
    assert env.pos[0, 0] == 8.95 and env.steps[0] == 1
    # Wall ends are round caps: the walls z = 6.5 (x >= 6) and x = 6 meet at (6, 6.5).
    place(env, 0, 5.75, 5.6, SOUTH)
    env.step(np.array([2]))  # to (5.75, 6.3): 0.32 from the cap
    assert tuple(env.pos[0]) == (5.75, 5.6)
    place(env, 0, 5.5, 5.6, SOUTH)
    env.step(np.array([2]))  # 0.2 from the line z = 6.5, 0.54 from its end
    assert env.pos[0, 1] == 5.6 + -math.sin(SOUTH) * 0.7
    # The opening to the left room is free: walk from the top room into it.
    place(env, 0, 3.0, 5.8, SOUTH)
    for _ in range(3):
        env.step(np.array([2]))
    assert env.pos[0, 1] > 7.0


def test_the_right_room_is_reached_only_through_the_left_room():
    env = pose_env(1)
    place(env, 0, 7.0, 5.9, SOUTH)  # the band z in [6.5, 6.75] east of x = 6
    env.step(np.array([2]))
    assert tuple(env.pos[0]) == (7.0, 5.9)
    place(env, 0, 5.0, 10.0, EAST)  # no wall between left and right rooms
    env.step(np.array([2]))
    assert env.pos[0, 0] == 5.0 + 0.7


def test_time_out_truncates_on_step_20():
    env = pose_env(1)
    place(env, 0, 4.5, 5.0, 0.0)
    for t in range(1, 21):
        env.step(np.array([t % 2]))
        assert env.truncated[0] == (t == 20) and not env.terminated[0] and env.rew[0] == 0


def test_touch_on_step_20_is_terminated_and_rewarded():
    env = pose_env(1)
    x, z, theta = approach(0, 2.8)
    place(env, 0, x, z, theta, task=0, instruction=0, steps=18)
    env.step(np.array([2]))
    env.step(np.array([2]))
    assert env.rew[0] == 1.0 and env.terminated[0] and not env.truncated[0]


# -- spawn, tasks, trials, seeding -------------------------------------------------------------
def test_spawn_and_yaw_distributions():
    env = fastmeta.make("miniworld_sign", num_envs=6000, seed=3, obs_mode="pose")
    env.reset()
    x, z, th, yaw = env.pos[:, 0], env.pos[:, 1], env.theta, env.yaw
    assert x.min() >= 4.4 and x.max() <= 4.6 and z.min() >= 4.4 and z.max() <= 5.6
    assert th.min() >= -math.pi and th.max() < math.pi
    assert yaw.min() >= -math.pi and yaw.max() < math.pi
    for v, lo, hi in ((x, 4.4, 4.6), (z, 4.4, 5.6), (th, -math.pi, math.pi)):
        q = np.quantile((v - lo) / (hi - lo), [0.1, 0.5, 0.9])
        np.testing.assert_allclose(q, [0.1, 0.5, 0.9], atol=0.025)
    assert abs(np.mean(env.task_ids == 0) - 1 / 3) < 0.03
    assert abs(np.mean(env.instructions) - 0.5) < 0.03
    assert not any(
        ref.collides(a, b) or any(ref.near(a, b, o) for o in ref.OBJECTS) for a, b in env.pos[:200]
    )


def test_trials_draw_new_tasks_and_pinned_tasks_stay():
    env = pose_env(8, episodes_per_trial=2)
    env.pin_tasks([2] * 4, slots=[0, 1, 2, 3])
    env.reset()
    end = np.full(8, 3)
    env.step(end)
    assert env.terminated.all() and not env.trial_done.any() and (env.episode_index == 1).all()
    tasks = env.tasks
    env.step(end)
    assert env.trial_done.all() and (env.episode_index == 0).all()
    assert (env.tasks[:4] == 2).all() and (env.final_task == tasks).all()


def test_instructions_can_be_fixed_per_episode_of_a_trial():
    env = pose_env(3, episodes_per_trial=2)
    free = pose_env(3, episodes_per_trial=2)
    plan = np.array([[1, 0], [0, 0], [1, 1]])
    env.reset(seed=5, instructions=plan)
    free.reset(seed=5)
    np.testing.assert_array_equal(env.instructions, plan[:, :1])
    np.testing.assert_array_equal(env.pos, free.pos)  # spawns do not depend on a plan
    end = np.full(3, 3)
    env.step(end)
    np.testing.assert_array_equal(env.instructions, plan[:, 1:])
    env.step(end)  # a new trial: drawn again
    free.step(end)
    free.step(end)
    np.testing.assert_array_equal(env.instructions, free.instructions)
    with pytest.raises(ValueError):
        env.reset(instructions=np.full((3, 2), 2))
    with pytest.raises(ValueError):
        env.reset(instructions=np.zeros((3, 3), np.int64))


def test_restart_episode_keeps_task_and_episode_with_a_fresh_spawn():
    env = pose_env(4, episodes_per_trial=2)
    env.reset(seed=9, instructions=np.array([[1, 0], [0, 1], [1, 1], [0, 0]]))
    env.step(np.full(4, 3))  # into episode 1 of the trial
    env.step(np.zeros(4, np.int64))  # one turn in: mid-episode
    tasks, pos = env.tasks, env.pos.copy()
    env.restart_episode()
    assert (env.tasks == tasks).all() and (env.episode_index == 1).all() and (env.steps == 0).all()
    np.testing.assert_array_equal(
        env.instructions[:, 0], [0, 1, 1, 0]
    )  # the plan's episode-1 entries
    assert not np.array_equal(env.pos, pos) and not env.trial_done.any()
    np.testing.assert_array_equal(env.obs[:, :2], env.pos)
    for t in range(1, 21):  # a whole episode's steps again
        env.step(np.full(4, t % 2))
    assert env.truncated.all() and env.trial_done.all()


def test_restart_episode_mid_first_episode_gives_a_whole_episode():
    env = pose_env(1)
    env.step(np.array([0]))
    env.step(np.array([0]))
    obs, info = env.restart_episode()  # mid-episode: start it again
    assert info["episode_index"][0] == 0 and env.steps[0] == 0
    np.testing.assert_array_equal(obs[0, :2], env.pos[0])
    for t in range(1, 21):
        env.step(np.array([t % 2]))
        assert env.truncated[0] == (t == 20) and not env.terminated[0]
    assert env.episode_index[0] == 1


def test_plan_given_as_n_e_1_equals_plan_given_as_n_e():
    a, b = pose_env(3, episodes_per_trial=2), pose_env(3, episodes_per_trial=2)
    plan = np.array([[1, 0], [0, 0], [1, 1]])
    a.reset(seed=4, instructions=plan)
    b.reset(seed=4, instructions=plan[..., None])
    for _ in range(2):
        np.testing.assert_array_equal(a.instructions, b.instructions)
        np.testing.assert_array_equal(a.obs, b.obs)
        a.step(np.full(3, 3))
        b.step(np.full(3, 3))


def test_seeding_is_reproducible_and_independent_of_batch_size():
    a, b = pose_env(3), pose_env(7)
    a.reset(seed=11)
    b.reset(seed=11)
    rng = np.random.default_rng(0)
    for _ in range(50):
        acts = rng.integers(0, 4, 7)
        a.step(acts[:3])
        b.step(acts)
        np.testing.assert_array_equal(a.obs, b.obs[:3])
        np.testing.assert_array_equal(a.yaw, b.yaw[:3])


def test_reset_with_tasks():
    env = pose_env(3)
    env.reset(tasks=np.array([2, 0, 1]))
    np.testing.assert_array_equal(env.tasks, [2, 0, 1])


@pytest.mark.parametrize(
    "bad, err",
    [
        (np.array([0, 1]), ValueError),
        (np.array([0, 1, 4]), ValueError),
        (np.array([0, -1, 2]), ValueError),
        (np.array([0.0, 1.0, 2.0]), TypeError),
        ("abc", TypeError),
        (np.zeros((3, 1), dtype=np.int64), ValueError),
    ],
)
def test_bad_actions_raise_before_any_change(bad, err):
    env = pose_env(3)
    before = (env.pos.copy(), env.steps.copy(), env.rng_states.copy())
    with pytest.raises(err):
        env.step(bad)
    np.testing.assert_array_equal(env.pos, before[0])
    np.testing.assert_array_equal(env.steps, before[1])
    np.testing.assert_array_equal(env.rng_states, before[2])


@pytest.mark.parametrize(
    "kw",
    [
        dict(layout="whc"),
        dict(obs_mode="depth"),
        dict(samples=0),
        dict(episodes_per_trial=0),
        dict(backend="x11"),
        dict(split="val"),
        dict(colour=1),
        dict(msaa_storage="f16"),
    ],
)
def test_bad_parameters_raise(kw):
    with pytest.raises((ValueError, TypeError)):
        fastmeta.make("miniworld_sign", num_envs=1, obs_mode=kw.pop("obs_mode", "pose"), **kw)


def test_bad_tasks_raise():
    env = pose_env(2)
    with pytest.raises(ValueError):
        env.reset(tasks=[0, 3])
    with pytest.raises(ValueError):
        env.pin_tasks([1, 2, 0])
    with pytest.raises(TypeError):
        env.reset(tasks=[0.5, 1])
