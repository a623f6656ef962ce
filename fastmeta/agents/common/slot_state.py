"""Checkpointing of a learner's per-slot acting state (recurrent states, step counters)."""

from __future__ import annotations

import torch


class SlotState:
    """Checkpointing for acting state kept on the instance as tensors and (h, c) tuples."""

    def state_dict(self) -> dict:
        return {
            k: (tuple(x.clone() for x in v) if isinstance(v, tuple) else v.clone())
            for k, v in vars(self).items()
            if isinstance(v, (tuple, torch.Tensor))
        }

    def load_state_dict(self, state: dict) -> None:
        for k, v in state.items():
            setattr(self, k, tuple(x.clone() for x in v) if isinstance(v, tuple) else v.clone())
