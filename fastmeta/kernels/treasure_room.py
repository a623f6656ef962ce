"""Dark Treasure Room kernels (First-Explore's `BatchedDarkRoom`, spec first_explore.md §1.2).

Collection is per cell: every uncollected treasure on the cell the agent enters pays at once, so
the per-episode state is a bitmask of cells still holding uncollected treasure (`avail`, two
uint64 words: rooms up to 11x11), reset to the task's occupancy mask `occ` at every episode
start. The hot path tests one bit and only on a hit sums the treasures of that cell, in
treasure order, in float32 as the original does.

Draw order per slot when a task is sampled: k x-positions, k y-positions (each `randint(R)`),
then k values `minval + (maxval - minval) * uniform` rounded to float32; a value that rounds up
to `maxval` is replaced by the largest float32 below it, so values stay in [minval, maxval).

Two ways to step. `step` / `step_parallel` step every slot in lockstep: all slots share one step
count, which the env keeps, and `end_episode` restarts every slot's episode at once. `step_ids` /
`step_ids_parallel` step a given list of slots, each with its own step counter (`elapsed`), and
end an episode (and at a trial's end install a new task) slot by slot. Both run the same per-slot
arithmetic (the same float32 sums in the same order), so they give bit-identical results.
"""

import numpy as np
from numba import njit, prange

from fastmeta.kernels.actions import first_bad_action
from fastmeta.kernels.rng import randint, uniform

# action -> (dx, dy): 0 stay, 1 y+1, 2 x+1, 3 y-1, 4 x-1
DX = np.array([0, 0, 1, 0, -1], dtype=np.int32)
DY = np.array([0, 1, 0, -1, 0], dtype=np.int32)
# slots per block of the threaded step (`step_parallel`)
BLOCK = 256


@njit(inline="always", cache=True)
def _sample(i, states, tx, ty, tv, room, minval, span, below_max):
    k = tx.shape[1]
    for j in range(k):
        tx[i, j] = randint(states, i, room)
    for j in range(k):
        ty[i, j] = randint(states, i, room)
    for j in range(k):
        v = np.float32(minval + span * uniform(states, i))
        if v > below_max:
            v = below_max
        tv[i, j] = v


@njit(inline="always", cache=True)
def _derive(i, tx, ty, tv, room, occ, packed):
    """The kernel's own view of slot i's task: the occupancy mask, and one row of `packed`
    (cell index of each treasure as float32, then its value) so that a collection touches a
    single cache line (64 bytes for k = 8) instead of a row of each of x, y and value."""
    k = tx.shape[1]
    lo = np.uint64(0)
    hi = np.uint64(0)
    for j in range(k):
        packed[i, j] = np.float32(tx[i, j] * room + ty[i, j])
        packed[i, k + j] = tv[i, j]
        c = np.uint64(tx[i, j] * room + ty[i, j])
        if c < np.uint64(64):
            lo |= np.uint64(1) << c
        else:
            hi |= np.uint64(1) << (c - np.uint64(64))
    occ[i, 0] = lo
    occ[i, 1] = hi


@njit(cache=True)
def sample_tasks(tx, ty, tv, states, room, minval, span, below_max):
    for i in range(tx.shape[0]):
        _sample(i, states, tx, ty, tv, room, minval, span, below_max)


@njit(inline="always", cache=True)
def _install(
    i, use_given, gx, gy, gv, tx, ty, tv, occ, packed, states, room, minval, span, below_max
):
    """Slot i's next task: the given one where use_given[i], else a sampled one (as
    `install_tasks`, which spells it out: an inlined call in its loop would take references to
    its ten arrays at every slot and cost a third more)."""
    if use_given[i]:
        tx[i, :] = gx[i, :]
        ty[i, :] = gy[i, :]
        tv[i, :] = gv[i, :]
    else:
        _sample(i, states, tx, ty, tv, room, minval, span, below_max)
    _derive(i, tx, ty, tv, room, occ, packed)


@njit(cache=True)
def install_tasks(
    use_given, gx, gy, gv, tx, ty, tv, occ, packed, states, room, minval, span, below_max
):
    """Meta-reset the tasks: slot i takes the given task where use_given[i], else samples one."""
    for i in range(tx.shape[0]):
        if use_given[i]:
            tx[i, :] = gx[i, :]
            ty[i, :] = gy[i, :]
            tv[i, :] = gv[i, :]
        else:
            _sample(i, states, tx, ty, tv, room, minval, span, below_max)
        _derive(i, tx, ty, tv, room, occ, packed)


@njit(inline="always", cache=True)
def _begin(i, obs, ep_return, occ, avail, start):
    """Slot i back at its task's initial state (as `begin_episode`)."""
    obs[i, 0] = start
    obs[i, 1] = start
    ep_return[i] = 0
    avail[i, 0] = occ[i, 0]
    avail[i, 1] = occ[i, 1]


@njit(cache=True)
def begin_episode(obs, ep_return, occ, avail, start):
    """Every slot back at its task's initial state: agent at `start`, no treasure collected."""
    for i in range(obs.shape[0]):
        obs[i, 0] = start
        obs[i, 1] = start
        ep_return[i] = 0
        avail[i, 0] = occ[i, 0]
        avail[i, 1] = occ[i, 1]


@njit(cache=True)
def end_episode(obs, final_obs, truncated, ep_return, occ, avail, start):
    """The step limit was reached in every slot: keep the last observation, restart the episode."""
    for i in range(obs.shape[0]):
        final_obs[i, 0] = obs[i, 0]
        final_obs[i, 1] = obs[i, 1]
        truncated[i] = True
    begin_episode(obs, ep_return, occ, avail, start)


# One definition of the lockstep step, shared by the serial and the threaded kernel: it steps
# every slot of the arrays it is given, which `step_parallel` hands it in blocks (slices: views,
# no copies). A slot touches only its own rows, and a block only its own slice of the scratch
# `hits`, so blocks can run at once.
@njit(inline="always", cache=True)
def _move_collect(actions, obs, rew, ep_return, packed, avail, hits, room, running_return):
    """Move, then collect, in every slot of the arrays (see `step`)."""
    top = room - 1
    nh = 0
    for i in range(obs.shape[0]):
        a = actions[i]
        x = min(max(obs[i, 0] + DX[a], 0), top)
        y = min(max(obs[i, 1] + DY[a], 0), top)
        obs[i, 0] = x
        obs[i, 1] = y
        c = x * room + y
        w = c >> 6
        bit = np.uint64(1) << np.uint64(c & 63)
        word = avail[i, w]
        avail[i, w] = word & ~bit
        hits[nh] = i
        nh += (word & bit) != 0
        rew[i] = ep_return[i] if running_return else np.float32(0.0)
    k = packed.shape[1] // 2
    for h in range(nh):
        i = hits[h]
        c = np.float32(obs[i, 0] * room + obs[i, 1])
        gained = np.float32(0.0)
        for j in range(k):  # a select, not a branch: adding 0 leaves the float32 sum exact
            gained += packed[i, k + j] if packed[i, j] == c else np.float32(0.0)
        ep_return[i] += gained
        rew[i] = ep_return[i] if running_return else gained


@njit(cache=True)
def step(actions, obs, rew, ep_return, packed, avail, hits, room, running_return):
    """Move, then collect. `rew` gets the per-step reward, or the running episode return when
    `running_return`. Returns -1, or the first slot with an out-of-range action (nothing changed).
    Done flags are the caller's: they only change at the shared episode boundary.

    Two passes: the first moves every agent and lists the slots that entered a cell with
    uncollected treasure (`hits`, preallocated); the second sums those cells' treasures. A hit
    reads the slot's packed task row, which at large batches is a cache miss: in the tight second
    loop the misses of many hits overlap instead of each stalling behind a mispredicted branch.
    """
    bad = first_bad_action(actions, 5)
    if bad >= 0:
        return bad
    _move_collect(actions, obs, rew, ep_return, packed, avail, hits, room, running_return)
    return -1


@njit(parallel=True, cache=True)
def step_parallel(actions, obs, rew, ep_return, packed, avail, hits, room, running_return):
    """`step` with the slots cut into blocks of BLOCK that numba's threads share
    (numba.set_num_threads); each block runs `step`'s two passes on its own slices of the arrays.
    The same per-slot code, so the results are bit-identical to `step` whatever the thread count.
    (Slices, rather than index ranges into the whole arrays, keep the inner loops as fast as
    `step`'s: indexing the full arrays from the threaded loop body was a third slower per slot.)
    """
    bad = first_bad_action(actions, 5)
    if bad >= 0:
        return bad
    n = obs.shape[0]
    for b in prange((n + BLOCK - 1) // BLOCK):
        lo = b * BLOCK
        hi = min(n, lo + BLOCK)
        _move_collect(
            actions[lo:hi],
            obs[lo:hi],
            rew[lo:hi],
            ep_return[lo:hi],
            packed[lo:hi],
            avail[lo:hi],
            hits[lo:hi],
            room,
            running_return,
        )
    return -1


# -- stepping a list of slots, each with its own step counter ---------------------------------
# The loop over the slots lives inside this inlined function (rather than the function inside a
# loop): an inlined call takes new references to every array it is passed, and ~20 reference
# count updates per slot would cost more than the step itself.
@njit(inline="always", cache=True)
def _step_range(
    lo,
    hi,
    actions,
    ids,
    obs,
    final_obs,
    rew,
    ep_return,
    truncated,
    trial_done,
    elapsed,
    episode,
    tx,
    ty,
    tv,
    occ,
    packed,
    avail,
    pinned,
    px,
    py,
    pv,
    states,
    params,
):
    """Step slots ids[lo:hi] with actions[lo:hi] (see `step_ids`)."""
    room, minval, span, below_max, start, episode_length, episodes_per_trial, running = params
    top = room - 1
    k = packed.shape[1] // 2
    for s in range(lo, hi):
        i = ids[s]
        a = actions[s]
        x = min(max(obs[i, 0] + DX[a], 0), top)
        y = min(max(obs[i, 1] + DY[a], 0), top)
        obs[i, 0] = x
        obs[i, 1] = y
        c = x * room + y
        w = c >> 6
        bit = np.uint64(1) << np.uint64(c & 63)
        word = avail[i, w]
        rew[i] = ep_return[i] if running else np.float32(0.0)
        if (word & bit) != 0:  # the same float32 sum, in the same order, as `_move_collect`
            avail[i, w] = word & ~bit
            cf = np.float32(c)
            gained = np.float32(0.0)
            for j in range(k):
                gained += packed[i, k + j] if packed[i, j] == cf else np.float32(0.0)
            ep_return[i] += gained
            rew[i] = ep_return[i] if running else gained
        t = elapsed[i] + 1
        if t < episode_length:
            elapsed[i] = t
            truncated[i] = False
            trial_done[i] = False
        else:  # the episode hit its length: same-step autoreset (a new task first at a trial end)
            final_obs[i, 0] = x
            final_obs[i, 1] = y
            truncated[i] = True
            e = episode[i] + 1
            if e >= episodes_per_trial:
                e = 0
                trial_done[i] = True
                _install(
                    i,
                    pinned,
                    px,
                    py,
                    pv,
                    tx,
                    ty,
                    tv,
                    occ,
                    packed,
                    states,
                    room,
                    minval,
                    span,
                    below_max,
                )
            else:
                trial_done[i] = False
            episode[i] = e
            elapsed[i] = 0
            _begin(i, obs, ep_return, occ, avail, start)


# The entry points take their arguments grouped in tuples (unpacked before the loop):
# `slot` = (obs, final_obs, rew, ep_return, truncated, trial_done, elapsed, episode), the per-slot
# state and outputs; `task` = (tx, ty, tv, occ, packed, avail); `next_task` = (pinned, px, py, pv,
# states), where a trial's next task comes from; `params` = (room, minval, span, below_max, start,
# episode_length, episodes_per_trial, running_return).
@njit(cache=True)
def step_ids(actions, ids, slot, task, next_task, params):
    """Step slots `ids` (actions[s] for slot ids[s], ids distinct), each by its own counter
    `elapsed`: move, collect, and where its episode reaches its length end it (and at a trial's
    end install the next task) as `step` + `end_episode` + `install_tasks` would. Other slots are
    neither read nor written. Returns -1, or the first position with an out-of-range action
    (nothing changed)."""
    bad = first_bad_action(actions, 5)
    if bad >= 0:
        return bad
    obs, final_obs, rew, ep_return, truncated, trial_done, elapsed, episode = slot
    tx, ty, tv, occ, packed, avail = task
    pinned, px, py, pv, states = next_task
    _step_range(
        0,
        ids.shape[0],
        actions,
        ids,
        obs,
        final_obs,
        rew,
        ep_return,
        truncated,
        trial_done,
        elapsed,
        episode,
        tx,
        ty,
        tv,
        occ,
        packed,
        avail,
        pinned,
        px,
        py,
        pv,
        states,
        params,
    )
    return -1


@njit(parallel=True, cache=True)
def step_ids_parallel(actions, ids, slot, task, next_task, params):
    """`step_ids` with the slot list cut into blocks of BLOCK that numba's threads share: each
    slot touches only its own rows and RNG state, so the results are bit-identical whatever the
    thread count."""
    bad = first_bad_action(actions, 5)
    if bad >= 0:
        return bad
    obs, final_obs, rew, ep_return, truncated, trial_done, elapsed, episode = slot
    tx, ty, tv, occ, packed, avail = task
    pinned, px, py, pv, states = next_task
    m = ids.shape[0]
    for b in prange((m + BLOCK - 1) // BLOCK):
        _step_range(
            b * BLOCK,
            min(m, b * BLOCK + BLOCK),
            actions,
            ids,
            obs,
            final_obs,
            rew,
            ep_return,
            truncated,
            trial_done,
            elapsed,
            episode,
            tx,
            ty,
            tv,
            occ,
            packed,
            avail,
            pinned,
            px,
            py,
            pv,
            states,
            params,
        )
    return -1
