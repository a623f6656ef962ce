"""DREAM's trajectory embedder g(τ), problem-id embedder f(e), bottleneck losses and the
relabeled exploration reward (spec §5.4).

Trajectories are batches of padded exploration episodes: `obs` [B, T+1, ...] (s_0..s_T),
`actions` [B, T+1] (a_0..a_{T-1}, the last column unused) and `lengths` [B] (T_b ≥ 1).
One forward pass yields g_0..g_T for every trajectory; g_T (acting), the L_tc targets and the
rewards all come from it.
"""

from __future__ import annotations

import torch
from torch import nn

from fastmeta.agents.common.embedders import IDEmb, state_embedder
from fastmeta.agents.common.recurrent import UnrolledLSTM


class TransitionEmb(nn.Module):
    """[Φ(s_t), Φ(s_{t+1}), Ψ(a_t)] → Linear(2·d_s + d_a, 128) → ReLU → Linear(E_T)."""

    def __init__(self, obs_kind, obs_highs, num_actions, state_dim, action_dim, embed_dim):
        super().__init__()
        self.state = state_embedder(obs_kind, obs_highs, state_dim)
        self.action = nn.Embedding(num_actions, action_dim)
        self.mlp = nn.Sequential(
            nn.Linear(2 * state_dim + action_dim, 128), nn.ReLU(), nn.Linear(128, embed_dim)
        )

    def forward(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """obs [B, T+1, ...], actions [B, T+1] → transition embeddings [B, T, E_T]."""
        phi = self.state(obs)  # each state embedded once, shared by two transitions
        x = torch.cat([phi[:, :-1], phi[:, 1:], self.action(actions[:, :-1].long())], -1)
        return self.mlp(x)


class TrajectoryEmbedder(nn.Module):
    """g(τ) through an LSTM over transitions, f(e) through an id embedding, and `use_ids`."""

    def __init__(
        self,
        obs_kind,
        obs_highs,
        num_actions,
        env_id_highs,
        *,
        state_dim=64,
        action_dim=32,
        transition_dim=64,
        hidden=128,
        embed_dim=64,
        penalty=0.1,
        id_noise=0.1,
        id_norm_cap=10.0,
    ):
        super().__init__()
        self.transition = TransitionEmb(
            obs_kind, obs_highs, num_actions, state_dim, action_dim, transition_dim
        )
        self.lstm = UnrolledLSTM(transition_dim, hidden)
        self.head = nn.Sequential(nn.Linear(hidden, 128), nn.ReLU(), nn.Linear(128, embed_dim))
        self.ids = IDEmb(env_id_highs, embed_dim)
        self.embed_dim = embed_dim
        self.penalty = penalty
        self.id_noise = id_noise
        self.id_norm_cap = id_norm_cap

    # -- pieces ---------------------------------------------------------------------------
    def all_steps(self, obs, actions) -> torch.Tensor:
        """g_0..g_T for padded trajectories: [B, T+1, E]. g_0 comes from o_0 = 0."""
        o, _ = self.lstm(self.transition(obs, actions))
        o = torch.cat([o.new_zeros(o.shape[0], 1, o.shape[2]), o], 1)
        return self.head(o)

    def final(self, g_all: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """g_T for each trajectory's true length T: [B, E]."""
        return g_all[torch.arange(g_all.shape[0], device=g_all.device), lengths.long()]

    def id_embedding(self, env_ids: torch.Tensor) -> torch.Tensor:
        return self.ids(env_ids)

    def noisy_ids(self, f: torch.Tensor, generator=None) -> torch.Tensor:
        noise = torch.randn(f.shape, device=f.device, generator=generator)
        return f + self.id_noise * noise

    # -- losses and rewards -----------------------------------------------------------------
    def context_losses(self, g_all, f, lengths, denominator=None):
        """L_tc = Σ m‖g_t − sg(f)‖² / Σ m over t = 0..T_b; L_id = mean max(‖f‖², cap).
        `denominator(local Σ m)`: the count to divide by when the batch is split over ranks."""
        t = torch.arange(g_all.shape[1], device=g_all.device)
        mask = (t[None, :] <= lengths[:, None]).float()
        sq = (g_all - f.detach()[:, None, :]).pow(2).sum(-1)
        count = mask.sum() if denominator is None else denominator(mask.sum())
        l_tc = (sq * mask).sum() / count
        l_id = f.pow(2).sum(-1).clamp(min=self.id_norm_cap).mean()
        return l_tc, l_id

    @torch.no_grad()
    def relabeled_rewards(self, obs, actions, lengths, env_ids) -> torch.Tensor:
        """r_t = d_t − d_{t+1} − c with d_t = ‖g_t − f(e)‖² (no noise); 0 on padding. [B, T]."""
        g_all = self.all_steps(obs, actions)
        return rewards_from_distances(g_all, self.id_embedding(env_ids), lengths, self.penalty)


def rewards_from_distances(g_all, f, lengths, penalty: float) -> torch.Tensor:
    d = (g_all - f[:, None, :]).pow(2).sum(-1)  # [B, T+1]
    r = d[:, :-1] - d[:, 1:] - penalty
    t = torch.arange(r.shape[1], device=r.device)
    return torch.where(t[None, :] < lengths[:, None], r, torch.zeros_like(r))
