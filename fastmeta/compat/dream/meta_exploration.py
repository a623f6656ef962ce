"""The original DREAM state tuples and the generic instruction wrapper (dream.md §2.1).

Field orders match the original, since its code builds and reads these tuples positionally.
"""

import collections

import numpy as np
from gymnasium import spaces

MetaExplorationState = collections.namedtuple(
    "MetaExplorationState", ["observation", "prev_reward", "prev_action", "env_id"]
)
InstructionState = collections.namedtuple(
    "InstructionState",
    ["observation", "instructions", "prev_action", "prev_reward", "done", "trajectory", "env_id"],
)


class InstructionWrapper:
    """Adds an instruction (goal/recipe) and its reward to a meta-exploration env.

    Subclasses define `_instruction_highs` and `_draw_instructions()`; the reward itself comes from
    the env's compiled core (the same function the batched kernel uses).
    """

    _instruction_highs: tuple = ()

    def __init__(
        self,
        env,
        exploration_trajectory,
        seed=None,
        test=False,
        first_episode_no_instruction=False,
        first_episode_no_optimization=False,
        fixed_instructions=False,
    ):
        self.env = env
        self._core = env._core
        self._trajectory = exploration_trajectory
        self._rng = np.random.RandomState(seed)
        self._test = test  # passed through like the original; no env has a test instruction split
        self._first_no_instruction = first_episode_no_instruction
        self._first_no_optimization = first_episode_no_optimization
        self._fixed = fixed_instructions
        self._n_ep = 0
        self._instructions = None
        self.action_space = env.action_space
        highs = np.array(self._instruction_highs, dtype=np.int64)
        self.observation_space = spaces.Dict(
            {
                "observation": env.observation_space["observation"],
                "env_id": env.observation_space["env_id"],
                "instructions": spaces.Box(np.zeros_like(highs), highs, dtype=np.int64),
            }
        )

    @property
    def unwrapped(self):
        return self.env.unwrapped

    @property
    def current_instructions(self):
        return self._instructions

    def _draw_instructions(self):
        raise NotImplementedError

    def reset(self):
        self._n_ep += 1
        state = self.env.reset()
        if self._n_ep == 1 and self._first_no_instruction:
            self._instructions = self.observation_space["instructions"].low.copy()
        elif not (self._n_ep > 1 and self._fixed):
            self._instructions = self._draw_instructions()
        self._core.set_instruction(
            int(self._instructions[0]),
            int(self._instructions[1]) if len(self._instructions) > 1 else 0,
        )
        return InstructionState(
            state.observation, self._instructions, None, 0, False, self._trajectory, state.env_id
        )

    def step(self, action):
        obs, done, r, complete = self.env._raw_step(action)
        first = self._n_ep == 1
        if first and self._first_no_instruction:
            r, complete = 0, False
        elif complete and self.env._integer_success:
            r = 1  # the original's goal reward is the integer 1
        done = complete or done
        state = InstructionState(
            obs, self._instructions, action, r, done, self._trajectory, self.env.env_id
        )
        return state, (0 if first and self._first_no_optimization else r), done, {}

    def render(self, mode=None):
        return self.env.render(mode)

    def __getattr__(self, name):
        return getattr(self.env, name)
