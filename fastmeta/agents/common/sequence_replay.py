"""Episode replay held as preallocated tensors on the learner's device (spec §5.6).

Storage is `capacity × (max_len + 1) × field` per step field (observations kept as small ints or
uint8 frames) plus `capacity × field` per episode field (length, env id, instruction, the
exploration trajectory an exploitation episode refers to). Each of the N acting slots writes its
running episode into its own staging row (one batched copy per env step); finished episodes are
copied into the ring with one indexed copy. Sampling draws indices on the device and gathers.
Capacity and the minimum size count episodes, as in the original; sequences start at an episode's
first step. Unlike the original, the episode still being written is not sampled.
"""

from __future__ import annotations

import torch


class SequenceReplay:
    def __init__(
        self,
        capacity: int,
        max_len: int,
        num_slots: int,
        step_fields: dict,
        episode_fields: dict,
        device="cpu",
    ):
        """step_fields / episode_fields: name → (shape tuple, torch dtype)."""
        if capacity < 1 or max_len < 1 or num_slots < 1:
            raise ValueError("capacity, max_len and num_slots must be >= 1")
        self.capacity, self.max_len, self.device = int(capacity), int(max_len), torch.device(device)
        self.step_fields, self.episode_fields = dict(step_fields), dict(episode_fields)
        T = self.max_len + 1

        def alloc(rows, fields, time):
            lead = (rows, T) if time else (rows,)
            return {
                k: torch.zeros(*lead, *shape, dtype=dt, device=self.device)
                for k, (shape, dt) in fields.items()
            }

        self.steps = alloc(self.capacity, self.step_fields, True)
        self.episodes = alloc(self.capacity, self.episode_fields, False)
        self.lengths = torch.zeros(self.capacity, dtype=torch.long, device=self.device)
        self.stage_steps = alloc(num_slots, self.step_fields, True)
        self.stage_episodes = alloc(num_slots, self.episode_fields, False)
        self.size = 0  # episodes stored
        self.next = 0  # ring position of the next insert
        self.inserted = 0  # episodes ever inserted

    def __len__(self) -> int:
        return self.size

    # -- writing --------------------------------------------------------------------------
    def write_step(self, slots: torch.Tensor, t: torch.Tensor, **values) -> None:
        """Write step t[k] of the running episode of slot slots[k], for every given field."""
        for k, v in values.items():
            self.stage_steps[k][slots, t] = v.to(self.stage_steps[k].dtype)

    def write_episode(self, slots: torch.Tensor, **values) -> None:
        for k, v in values.items():
            self.stage_episodes[k][slots] = v.to(self.stage_episodes[k].dtype)

    def commit(self, slots: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Copy the finished episodes of `slots` (with `lengths` steps) into the ring.

        Returns the ring rows written.
        """
        n = int(slots.numel())
        if n == 0:
            return slots
        if n > self.capacity:
            raise ValueError(f"cannot insert {n} episodes into a buffer of {self.capacity}")
        rows = (self.next + torch.arange(n, device=self.device)) % self.capacity
        for k in self.steps:
            self.steps[k][rows] = self.stage_steps[k][slots]
        for k in self.episodes:
            self.episodes[k][rows] = self.stage_episodes[k][slots]
        self.lengths[rows] = lengths.to(self.device, torch.long)
        self.next = (self.next + n) % self.capacity
        self.size = min(self.size + n, self.capacity)
        self.inserted += n
        return rows

    # -- reading --------------------------------------------------------------------------
    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> dict:
        """Uniform with replacement over stored episodes. Step fields come back as
        [B, L+1, ...] with L the longest sampled episode; positions after an episode's end
        repeat its last stored step. Also returns `lengths` [B] and `mask` [B, L]."""
        if self.size == 0:
            raise RuntimeError("cannot sample from an empty replay")
        idx = torch.randint(self.size, (batch_size,), device=self.device, generator=generator)
        return self.gather(idx)

    def gather(self, idx: torch.Tensor) -> dict:
        lengths = self.lengths[idx]
        L = int(lengths.max())
        t = torch.arange(L + 1, device=self.device)
        tt = torch.minimum(t[None, :], lengths[:, None])  # repeat the last step
        out = {k: v[idx[:, None], tt] for k, v in self.steps.items()}
        out.update({k: v[idx] for k, v in self.episodes.items()})
        out["lengths"] = lengths
        out["mask"] = t[None, :L] < lengths[:, None]
        return out

    # -- checkpointing --------------------------------------------------------------------
    def state_dict(self) -> dict:
        """The stored episodes only: the ring fills rows 0, 1, ... in order, so rows past `size`
        have never been written, and a sign-world buffer that holds a few episodes of its
        6,000 would otherwise write gigabytes of zero frames into every checkpoint. A partial
        ring is cloned because torch.save writes a view's whole storage."""
        n = self.size

        def rows(v):
            return v if n == self.capacity else v[:n].clone()

        return {
            "steps": {k: rows(v) for k, v in self.steps.items()},
            "episodes": {k: rows(v) for k, v in self.episodes.items()},
            "lengths": rows(self.lengths),
            "stage_steps": self.stage_steps,
            "stage_episodes": self.stage_episodes,
            "size": self.size,
            "next": self.next,
            "inserted": self.inserted,
        }

    def load_state_dict(self, state: dict) -> None:
        """Accepts the stored rows alone or, as checkpoints before this format held, the whole
        ring."""
        n = int(state["size"])
        if not 0 <= n <= self.capacity:
            raise ValueError(f"replay state holds {n} episodes; this buffer holds {self.capacity}")
        for name in ("steps", "episodes"):
            for k, v in state[name].items():
                dst = getattr(self, name)[k]
                dst[:n].copy_(v[:n])
                dst[n:].zero_()
        for name in ("stage_steps", "stage_episodes"):
            for k, v in state[name].items():
                getattr(self, name)[k].copy_(v)
        self.lengths[:n].copy_(state["lengths"][:n])
        self.lengths[n:].zero_()
        self.size, self.next, self.inserted = n, state["next"], state["inserted"]
