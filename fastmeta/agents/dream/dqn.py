"""Double dueling recurrent DQN machinery shared by DREAM's two agents (spec §5.6) and the
baselines' one.

Counters are in experiences, as in the original where `update` is called once per env step:
with N slots acting together, N experiences arrive per vector step, and the gradient steps and
target syncs that the original would have made for them are made after that step.
"""

from __future__ import annotations

import copy
from collections import deque

import numpy as np
import torch
from torch import nn


class EpsilonSchedule:
    """Linear decay; the original decrements before acting, so act k uses step k + 1."""

    def __init__(self, begin: float, end: float, total_steps: int):
        self.begin, self.end, self.total_steps = float(begin), float(end), int(total_steps)

    def value(self, steps_taken: int) -> float:
        eps = self.begin - (self.begin - self.end) * (steps_taken + 1) / self.total_steps
        return max(self.end, eps)


def epsilon_greedy(q: torch.Tensor, epsilon: torch.Tensor, generator=None) -> torch.Tensor:
    """Greedy action per row, replaced by a uniform one where u < ε (ε may differ per row)."""
    greedy = q.argmax(-1)
    u = torch.rand(q.shape[0], device=q.device, generator=generator)
    rand = torch.randint(q.shape[-1], (q.shape[0],), device=q.device, generator=generator)
    return torch.where(u < epsilon, rand, greedy)


def td_loss(
    q_online: torch.Tensor,
    q_target_next: torch.Tensor,
    actions,
    rewards,
    dones,
    mask,
    discount: float,
):
    """Double DQN: a* from the online net at t+1, valued by the target net.

    q_online [B, L+1, A] over s_0..s_L, q_target_next [B, L, A] over s_1..s_L, others [B, L].
    Returns (loss, Q values [B, L+1, A] for logging).
    """
    q_cur = q_online[:, :-1].gather(-1, actions[..., None].long()).squeeze(-1)
    a_star = q_online[:, 1:].argmax(-1, keepdim=True)
    q_next = q_target_next.gather(-1, a_star).squeeze(-1)
    y = (rewards + discount * q_next * (1.0 - dones.float())).detach()
    m = mask.float()
    return ((q_cur - y).pow(2) * m).sum() / m.sum()


def due_count(before: int, added: int, freq: int) -> int:
    """How many of the counter values before, ..., before+added-1 are multiples of freq."""
    if added <= 0:
        return 0
    return (before + added - 1) // freq - (before - 1) // freq


class DQNAgent:
    """Online and target networks, Adam, gradient clipping, the ε schedule and counters."""

    def __init__(
        self,
        net: nn.Module,
        *,
        learning_rate,
        max_grad_norm,
        discount,
        epsilon,
        test_epsilon,
        sync_target_freq,
        update_freq,
        batch_size,
        min_buffer_size,
        sync_target_at_start=False,
    ):
        self.online = net
        self.target = copy.deepcopy(net)
        if not sync_target_at_start:
            # The original builds its target as a second, independently initialised network
            # (spec §8.20): keep that, with weights drawn after the online ones.
            for m in self.target.modules():
                if hasattr(m, "reset_parameters") and m is not self.target:
                    m.reset_parameters()
        for p in self.target.parameters():
            p.requires_grad_(False)
        # Fused Adam is the same update in one kernel per step (supported on CPU and CUDA).
        self.optimizer = torch.optim.Adam(self.online.parameters(), lr=learning_rate, fused=True)
        self.max_grad_norm = max_grad_norm
        self.discount = discount
        self.epsilon = epsilon
        self.test_epsilon = test_epsilon
        self.sync_target_freq = sync_target_freq
        self.update_freq = update_freq
        self.batch_size = batch_size
        self.min_buffer_size = min_buffer_size
        self.acts = 0  # training-mode act calls (drives ε)
        self.update_calls = 0  # experiences offered to `update` (drives cadence)
        self.gradient_steps = 0
        self.stats = {
            "loss": deque(maxlen=100),
            "grad_norm": deque(maxlen=100),
            "Max Q": deque(maxlen=1000),
            "Min Q": deque(maxlen=1000),
        }

    def current_epsilon(self) -> float:
        return self.epsilon.value(self.acts)

    def acting_epsilons(self, n: int, training: bool, device) -> torch.Tensor:
        """ε for n slots acting together, in slot order. Training acts each get the schedule's
        value at their own act count, as if made one by one, and advance it; evaluation acts
        use the test ε and leave it alone."""
        if not training:
            return torch.full((n,), float(self.test_epsilon), device=device)
        s = self.epsilon
        k = self.acts + 1 + np.arange(n)
        eps = np.maximum(s.end, s.begin - (s.begin - s.end) * k / s.total_steps)
        self.acts += n
        return torch.as_tensor(eps, dtype=torch.float32, device=device)

    def record_q(self, q: torch.Tensor) -> None:
        if q.numel():
            self.stats["Max Q"].append(float(q.max(-1).values.mean()))
            self.stats["Min Q"].append(float(q.min(-1).values.mean()))

    def schedule(self, added: int, buffer_size: int) -> tuple[int, int]:
        """Advance the update counter by `added` experiences; return (gradient steps, syncs)."""
        before = self.update_calls
        self.update_calls += added
        if buffer_size < self.min_buffer_size:
            return 0, 0
        return (
            due_count(before, added, self.update_freq),
            due_count(before, added, self.sync_target_freq),
        )

    def optimize(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = nn.utils.clip_grad_norm_(self.online.parameters(), self.max_grad_norm)
        self.optimizer.step()
        self.gradient_steps += 1
        self.stats["loss"].append(float(loss.detach()))
        self.stats["grad_norm"].append(float(norm))

    def sync_target(self) -> None:
        self.target.load_state_dict(self.online.state_dict())

    def summary(self) -> dict:
        out = {"epsilon": self.current_epsilon()}
        for k, v in self.stats.items():
            if len(v):
                out[k] = sum(v) / len(v)
        return out

    def state_dict(self) -> dict:
        return {
            "online": self.online.state_dict(),
            "target": self.target.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "acts": self.acts,
            "update_calls": self.update_calls,
            "gradient_steps": self.gradient_steps,
            "stats": {k: list(v) for k, v in self.stats.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        self.online.load_state_dict(state["online"])
        self.target.load_state_dict(state["target"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.acts, self.update_calls = state["acts"], state["update_calls"]
        self.gradient_steps = state["gradient_steps"]
        for k, v in state["stats"].items():
            self.stats[k].clear()
            self.stats[k].extend(v)
