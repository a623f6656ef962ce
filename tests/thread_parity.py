"""Shared check for envs that take `num_threads`: two threads must match one thread bit for bit."""

import numpy as np

import fastmeta


def assert_two_threads_match_one(name, num_actions, n=257, steps=300, **kwargs):
    """Step a 1-thread and a 2-thread env with the same random actions (3 pinned slots) and
    compare every output, the tasks and the RNG streams; at least 3 trials must end."""
    envs = [fastmeta.make(name, num_envs=n, seed=5, num_threads=k, **kwargs) for k in (1, 2)]
    assert [e.num_threads for e in envs] == [1, 2]
    for e in envs:
        e.reset()
    pinned = envs[0].sample_tasks(3, seed=11)
    for e in envs:
        e.pin_tasks(pinned, slots=[0, 128, 256])
    acts = np.random.default_rng(0).integers(0, num_actions, (steps, n))
    trials_ended = 0
    for row in acts:
        one = [np.copy(x) for x in envs[0].step(row)[:4]]
        two = envs[1].step(row)
        for x, y in zip(one, two[:4]):
            np.testing.assert_array_equal(x, y)
        for key in ("trial_done", "episode_index", "episode_return"):
            np.testing.assert_array_equal(envs[0].info[key], two[4][key])
        np.testing.assert_array_equal(envs[0].final_obs, envs[1].final_obs)
        trials_ended += int(envs[0].trial_done.all())
    assert trials_ended >= 3
    for k, v in envs[0].tasks.arrays().items():
        np.testing.assert_array_equal(getattr(envs[1].tasks, k), v)
    np.testing.assert_array_equal(envs[0].rng_states, envs[1].rng_states)
