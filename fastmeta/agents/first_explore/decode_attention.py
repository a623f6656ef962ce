"""Single-query attention against a KV cache, the inner loop of KV-cached decoding on CPU.

One new token per lifetime attends to its lifetime's cached keys/values. As B*H independent
(1 x d) @ (d x n) products this is a batch of tiny matrix-vector products, where a batched GEMM
call spends much of its time in per-matrix dispatch; two streaming kernels (scores, then the
weighted sum of values) around torch's softmax are up to ~2x faster at First-Explore's sizes.
Other devices, and autograd, use the equivalent torch expression.
"""

from __future__ import annotations

import numpy as np
import torch
from numba import njit


@njit(cache=True, fastmath=True)
def _scores(q, k, n, out):
    """out[r, j] = q[r] . k[r, j] for j < n; q (R, d), k (R, L, d), out (R, n)."""
    rows, d = q.shape
    for r in range(rows):
        for j in range(n):
            acc = np.float32(0.0)
            for c in range(d):
                acc += q[r, c] * k[r, j, c]
            out[r, j] = acc


@njit(cache=True, fastmath=True)
def _weighted_sum(p, v, n, out):
    """out[r] = sum_j p[r, j] v[r, j] for j < n; p (R, n), v (R, L, d), out (R, d)."""
    rows, d = out.shape
    for r in range(rows):
        for c in range(d):
            out[r, c] = 0.0
        for j in range(n):
            w = p[r, j]
            for c in range(d):
                out[r, c] += w * v[r, j, c]


def attend_torch(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, n: int) -> torch.Tensor:
    """The same attention as two batched matmuls (any device)."""
    att = torch.bmm(q.unsqueeze(1), k[:, :n].transpose(1, 2)) * (q.shape[-1] ** -0.5)
    return torch.bmm(torch.softmax(att, -1), v[:, :n]).squeeze(1)


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, n: int) -> torch.Tensor:
    """q (R, d); k, v (R, L, d) caches; attends to entries 0..n-1. No autograd."""
    if q.device.type != "cpu" or q.dtype != torch.float32 or torch.is_grad_enabled():
        return attend_torch(q, k, v, n)
    q = q.contiguous()
    s = torch.empty(q.shape[0], n)
    _scores(q.numpy(), k.numpy(), n, s.numpy())
    # the exponentials go through torch's vectorised softmax; a scalar exp per score in the
    # kernel would cost more than the two streaming passes
    p = torch.softmax(s * (q.shape[-1] ** -0.5), -1)
    out = torch.empty_like(q)
    _weighted_sum(p.numpy(), v.numpy(), n, out.numpy())
    return out
