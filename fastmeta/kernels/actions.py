"""Action-range validation shared by the First-Explore kernels.

Kernels check every action before touching any state, so a bad batch leaves the env unchanged.
The check is one branch-free pass the compiler vectorises; only a failing batch pays for the
second pass that finds the first offending slot.
"""

from numba import njit


@njit(cache=True)
def first_bad_action(actions, num_actions):
    """-1 if every action is in [0, num_actions), else the first slot whose action is not."""
    bad = False
    for i in range(actions.shape[0]):
        bad |= (actions[i] < 0) | (actions[i] >= num_actions)
    if bad:
        for i in range(actions.shape[0]):
            if actions[i] < 0 or actions[i] >= num_actions:
                return i
    return -1
