"""The learners' device path: host buffers reach the device through `HostToDevice` (pinned,
non-blocking on CUDA), devices are checked up front, and every learner trains end to end on the
device it is given. Tests marked `cuda` need a GPU and skip with the reason elsewhere."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from fastmeta.agents.common.device import HostToDevice, check_device
from fastmeta.cli import main as fastmeta_main

CUDA = torch.cuda.is_available()
cuda = pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU (none on this machine)")

TINY = {
    "dream": [
        "--env",
        "map",
        "--preset",
        "fast",
        "--max-env-steps",
        "2000",
        "-b",
        "fastmeta.num_envs=16",
        "-b",
        "fastmeta.eval_meta_episodes=4",
        "-b",
        "instruction_agent.min_buffer_size=20",
        "-b",
        "exploration_agent.min_buffer_size=20",
        "-b",
        "instruction_agent.update_freq=8",
        "-b",
        "exploration_agent.update_freq=8",
    ],
    "rl2": [
        "--env",
        "map",
        "--preset",
        "fast",
        "--max-env-steps",
        "2000",
        "-b",
        "fastmeta.num_envs=16",
        "-b",
        "fastmeta.eval_trials=4",
        "-b",
        "agent.min_buffer_size=20",
        "-b",
        "agent.update_freq=8",
    ],
    "first-explore": [
        "--env",
        "bandit",
        "--preset",
        "fast",
        "-b",
        "batch_size=4",
        "-b",
        "pulls=9",
        "-b",
        "eval_lifetime=12",
        "-b",
        "eval_k=3",
        "-b",
        "eval_lifetimes=4",
        "-b",
        "total_updates=3",
    ],
}


def test_host_to_device_copies_on_cpu():
    stage = HostToDevice("cpu")
    x = np.arange(6, dtype=np.int64).reshape(2, 3)
    t = stage.put("x", x)
    x[0, 0] = 99  # the tensor is a copy: the env may overwrite its buffer next step
    assert t[0, 0].item() == 0 and t.dtype == torch.int64
    assert stage.put("x", x, torch.float64).dtype == torch.float64


def test_check_device_refuses_what_is_not_there():
    assert check_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="not a torch device"):
        check_device("tpu-ish")
    if not CUDA:
        with pytest.raises(ValueError, match="CUDA is not available"):
            check_device("cuda")


def test_unavailable_cuda_is_a_clear_error(tmp_path, capsys):
    if CUDA:
        pytest.skip("CUDA is available here")
    code = fastmeta_main(
        [
            "train",
            "first-explore",
            *TINY["first-explore"],
            "--device",
            "cuda",
            "--out",
            str(tmp_path),
            "--no-progress",
        ]
    )
    assert code == 2
    assert "CUDA is not available" in capsys.readouterr().err


def _train(learner: str, device: str, tmp_path, capsys) -> dict:
    argv = ["train", learner, *TINY[learner], "--device", device, "--out", str(tmp_path)]
    assert fastmeta_main([*argv, "--no-progress", "-b", "fastmeta.tensorboard=false"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.mark.parametrize("learner", list(TINY))
def test_every_learner_trains_end_to_end_on_the_cpu_device(learner, tmp_path, capsys):
    summary = _train(learner, "cpu", tmp_path, capsys)
    assert summary["gradient_steps"] > 0


@pytest.mark.cuda
@cuda
def test_host_to_device_pins_and_copies_without_blocking():
    stage = HostToDevice("cuda")
    x = np.random.default_rng(0).integers(0, 9, size=(64, 5))
    first = stage.put("obs", x)
    assert stage._staging["obs"].is_pinned()
    x2 = x + 1
    second = stage.put("obs", x2)  # reuses the pinned buffer once the first copy is done
    np.testing.assert_array_equal(first.cpu().numpy(), x)
    np.testing.assert_array_equal(second.cpu().numpy(), x2)
    assert first.device.type == "cuda"


@pytest.mark.cuda
@cuda
@pytest.mark.parametrize("learner", list(TINY))
def test_every_learner_trains_end_to_end_on_cuda(learner, tmp_path, capsys):
    summary = _train(learner, "cuda", tmp_path, capsys)
    assert summary["gradient_steps"] > 0


@pytest.mark.cuda
@cuda
def test_first_explore_update_matches_between_cpu_and_cuda():
    from fastmeta.agents.first_explore.learner import Learner
    from fastmeta.agents.first_explore.train import resolve_args

    config = resolve_args("bandit", "fast", ["batch_size=4", "pulls=9", "total_updates=10"])
    losses = []
    for device in ("cpu", "cuda"):
        learner = Learner(config, device=device)
        learner.update_idx = 5
        losses.append(learner.update()["loss"])
    assert losses[0] == pytest.approx(losses[1], rel=1e-3)
