"""An LSTM cell that unrolls whole padded [batch, time] sequences with the fused kernel.

The original steps an `LSTMCell` in a Python loop. `nn.LSTM` computes the same recurrence
(same gates, same parameter shapes, so the same parameter count) in one fused call. Padding
always sits after an episode's last step and an LSTM is causal, so outputs at valid positions do
not depend on padding: masks are applied to losses, never inside the recurrence.
"""

from __future__ import annotations

import torch
from torch import nn


class UnrolledLSTM(nn.Module):
    """One-layer LSTM: `forward` unrolls [B, T, I] sequences, `step` advances [B, I] inputs."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.hidden_size = hidden_size
        self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True)

    def zeros(self, batch: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
        device = device if device is not None else self.lstm.weight_ih_l0.device
        z = torch.zeros(batch, self.hidden_size, device=device)
        return z, z.clone()

    def forward(self, x: torch.Tensor, state=None):
        """x [B, T, I], state (h, c) each [B, H] or None (zeros) → outputs [B, T, H], (h, c)."""
        if state is not None:
            state = (state[0].unsqueeze(0).contiguous(), state[1].unsqueeze(0).contiguous())
        out, (h, c) = self.lstm(x, state)
        return out, (h.squeeze(0), c.squeeze(0))

    def step(self, x: torch.Tensor, state):
        """One step for a batch of independent sequences: x [B, I] → h [B, H], (h, c)."""
        h, c = torch.lstm_cell(
            x,
            state,
            self.lstm.weight_ih_l0,
            self.lstm.weight_hh_l0,
            self.lstm.bias_ih_l0,
            self.lstm.bias_hh_l0,
        )
        return h, (h, c)

    def load_cell(self, cell: nn.LSTMCell) -> None:
        """Copy an `nn.LSTMCell`'s parameters (the original's layout) into this module."""
        with torch.no_grad():
            self.lstm.weight_ih_l0.copy_(cell.weight_ih)
            self.lstm.weight_hh_l0.copy_(cell.weight_hh)
            self.lstm.bias_ih_l0.copy_(cell.bias_ih)
            self.lstm.bias_hh_l0.copy_(cell.bias_hh)
