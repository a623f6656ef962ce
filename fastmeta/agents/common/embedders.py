"""Observation, instruction, id and action embedders of the DREAM learner (spec §5.1).

All embedders act on batched tensors with any leading shape (e.g. [batch] for acting,
[batch, time] for learning) and keep PyTorch's default initialisation, as the original does.
"""

from __future__ import annotations

import torch
from torch import nn


class GridStateEmb(nn.Module):
    """Per-component Embedding(high_i, 32), concatenated, then Linear → ReLU → Linear(E).

    One table with per-component offsets holds exactly the parameters of the D separate
    tables (sum(high_i) × 32) and needs a single lookup instead of D.

    Grid observations repeat a lot within a batch (a 9×9 bus grid has 324 distinct states), so
    large inputs are embedded once per distinct row and scattered back: the same values and
    gradients as embedding every row, for a fraction of the matmul work.
    """

    dedup_min_rows = 256

    def __init__(self, highs, embed_dim: int, component_dim: int = 32, hidden: int = 256):
        super().__init__()
        highs = [int(h) for h in highs]
        self.embed_dim = embed_dim
        self.table = nn.Embedding(sum(highs), component_dim)
        offsets = torch.tensor([0] + highs[:-1]).cumsum(0)
        self.register_buffer("offsets", offsets, persistent=False)
        strides = torch.tensor([1] + highs[:-1]).cumprod(0)
        self.register_buffer("strides", strides, persistent=False)
        self.register_buffer("highs", torch.tensor(highs), persistent=False)
        self.dedup = bool(torch.tensor(highs, dtype=torch.float64).prod() < 2**62)
        self.mlp = nn.Sequential(
            nn.Linear(component_dim * len(highs), hidden), nn.ReLU(), nn.Linear(hidden, embed_dim)
        )

    def embed_rows(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.table(x.long() + self.offsets).flatten(-2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.shape[:-1].numel()
        if not self.dedup or rows < self.dedup_min_rows:
            return self.embed_rows(x)
        key = (x.reshape(rows, -1).long() * self.strides).sum(-1)
        uniq, inverse = torch.unique(key, return_inverse=True)
        distinct = (uniq[:, None] // self.strides) % self.highs
        return self.embed_rows(distinct)[inverse].reshape(*x.shape[:-1], self.embed_dim)


class MiniWorldEmb(nn.Module):
    """Three strided convolutions over a uint8 (3, 80, 60) frame, then Linear(1120, E)."""

    def __init__(self, embed_dim: int):
        super().__init__()
        self.embed_dim = embed_dim
        self.conv = nn.Sequential(
            nn.Conv2d(3, 32, 5, 2),
            nn.ReLU(),
            nn.Conv2d(32, 32, 5, 2),
            nn.ReLU(),
            nn.Conv2d(32, 32, 4, 2),
            nn.ReLU(),
            nn.Flatten(),
        )
        self.fc = nn.Linear(32 * 7 * 5, embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-3]
        y = self.conv(x.reshape(-1, *x.shape[-3:]).float() / 255.0)
        return self.fc(y).reshape(*lead, self.embed_dim)


class IDEmb(nn.Module):
    """f(e): Embedding(high, 32) per id component, concatenated → Linear(E), no activation."""

    def __init__(self, highs, embed_dim: int, component_dim: int = 32):
        super().__init__()
        highs = [int(h) for h in highs]
        self.table = nn.Embedding(sum(highs), component_dim)
        offsets = torch.tensor([0] + highs[:-1]).cumsum(0)
        self.register_buffer("offsets", offsets, persistent=False)
        self.fc = nn.Linear(component_dim * len(highs), embed_dim)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if ids.dim() == 1 or ids.shape[-1] != self.offsets.numel():
            ids = ids.unsqueeze(-1)
        return self.fc(self.table(ids.long() + self.offsets).flatten(-2))


def state_embedder(obs_kind: str, obs_highs, embed_dim: int) -> nn.Module:
    """The grid embedder for integer observations, the conv embedder for images."""
    if obs_kind == "grid":
        return GridStateEmb(obs_highs, embed_dim)
    if obs_kind == "image":
        return MiniWorldEmb(embed_dim)
    raise ValueError(f"unknown observation kind {obs_kind!r}; expected 'grid' or 'image'")


class DuelingHead(nn.Module):
    """Q = V + A − mean(A).

    `whole_tensor_mean=True` reproduces the original, which averages A over every element of
    the forward call (batch × time × actions, spec §8.19); False is the usual per-state mean.
    `unused_linear` adds the original's extra, never-called Linear so parameter counts match.
    """

    def __init__(
        self, embed_dim: int, num_actions: int, whole_tensor_mean: bool, unused_linear: bool = False
    ):
        super().__init__()
        self.value = nn.Linear(embed_dim, 1)
        self.advantage = nn.Linear(embed_dim, num_actions)
        self.whole_tensor_mean = whole_tensor_mean
        if unused_linear:
            self.unused = nn.Linear(embed_dim, num_actions)

    def forward(self, x: torch.Tensor, acting: bool = False) -> torch.Tensor:
        # The original acts one state at a time, where both means coincide.
        a = self.advantage(x)
        whole = self.whole_tensor_mean and not acting
        mean = a.mean() if whole else a.mean(-1, keepdim=True)
        return self.value(x) + a - mean
