"""The RL² encoder shared by the three baselines and IMPORT/VariBAD's current-state branch
(spec §6).

Inputs are `TrialInputs`: the fields of the original's trial state (MultiEpisodeWrapper, §2.7),
batched with any leading shape ([N] when acting, [B, T] when learning):
  obs          grid observation (int) or frame (uint8)
  instruction  the current episode's instruction
  prev_action  previous action + 1, 0 at an episode's first step (the original's None)
  prev_reward  previous step's real reward (never zeroed), 0 at the trial's first step
  done         1 on the first state of a later episode of the trial, else 0
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from fastmeta.agents.common.embedders import GridStateEmb, state_embedder
from fastmeta.agents.common.recurrent import UnrolledLSTM


class TrialInputs(NamedTuple):
    obs: torch.Tensor
    instruction: torch.Tensor
    prev_action: torch.Tensor
    prev_reward: torch.Tensor
    done: torch.Tensor

    def index(self, fn) -> "TrialInputs":
        """The same fields with `fn` applied to each (slicing, gathering)."""
        return TrialInputs(*(fn(x) for x in self))


class ExperienceEmb(nn.Module):
    """Optional state, instruction, action, reward and done embeddings, in that order,
    concatenated → ReLU → Linear(E). A width of None leaves that component out."""

    def __init__(
        self,
        obs_kind,
        obs_highs,
        instruction_highs,
        num_actions,
        *,
        state_dim=64,
        instruction_dim=64,
        action_dim=16,
        reward_dim=16,
        done_dim=16,
        embed_dim=64,
    ):
        super().__init__()
        self.state = state_embedder(obs_kind, obs_highs, state_dim) if state_dim else None
        self.instruction = (
            GridStateEmb(instruction_highs, instruction_dim) if instruction_dim else None
        )
        self.action = nn.Embedding(num_actions + 1, action_dim) if action_dim else None
        self.reward = nn.Linear(1, reward_dim) if reward_dim else None
        self.done = nn.Embedding(2, done_dim) if done_dim else None
        width = sum(d or 0 for d in (state_dim, instruction_dim, action_dim, reward_dim, done_dim))
        self.fc = nn.Linear(width, embed_dim)
        self.embed_dim = embed_dim

    def forward(self, x: TrialInputs) -> torch.Tensor:
        parts = []
        if self.state is not None:
            parts.append(self.state(x.obs))
        if self.instruction is not None:
            parts.append(self.instruction(x.instruction))
        if self.action is not None:
            parts.append(self.action(x.prev_action.long()))
        if self.reward is not None:
            parts.append(self.reward(x.prev_reward.float().unsqueeze(-1)))
        if self.done is not None:
            parts.append(self.done(x.done.long()))
        return self.fc(torch.relu(torch.cat(parts, -1)))


class RL2Encoder(nn.Module):
    """h_t = LSTM(ExperienceEmb(state_t)): the whole trial's history in one hidden state."""

    def __init__(self, experience: ExperienceEmb, hidden: int):
        super().__init__()
        self.experience = experience
        self.lstm = UnrolledLSTM(experience.embed_dim, hidden)
        self.hidden_size = hidden

    def step(self, x: TrialInputs, state):
        """One act call: x fields [N, ...], state (h, c) [N, H] → h [N, H], (h, c)."""
        return self.lstm.step(self.experience(x), state)

    def unroll(self, x: TrialInputs, state=None):
        """Whole sequences: x fields [B, T, ...] → h [B, T, H], last (h, c)."""
        return self.lstm(self.experience(x), state)


class StateInstructionEmb(nn.Module):
    """Linear(2E → E)(ReLU([ObsEmb_E(s), InstrEmb_E(i)])): IMPORT/VariBAD's current-state input."""

    def __init__(self, obs_kind, obs_highs, instruction_highs, embed_dim: int):
        super().__init__()
        self.obs = state_embedder(obs_kind, obs_highs, embed_dim)
        self.instruction = GridStateEmb(instruction_highs, embed_dim)
        self.fc = nn.Linear(2 * embed_dim, embed_dim)
        self.embed_dim = embed_dim

    def forward(self, obs: torch.Tensor, instruction: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(torch.cat([self.obs(obs), self.instruction(instruction)], -1)))


def build_encoder(emb_cfg: dict, sizes) -> RL2Encoder:
    """The RL² encoder from a config's `recurrent_embedder` (or E-RL²'s `embedder`) section."""
    e = emb_cfg["experience_embedder"]
    experience = ExperienceEmb(
        sizes.obs_kind,
        sizes.obs_highs,
        sizes.instruction_highs,
        sizes.num_actions,
        state_dim=e["state_embed_dim"],
        instruction_dim=e.get("instruction_embed_dim"),
        action_dim=e.get("action_embed_dim"),
        reward_dim=e.get("reward_embed_dim"),
        done_dim=e.get("done_embed_dim"),
        embed_dim=e["embed_dim"],
    )
    return RL2Encoder(experience, emb_cfg["embed_dim"])
