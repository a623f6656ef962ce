"""The small policy network put in the loop for the "N:" columns (gymnax reports the same pair:
R = random actions, N = a network choosing them).

Two hidden layers of 64 over the flattened observation and the last reward (the bandits observe
nothing else), actions sampled from the logits with the Gumbel-max trick. Inference runs in
batch, once per step, on one torch thread, and every buffer is allocated up front, so what the
benchmark adds to the env step is the real cost of a forward pass and two host copies.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from fastmeta.bench.conftest import HIDDEN


class MLPPolicy:
    def __init__(self, env, seed: int = 0):
        n = env.num_envs
        self.env = env
        obs_dim = int(np.prod(env.obs.shape[1:]))
        torch.manual_seed(seed)
        self.net = nn.Sequential(
            nn.Linear(obs_dim + 1, HIDDEN),
            nn.Tanh(),
            nn.Linear(HIDDEN, HIDDEN),
            nn.Tanh(),
            nn.Linear(HIDDEN, env.single_action_space.n),
        )
        self.net.requires_grad_(False)
        self.x = torch.zeros(n, obs_dim + 1)
        self.noise = torch.zeros(n, env.single_action_space.n)
        self.actions = torch.zeros(n, dtype=torch.int64)
        self.gen = torch.Generator().manual_seed(seed)
        # Views of the env's buffers: reset()/step() refill the same arrays in place.
        self.obs = torch.from_numpy(env.obs.reshape(n, obs_dim)) if obs_dim else None
        self.rew = torch.from_numpy(env.rew)

    @torch.inference_mode()
    def act(self) -> np.ndarray:
        if self.obs is not None:
            self.x[:, :-1].copy_(self.obs)
        self.x[:, -1].copy_(self.rew)
        logits = self.net(self.x)
        self.noise.exponential_(generator=self.gen).log_().neg_()  # Gumbel(0, 1) samples
        torch.argmax(logits.add_(self.noise), dim=1, out=self.actions)
        return self.actions.numpy()
