"""The Gymnasium view's per-step work as one numba pass over the stepped slots.

After the native env has stepped, every slot's meta-RL observation (prev_action, prev_reward,
episode_start, trial_start), the trial's reward and its terminated / truncated flags are derived
from the native buffers here, in one loop, instead of a dozen numpy passes over the batch. The
caller copies the observation and instruction rows of every stepped slot first (one memcpy);
this pass only replaces the rows of slots whose trial ended with the trial's last ones.
Observations come in flattened to (N, D); D = 0 where an env has none.
"""

import numpy as np
from numba import njit


@njit(cache=True)
def publish_step(
    ids,
    actions,
    pending,
    next_step,
    reset_on_episode,
    first_no_opt,
    episodes_per_trial,
    final_obs,
    rew,
    term,
    trunc,
    trial_done,
    episode_index,
    prev_instr,
    o_obs,
    o_instr,
    o_prev_action,
    o_prev_reward,
    o_ep_start,
    o_trial_start,
    v_rew,
    v_term,
    v_trunc,
    v_pending,
    step_actions,
    done_out,
):
    """Publish slots `ids` (acted on with `actions`; `pending[k]`: slot ids[k] did not move and
    starts its next trial now). Returns how many slots ended a trial, listed in `done_out`."""
    # One loop, no helper calls that take arrays: each such call costs reference counting per
    # slot, which would cost more than the work itself.
    nd = 0
    d_obs = o_obs.shape[1]
    d_instr = o_instr.shape[1]
    for k in range(ids.shape[0]):
        i = ids[k]
        a = actions[k]
        step_actions[i] = a
        start = pending[k]  # a trial starts now: NEXT_STEP's pending slot, SAME_STEP's end
        ended = False
        done = False
        if start:
            v_rew[i] = 0.0
            v_term[i] = False
            v_trunc[i] = False
            v_pending[i] = False
        else:
            ended = term[i] or trunc[i]
            done = trial_done[i]
            r = rew[i]
            if first_no_opt:
                prev_episode = episode_index[i]
                if done:
                    prev_episode = episodes_per_trial - 1
                elif ended:
                    prev_episode -= 1
                if prev_episode == 0:
                    r = 0.0
            v_rew[i] = r
            v_term[i] = term[i] and done
            v_trunc[i] = trunc[i] and done
            v_pending[i] = done and next_step
            if done:
                done_out[nd] = i
                nd += 1
                start = not next_step
        if done and next_step:  # the trial's last observation now, the next trial next call
            for j in range(d_obs):
                o_obs[i, j] = final_obs[i, j]
            for j in range(d_instr):
                o_instr[i, j] = prev_instr[i, j]
            o_prev_action[i] = a + 1
            o_prev_reward[i, 0] = rew[i]
            o_ep_start[i] = 0
            o_trial_start[i] = 0
        elif start:
            o_prev_action[i] = 0
            o_prev_reward[i, 0] = 0.0
            o_ep_start[i] = 1
            o_trial_start[i] = 1
        else:
            o_prev_action[i] = 0 if (ended and reset_on_episode) else a + 1
            o_prev_reward[i, 0] = rew[i]
            o_ep_start[i] = 1 if ended else 0
            o_trial_start[i] = 0
    return nd


def flat(a: np.ndarray) -> np.ndarray:
    """(N, ...) as a (N, D) view (no copy)."""
    return a.reshape(a.shape[0], -1)
