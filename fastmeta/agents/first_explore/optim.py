"""The original's optimiser (spec §2.6): element-wise gradient clipping, then AdamW on every
parameter, with a linear warm-up and a linear decay to 0.

optax.adamw applies decoupled weight decay scaled by the learning rate, as torch's AdamW does, so
the two update rules coincide (b1 0.9, b2 0.999, eps 1e-8 outside the square root).
"""

from __future__ import annotations

import torch


def lr_at(update: int, total: int, peak: float, warmup_frac: float = 0.1) -> float:
    """Learning rate of update `update` (0-based): 0 -> peak over the warm-up, then peak -> 0."""
    warm = max(int(round(warmup_frac * total)), 0)
    if update < warm:
        return peak * update / warm
    decay = max(total - warm, 1)
    return max(peak * (1.0 - (update - warm) / decay), 0.0)


def clip_elementwise_(params, clip: float) -> None:
    """Clamp every gradient entry to [-clip, clip] (optax.clip; not global-norm clipping)."""
    grads = [p.grad for p in params if p.grad is not None]
    if grads:
        torch._foreach_clamp_min_(grads, -clip)
        torch._foreach_clamp_max_(grads, clip)


def make_optimizer(params, weight_decay: float = 1e-4) -> torch.optim.AdamW:
    """AdamW over all parameters (no decay mask); the learning rate is set per update."""
    return torch.optim.AdamW(
        params, lr=0.0, betas=(0.9, 0.999), eps=1e-8, weight_decay=weight_decay, foreach=True
    )


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    for g in opt.param_groups:
        g["lr"] = lr
