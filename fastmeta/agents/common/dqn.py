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

from fastmeta.agents.common.distributed import Dist
from fastmeta.agents.common.precision import outside_autocast


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
    denominator=None,
):
    """Double DQN: a* from the online net at t+1, valued by the target net.

    q_online [B, L+1, A] over s_0..s_L, q_target_next [B, L, A] over s_1..s_L, others [B, L].
    The loss is the masked mean; `denominator(local mask count)` gives the count to divide by
    when the batch is split over ranks (Dist.mean_denominator), so the ranks' averaged gradients
    equal the whole batch's.
    """
    q_cur = q_online[:, :-1].gather(-1, actions[..., None].long()).squeeze(-1)
    a_star = q_online[:, 1:].argmax(-1, keepdim=True)
    q_next = q_target_next.gather(-1, a_star).squeeze(-1)
    y = (rewards + discount * q_next * (1.0 - dones.float())).detach()
    m = mask.float()
    count = m.sum() if denominator is None else denominator(m.sum())
    return ((q_cur - y).pow(2) * m).sum() / count


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
        self.dist = Dist()
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

    def acting_epsilons(self, n: int, training: bool, device, offset=None) -> torch.Tensor:
        """ε for n slots acting together, in slot order. Training acts each get the schedule's
        value at their own act count, as if made one by one, and advance it; evaluation acts
        use the test ε and leave it alone. On several ranks `offset` = (acts of lower ranks in
        this step, acts of all ranks in this step) places these n among them."""
        if not training:
            return torch.full((n,), float(self.test_epsilon), device=device)
        before, total = offset if offset else (0, n)
        s = self.epsilon
        k = self.acts + 1 + before + np.arange(n)
        eps = np.maximum(s.end, s.begin - (s.begin - s.end) * k / s.total_steps)
        self.acts += total
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

    @property
    def local_batch_size(self) -> int:
        """This rank's share of each gradient step's batch."""
        return self.dist.block(self.batch_size, "config key 'batch_size'")[1]

    def optimize(self, loss: torch.Tensor) -> None:
        with outside_autocast(loss.device.type):
            self.optimizer.zero_grad(set_to_none=True)
            loss.float().backward()
            self.dist.average_gradients(self.online.parameters())
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


def build_agent(net, agent_cfg: dict, quirks: dict, dist=None) -> DQNAgent:
    pol = agent_cfg["policy"]
    eps = pol["epsilon_schedule"]
    agent = DQNAgent(
        net,
        learning_rate=agent_cfg["learning_rate"],
        max_grad_norm=agent_cfg["max_grad_norm"],
        discount=pol["discount"],
        epsilon=EpsilonSchedule(eps["begin"], eps["end"], eps["total_steps"]),
        test_epsilon=pol["test_epsilon"],
        sync_target_freq=agent_cfg["sync_target_freq"],
        update_freq=agent_cfg["update_freq"],
        batch_size=agent_cfg["batch_size"],
        min_buffer_size=agent_cfg["min_buffer_size"],
        sync_target_at_start=quirks["sync_target_at_start"],
    )
    if dist is not None:
        agent.dist = dist
        agent.local_batch_size  # refuses a batch the ranks cannot share evenly
    return agent


def rank_seed(seed: int, rank: int) -> int:
    """The seed of rank `rank`'s sampling generator: `seed` itself on rank 0, so a one-process
    run draws as it always did, and an independent stream on every other rank."""
    if rank == 0:
        return int(seed)
    return int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, rank]).generate_state(1)[0])
