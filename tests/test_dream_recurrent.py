"""The fused LSTM unroll equals the original's LSTMCell stepped in a Python loop."""

import torch
from torch import nn

from fastmeta.agents.common.recurrent import UnrolledLSTM


def _pair(i=6, h=5, seed=0):
    torch.manual_seed(seed)
    cell = nn.LSTMCell(i, h)
    lstm = UnrolledLSTM(i, h)
    lstm.load_cell(cell)
    return cell, lstm


def test_parameter_count_equals_lstm_cell():
    cell, lstm = _pair(64, 128)
    assert sum(p.numel() for p in cell.parameters()) == sum(p.numel() for p in lstm.parameters())


def test_unroll_equals_cell_steps_from_zero_and_given_state():
    cell, lstm = _pair()
    x = torch.randn(4, 9, 6)
    for state in (None, (torch.randn(4, 5), torch.randn(4, 5))):
        out, (h_last, c_last) = lstm(x, state)
        h, c = state if state is not None else (torch.zeros(4, 5), torch.zeros(4, 5))
        for t in range(9):
            h, c = cell(x[:, t], (h, c))
            torch.testing.assert_close(out[:, t], h, atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(h_last, h, atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(c_last, c, atol=1e-6, rtol=1e-5)


def test_step_equals_cell():
    cell, lstm = _pair()
    x, state = torch.randn(3, 6), (torch.randn(3, 5), torch.randn(3, 5))
    h, (h2, c2) = lstm.step(x, state)
    rh, rc = cell(x, state)
    torch.testing.assert_close(h, rh)
    torch.testing.assert_close(c2, rc)


def test_gradients_equal_cell_loop():
    cell, lstm = _pair(seed=3)
    x = torch.randn(2, 7, 6)
    out, _ = lstm(x)
    g = torch.autograd.grad(out.pow(2).sum(), [lstm.lstm.weight_ih_l0, lstm.lstm.weight_hh_l0])
    h = c = torch.zeros(2, 5)
    hs = []
    for t in range(7):
        h, c = cell(x[:, t], (h, c))
        hs.append(h)
    rg = torch.autograd.grad(torch.stack(hs, 1).pow(2).sum(), [cell.weight_ih, cell.weight_hh])
    for a, b in zip(g, rg):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_padding_does_not_change_valid_outputs():
    """Sequences are padded after their end, so masks are only needed in the losses."""
    _, lstm = _pair()
    x = torch.randn(3, 8, 6)
    lengths = torch.tensor([8, 3, 5])
    out, _ = lstm(x)
    noisy = x.clone()
    for b, L in enumerate(lengths):
        noisy[b, L:] = torch.randn(8 - L, 6) * 100
    out2, _ = lstm(noisy)
    for b, L in enumerate(lengths):
        torch.testing.assert_close(out[b, :L], out2[b, :L])
