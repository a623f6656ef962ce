"""Bandit kernels (FixedArmBandit, GaussianBandit) and the ziggurat normal they draw noise from.

Pull noise is the hot path: Box-Muller costs a log, a cos and a sqrt per draw, which alone is
slower than the whole step budget. The 256-layer ziggurat (Marsaglia & Tsang, 2000) is an exact
N(0, 1) sampler that in ~99% of draws needs one u64 from the slot's SplitMix64 stream, a
multiply and a compare. Its tables are computed in numpy at import (no compilation).

Draw order per slot (the reference in fastmeta/reference/bandit.py follows it):
  task: arms first_random..num_arms-1 in order, one `zig_normal` each;
  pull: one `zig_normal`, also for the fixed (noiseless) arm 0, which ignores it. So the noise of
        pull t depends only on the stream and t, not on the arms pulled before: two envs reset
        with the same seed hold the same tasks and give pull t the same noise, the common random
        numbers the original's exploit copy of the env gets (spec first_explore.md §2.4).
"""

import math

import numpy as np
from numba import njit

from fastmeta.kernels.actions import first_bad_action
from fastmeta.kernels.rng import next_u64, uniform

# -- ziggurat tables ------------------------------------------------------------------------------
ZIG_R = 3.6541528853610088  # right edge of the base layer for 256 layers


def _ziggurat_tables(n: int = 256, r: float = ZIG_R):
    f = lambda x: math.exp(-0.5 * x * x)  # noqa: E731  (unnormalised density)
    v = r * f(r) + math.sqrt(math.pi / 2) * math.erfc(r / math.sqrt(2))  # area of every layer
    x = np.zeros(n + 1)
    x[0] = v / f(r)
    x[1] = r
    for i in range(1, n - 1):
        x[i + 1] = math.sqrt(-2.0 * math.log(v / x[i] + f(x[i])))
    x[n] = 0.0
    fx = np.exp(-0.5 * x * x)
    return x, fx


ZIG_X, ZIG_F = _ziggurat_tables()


@njit(inline="always", cache=True)
def zig_normal(states, i):
    """Standard normal from slot i's stream (exact ziggurat; layer, sign and abscissa from one u64)."""
    while True:
        u = next_u64(states, i)
        layer = np.int64(u & np.uint64(255))
        negative = (u >> np.uint64(8)) & np.uint64(1)
        x = np.float64(u >> np.uint64(11)) * (1.0 / 9007199254740992.0) * ZIG_X[layer]
        if x < ZIG_X[layer + 1]:
            return -x if negative else x
        if layer == 0:
            # tail beyond r (Marsaglia 1964)
            while True:
                a = -math.log(1.0 - uniform(states, i)) / ZIG_R
                b = -math.log(1.0 - uniform(states, i))
                if b + b > a * a:
                    x = ZIG_R + a
                    return -x if negative else x
        y = ZIG_F[layer] + uniform(states, i) * (ZIG_F[layer + 1] - ZIG_F[layer])
        if y < math.exp(-0.5 * x * x):
            return -x if negative else x


@njit(cache=True)
def fill_normals(states, out):
    """out[i, j] = j-th standard normal of slot i (for tests of the sampler)."""
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = zig_normal(states, i)


# -- tasks ----------------------------------------------------------------------------------------
@njit(inline="always", cache=True)
def sample_means(means, i, states, fixed_arm, minval):
    first = 0
    if fixed_arm:
        means[i, 0] = minval
        first = 1
    for j in range(first, means.shape[1]):
        means[i, j] = zig_normal(states, i)


@njit(cache=True)
def sample_tasks(means, states, fixed_arm, minval):
    for i in range(means.shape[0]):
        sample_means(means, i, states, fixed_arm, minval)


@njit(cache=True)
def install_tasks(means, use_given, given, states, fixed_arm, minval):
    """Meta-reset: slot i takes given[i] where use_given[i], else a freshly sampled task."""
    for i in range(means.shape[0]):
        if use_given[i]:
            means[i, :] = given[i, :]
        else:
            sample_means(means, i, states, fixed_arm, minval)


# -- step -----------------------------------------------------------------------------------------
@njit(cache=True)
def step(
    actions,
    means,
    pinned,
    pinned_means,
    states,
    fixed_arm,
    minval,
    noise,
    episodes_per_trial,
    rew,
    terminated,
    truncated,
    episode,
    trial_done,
):
    """One pull in every slot; every pull is a whole episode. Returns -1, or the first slot whose
    action is out of range (then nothing has changed)."""
    n, k = means.shape
    bad = first_bad_action(actions, k)
    if bad >= 0:
        return bad
    for i in range(n):
        a = actions[i]
        z = zig_normal(states, i)
        if fixed_arm and a == 0:
            rew[i] = means[i, 0]
        else:
            rew[i] = np.float32(np.float64(means[i, a]) + noise * z)
        terminated[i] = True
        truncated[i] = False
        e = episode[i] + 1
        if e >= episodes_per_trial:
            e = 0
            trial_done[i] = True
            if pinned[i]:
                means[i, :] = pinned_means[i, :]
            else:
                sample_means(means, i, states, fixed_arm, minval)
        else:
            trial_done[i] = False
        episode[i] = e
    return -1
