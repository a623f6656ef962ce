"""The two recurrent dueling Q-networks of DREAM (spec §5.2, §5.3).

Both expose `step` (one act call for a batch of independent slots, carrying (h, c)) and
`unroll` (whole padded [B, T] sequences through the fused LSTM, for learning).
"""

from __future__ import annotations

import torch
from torch import nn

from fastmeta.agents.common.embedders import DuelingHead, GridStateEmb, state_embedder
from fastmeta.agents.common.recurrent import UnrolledLSTM
from fastmeta.agents.dream.trajectory_embedder import TrajectoryEmbedder


class ExploitationQNet(nn.Module):
    """Q(s_t, i, z): LSTM over Linear(ReLU([ObsEmb(s_t), InstrEmb(i)])), then
    Linear(256→E)(ReLU(Linear(H + E_z → 256)([h_t, z]))) and a dueling head."""

    def __init__(
        self,
        obs_kind,
        obs_highs,
        instruction_highs,
        env_id_highs,
        num_actions,
        *,
        obs_dim=64,
        instruction_dim=64,
        transition_state_dim=64,
        transition_action_dim=32,
        transition_dim=64,
        trajectory_hidden=128,
        embed_dim=64,
        penalty=0.1,
        whole_tensor_mean=True,
        unused_linear=False,
    ):
        super().__init__()
        self.obs = state_embedder(obs_kind, obs_highs, obs_dim)
        self.instruction = GridStateEmb(instruction_highs, instruction_dim)
        self.fuse = nn.Linear(obs_dim + instruction_dim, obs_dim)
        self.lstm = UnrolledLSTM(obs_dim, obs_dim)
        self.trajectory = TrajectoryEmbedder(
            obs_kind,
            obs_highs,
            num_actions,
            env_id_highs,
            state_dim=transition_state_dim,
            action_dim=transition_action_dim,
            transition_dim=transition_dim,
            hidden=trajectory_hidden,
            embed_dim=embed_dim,
            penalty=penalty,
        )
        self.fc = nn.Linear(obs_dim + embed_dim, 256)
        self.final = nn.Linear(256, embed_dim)
        self.head = DuelingHead(embed_dim, num_actions, whole_tensor_mean, unused_linear)

    def _inputs(self, obs, instructions):
        o = self.obs(obs)
        i = self.instruction(instructions)
        if o.dim() == 3:  # [B, T, E]: one instruction per sequence
            i = i[:, None, :].expand(-1, o.shape[1], -1)
        return self.fuse(torch.relu(torch.cat([o, i], -1)))

    def _q(self, h, z, acting):
        if h.dim() == 3:
            z = z[:, None, :].expand(-1, h.shape[1], -1)
        out = self.final(torch.relu(self.fc(torch.cat([h, z], -1))))
        return self.head(out, acting=acting)

    def step(self, obs, instructions, z, state):
        h, state = self.lstm.step(self._inputs(obs, instructions), state)
        return self._q(h, z, acting=True), state

    def unroll(self, obs, instructions, z, state=None):
        h, last = self.lstm(self._inputs(obs, instructions), state)
        return self._q(h, z, acting=False)


class ExplorationQNet(nn.Module):
    """Q(s_t, a_{t-1} history): LSTM over Linear(ReLU([ObsEmb(s_t), Emb(a_{t-1}+1)]))."""

    def __init__(
        self,
        obs_kind,
        obs_highs,
        num_actions,
        *,
        state_dim=64,
        action_dim=16,
        experience_dim=64,
        hidden=64,
        whole_tensor_mean=True,
        unused_linear=False,
    ):
        super().__init__()
        self.obs = state_embedder(obs_kind, obs_highs, state_dim)
        self.prev_action = nn.Embedding(num_actions + 1, action_dim)
        self.fuse = nn.Linear(state_dim + action_dim, experience_dim)
        self.lstm = UnrolledLSTM(experience_dim, hidden)
        self.head = DuelingHead(hidden, num_actions, whole_tensor_mean, unused_linear)

    def _inputs(self, obs, prev_action_ids):
        x = torch.cat([self.obs(obs), self.prev_action(prev_action_ids.long())], -1)
        return self.fuse(torch.relu(x))

    def step(self, obs, prev_action_ids, state):
        """prev_action_ids = previous action + 1, or 0 at an episode's first step."""
        h, state = self.lstm.step(self._inputs(obs, prev_action_ids), state)
        return self.head(h, acting=True), state

    def unroll(self, obs, prev_action_ids, state=None):
        h, _ = self.lstm(self._inputs(obs, prev_action_ids), state)
        return self.head(h, acting=False)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
