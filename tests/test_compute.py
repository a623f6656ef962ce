"""fastmeta.bench.compute (CPU features, matmul peak, FLOP counting) and the precision switch of
fastmeta.agents.common.precision: shapes of the answers, never timings."""

import math

import pytest
import torch

from fastmeta.agents.common.precision import PRECISIONS, autocast, check_precision
from fastmeta.bench.compute import achieved, count_flops, cpu_features, matmul_peak

FEATURE_FLAGS = ["avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "bf16_hw", "cuda"]


def test_cpu_features_keys_and_types():
    feat = cpu_features()
    for key in FEATURE_FLAGS:
        assert type(feat[key]) is bool, key
    assert feat["bf16_hw"] == (feat["avx512_bf16"] or feat["amx_bf16"])
    assert isinstance(feat["model"], str) and feat["model"]
    assert isinstance(feat["logical_cores"], int) and feat["logical_cores"] >= 1
    assert "torch_capability" in feat
    assert (feat["cuda_device"] is None) == (not feat["cuda"])


def test_matmul_peak_fp32_is_positive_and_finite():
    before = torch.get_num_threads()
    gflops = matmul_peak(torch.float32, threads=1, m=64, k=32, n=48, min_time=0.05)
    assert isinstance(gflops, float)
    assert math.isfinite(gflops) and gflops > 0
    assert torch.get_num_threads() == before  # the thread count is restored


def test_count_flops_of_a_matmul():
    m, k, n = 17, 23, 31
    a, b = torch.randn(m, k), torch.randn(k, n)
    assert count_flops(lambda: a @ b) == 2 * m * k * n


def test_count_flops_backward_adds_to_forward():
    layer = torch.nn.Linear(32, 16)
    x = torch.randn(8, 32, requires_grad=True)
    forward = count_flops(lambda: layer(x))
    assert forward == 2 * 8 * 32 * 16
    assert count_flops(lambda: layer(x).sum().backward()) > forward


def test_count_flops_sees_inside_an_lstm():
    lstm = torch.nn.LSTM(8, 16)
    x = torch.randn(5, 3, 8)
    steps, batch, gates = 5, 3, 4 * 16
    expected = steps * (2 * batch * 8 * gates + 2 * batch * 16 * gates)
    assert count_flops(lambda: lstm(x)) == expected


def test_achieved_reports_flops_and_rate():
    a, b = torch.randn(16, 16), torch.randn(16, 16)
    result = achieved(lambda: a @ b, min_time=0.01, warmup=1)
    assert result["flops"] == 2 * 16**3
    assert result["seconds_per_call"] > 0 and result["gflops"] > 0


def test_bf16_autocast_makes_a_bf16_matmul():
    a, b = torch.randn(4, 8), torch.randn(8, 2)
    with autocast("bf16", "cpu"):
        assert (a @ b).dtype == torch.bfloat16
    with autocast("fp32", "cpu"):
        assert (a @ b).dtype == torch.float32


def test_unknown_precision_names_the_allowed_ones():
    assert PRECISIONS == ("fp32", "bf16")
    assert check_precision("bf16") == "bf16"
    with pytest.raises(ValueError, match=r"'fp32'.*'bf16'"):
        autocast("fp16", "cpu")
    with pytest.raises(ValueError, match="fp16"):
        check_precision("fp16")
