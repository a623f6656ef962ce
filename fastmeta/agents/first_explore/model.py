"""First-Explore's sequence model: a GPT-2-style pre-LN causal transformer with policy heads.

One trunk is shared by the explore and exploit policies; each policy is a linear head on the
trunk's hidden states (spec §2.1, §2.2). The bandit model adds the two "failure" heads.

Token embedding (before the trunk):
  bandit            LN0(Dense_r(r) + Dense_a(onehot(a))) + wpe(pos)
  treasure / maze   LN0(Dense_r(r) + Dense_a(onehot(a)) + Embed_ep(ep) + Dense_s(obs)) + wpe(timestep)
An action index of -1 is the "zero action vector" of an episode's first token.

Two ways to run the trunk, with the same weights and the same numbers up to float rounding:
  `forward_tokens`  the whole sequence at once under a causal (or branch-tree) mask; used for
                    the loss, so the gradient covers every token of the lifetime;
  `decode`          one token per call for the whole batch, against a preallocated KV cache;
                    used to roll out lifetimes (no gradient needed there, see rollout.py).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from fastmeta.agents.first_explore.decode_attention import attend


@dataclass(frozen=True)
class ModelConfig:
    act_dim: int
    obs_dim: int = 0  # 0: no state input (bandit)
    n_layer: int = 3
    n_head: int = 4
    d_model: int = 128
    d_mlp: int = 512
    n_positions: int = 1024  # rows of the position table (and of the episode table)
    episode_embedding: bool = False
    failure_heads: bool = False  # bandit: pred_nonexp / pred_nonmax

    def to_dict(self) -> dict:
        return asdict(self)


def bandit_config(num_arms: int = 10) -> ModelConfig:
    return ModelConfig(act_dim=num_arms, n_layer=3, failure_heads=True)


def treasure_config() -> ModelConfig:
    return ModelConfig(act_dim=5, obs_dim=2, n_layer=4, episode_embedding=True)


def maze_config() -> ModelConfig:
    return ModelConfig(act_dim=3, obs_dim=30, n_layer=4, episode_embedding=True)


def lecun_normal_(weight: torch.Tensor) -> None:
    """Flax's default Dense kernel init: truncated normal, variance 1/fan_in."""
    fan_in = weight.shape[1]
    # a unit-variance normal truncated to [-2, 2] has std 0.8796; rescale as Flax does
    std = math.sqrt(1.0 / fan_in) / 0.87962566103423978
    nn.init.trunc_normal_(weight, std=std, a=-2 * std, b=2 * std)


def dense(n_in: int, n_out: int) -> nn.Linear:
    layer = nn.Linear(n_in, n_out)
    lecun_normal_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


class Block(nn.Module):
    """x + Attn(LN1 x), then x + MLP(LN2 x); ReLU MLP; weights N(0, 0.02), biases 0."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d = cfg.d_model
        self.n_head, self.d_head = cfg.n_head, d // cfg.n_head
        self.ln_1 = nn.LayerNorm(d, eps=1e-5)
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d, eps=1e-5)
        self.c_fc = nn.Linear(d, cfg.d_mlp)
        self.mlp_proj = nn.Linear(cfg.d_mlp, d)
        for lin in (self.c_attn, self.c_proj, self.c_fc, self.mlp_proj):
            nn.init.normal_(lin.weight, std=0.02)
            nn.init.zeros_(lin.bias)

    def mlp(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp_proj(F.relu(self.c_fc(self.ln_2(x))))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """x: (B, L, D). mask: None for causal, else bool (L, L), True where attention is allowed."""
        b, n, d = x.shape
        qkv = self.c_attn(self.ln_1(x)).view(b, n, 3, self.n_head, self.d_head)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        if mask is None:
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        x = x + self.c_proj(a.transpose(1, 2).reshape(b, n, d))
        return x + self.mlp(x)

    def decode(
        self, x: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor, slot: int
    ) -> torch.Tensor:
        """x: (B, D), one new token per lifetime, written at cache index `slot`; it attends to
        cache entries 0..slot (every lifetime in a batch is at the same point).

        k_cache/v_cache: (B*H, max_len, d_head); see decode_attention.py."""
        b, d = x.shape
        qkv = self.c_attn(self.ln_1(x)).view(b, 3, self.n_head, self.d_head)
        q, k, v = (t.reshape(b * self.n_head, self.d_head) for t in qkv.unbind(1))
        k_cache[:, slot] = k
        v_cache[:, slot] = v
        a = attend(q, k_cache, v_cache, slot + 1)
        x = x + self.c_proj(a.view(b, d))
        return x + self.mlp(x)


class KVCache:
    """Preallocated keys and values, (n_layer, B * n_head, max_len, d_head) each."""

    def __init__(
        self, cfg: ModelConfig, batch: int, max_len: int, device="cpu", dtype=torch.float32
    ):
        shape = (cfg.n_layer, batch * cfg.n_head, max_len, cfg.d_model // cfg.n_head)
        self.k = torch.zeros(shape, device=device, dtype=dtype)
        self.v = torch.zeros(shape, device=device, dtype=dtype)
        self.max_len = max_len


HEADS_BANDIT = ("exp", "max", "nonexp", "nonmax")
HEADS_EPISODIC = ("exp", "max")


class FirstExploreModel(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.dense_r = dense(1, d)
        self.dense_a = dense(cfg.act_dim, d)
        self.dense_s = dense(cfg.obs_dim, d) if cfg.obs_dim else None
        self.embed_ep = nn.Embedding(cfg.n_positions, d) if cfg.episode_embedding else None
        self.wpe = nn.Embedding(cfg.n_positions, d)
        for table in (self.wpe, self.embed_ep):
            if table is not None:
                nn.init.normal_(table.weight, std=0.02)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(d, eps=1e-5)
        self.head_names = HEADS_BANDIT if cfg.failure_heads else HEADS_EPISODIC
        self.heads = nn.ModuleDict({f"pred_{h}": dense(d, cfg.act_dim) for h in self.head_names})

    # -- tokens -> embeddings -----------------------------------------------------------------
    def action_table(self) -> torch.Tensor:
        """(A + 1, D): one-hot @ W^T is a row gather; the zero action selects the last, zero row."""
        w_a = self.dense_a.weight
        return torch.cat([w_a.t(), w_a.new_zeros(1, w_a.shape[0])])

    def embed(
        self,
        act: torch.Tensor,
        rew: torch.Tensor,
        pos: torch.Tensor,
        ep: torch.Tensor | None = None,
        obs: torch.Tensor | None = None,
        table: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """act: long (...), -1 = zero action; rew: float (...); pos/ep: long, broadcastable to
        act's shape; obs: float (..., obs_dim); table: `action_table()`, if already built.
        Returns (..., d_model)."""
        if table is None:
            table = self.action_table()
        x = F.embedding(torch.where(act < 0, self.cfg.act_dim, act), table) + self.dense_a.bias
        x = x + rew.unsqueeze(-1) * self.dense_r.weight[:, 0] + self.dense_r.bias
        if self.dense_s is not None:
            x = x + self.dense_s(obs)
        if self.embed_ep is not None:
            x = x + self.embed_ep(ep)
        x = F.layer_norm(x, (self.cfg.d_model,), eps=1e-6)
        return x + self.wpe(pos)

    # -- trunk --------------------------------------------------------------------------------
    def forward_tokens(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """x: embedded tokens (B, L, D) -> final hidden states (B, L, D)."""
        for blk in self.blocks:
            x = blk(x, mask)
        return self.ln_f(x)

    def decode(self, x: torch.Tensor, cache: KVCache, slot: int) -> torch.Tensor:
        """x: one embedded token per lifetime (B, D), stored at cache index `slot` -> (B, D)."""
        for i, blk in enumerate(self.blocks):
            x = blk.decode(x, cache.k[i], cache.v[i], slot)
        return self.ln_f(x)

    def head(self, name: str, h: torch.Tensor) -> torch.Tensor:
        return self.heads[f"pred_{name}"](h)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
