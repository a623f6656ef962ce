"""The original's MultiEpisodeWrapper: a trial of episodes in one env (dream.md §2.7)."""

from fastmeta.compat.dream.meta_exploration import InstructionWrapper


class MultiEpisodeWrapper:
    def __init__(self, env, episodes_per_trial=2):
        assert isinstance(env, InstructionWrapper), (
            "MultiEpisodeWrapper wraps an InstructionWrapper"
        )
        self.env = env
        self._episodes_per_trial = episodes_per_trial
        self._episodes = 0
        self.action_space = env.action_space
        self.observation_space = env.observation_space

    @property
    def unwrapped(self):
        return self.env.unwrapped

    def reset(self):
        self._episodes = 0
        return self.env.reset()

    def step(self, action):
        state, reward, done, info = self.env.step(action)
        if done:
            self._episodes += 1
            # the boundary state carries the finishing step's real reward and done=True
            state = self.env.reset()._replace(prev_reward=state.prev_reward, done=True)
        return state, reward, self._episodes == self._episodes_per_trial, info

    def render(self, mode=None):
        return self.env.render(mode)

    def __getattr__(self, name):
        return getattr(self.env, name)
