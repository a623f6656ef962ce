"""End-to-end DREAM: evaluation protocol, smoke runs per env, checkpoint resume exactness."""

import json

import numpy as np
import pytest
import torch

import fastmeta
from fastmeta.agents.dream import config as C
from fastmeta.agents.dream.evaluate import evaluation_protocol, first_instruction
from fastmeta.agents.dream.train import Trainer, main

TINY = [
    "fastmeta.num_envs=4",
    "fastmeta.eval_meta_episodes=8",
    "fastmeta.eval_every=20",
    "fastmeta.log_every=5",
    "fastmeta.checkpoint_every=1000000",
    "fastmeta.gif_meta_episodes=0",
    "fastmeta.max_minutes=None",
    "instruction_agent.min_buffer_size=4",
    "exploration_agent.min_buffer_size=4",
    "instruction_agent.batch_size=4",
    "exploration_agent.batch_size=4",
    "instruction_agent.update_freq=8",
    "exploration_agent.update_freq=8",
    "instruction_agent.sync_target_freq=40",
    "exploration_agent.sync_target_freq=40",
    "instruction_agent.buffer.max_buffer_size=64",
    "exploration_agent.buffer.max_buffer_size=64",
]


def test_protocol_matches_the_originals_draws():
    env = fastmeta.make("distraction", num_envs=1)
    ids, instr = evaluation_protocol("distraction", env.test_ids(), 10)
    assert ids.tolist() == [212, 41, 185, 274, 135, 227, 250, 193, 497, 421]  # spec §1.7
    goals = [(0, 0), (8, 8), (0, 0), (0, 8), (0, 8), (8, 0), (0, 8), (8, 0), (8, 0), (0, 8), (8, 8)]
    assert [tuple(i) for i in instr[:, 1]] == goals[1:11]  # exploit: seed j+1
    assert [tuple(i) for i in instr[:, 0]] == [goals[0]] + goals[0:9]  # explore: max(0, j-1)
    assert [first_instruction("cooking", 45, s) for s in range(3)] == [[1, 3], [3, 1], [1, 3]]
    assert [first_instruction("cooking", 10, s) for s in range(4)] == [
        [2, 2],
        [2, 2],
        [2, 2],
        [0, 2],
    ]


@pytest.mark.parametrize("env", ["distraction", "map", "cooking", "vanilla"])
def test_smoke_training_run(env, tmp_path):
    cfg = C.resolve("fast", environment=env, bindings=TINY)
    tr = Trainer(cfg, tmp_path / env, progress=False)
    out = tr.run(max_env_steps=600)
    assert out["env_steps"] == 600 and out["gradient_steps"] > 0
    assert out["meta_episodes"] > 0 and -2.1 <= out["test_return"] <= 1.0
    lines = (tmp_path / env / "evaluations.csv").read_text().splitlines()
    assert len(lines) >= 3
    tags = {
        row.split(",")[3] for row in (tmp_path / env / "scalars.csv").read_text().splitlines()[1:]
    }
    assert {
        "reward/train",
        "reward/test",
        "instruction_DQN/loss",
        "exploration_DQN/epsilon",
        "instruction_DQN/transition_context_loss",
        "steps/exploration",
    } <= tags
    saved = json.loads((tmp_path / env / "config.json").read_text())
    assert saved["environment"] == env
    assert (tmp_path / env / "checkpoint.pt").exists()


def _params(tr):
    return torch.cat(
        [p.detach().flatten() for p in tr.learner.exploit.online.parameters()]
        + [p.detach().flatten() for p in tr.learner.explore.online.parameters()]
    )


def test_checkpoint_resume_is_exact(tmp_path):
    cfg = C.resolve("fast", environment="distraction", bindings=TINY)
    full = Trainer(cfg, tmp_path / "full", progress=False)
    full.run(max_env_steps=400)
    full.run(max_env_steps=800)

    first = Trainer(cfg, tmp_path / "split", progress=False)
    first.run(max_env_steps=400)  # writes checkpoint.pt atomically
    resumed = Trainer(cfg, tmp_path / "split", progress=False)
    resumed.load()
    resumed.run(max_env_steps=800)

    assert torch.equal(_params(full), _params(resumed))
    assert list(full.windows["returns"]) == list(resumed.windows["returns"])

    def drop(c):
        return {k: v for k, v in c.items() if k != "elapsed_s"}

    assert drop(full.counters) == drop(resumed.counters) and full.counters["env_steps"] == 800
    np.testing.assert_array_equal(full.env.obs, resumed.env.obs)
    assert not list((tmp_path / "split").glob("*.tmp"))


def test_cli_rejects_bad_key_and_existing_dir(tmp_path, capsys):
    assert main(["--env", "map", "-b", "fastmeta.typo=1", "--out", str(tmp_path)]) == 2
    assert "fastmeta.typo" in capsys.readouterr().err
    (tmp_path / "x").mkdir()
    assert main(["x", "--env", "map", "--out", str(tmp_path)]) == 2


def test_cli_runs(tmp_path):
    args = [
        "run",
        "--env",
        "cooking",
        "--preset",
        "fast",
        "--out",
        str(tmp_path),
        "--no-progress",
        "-b",
        "fastmeta.max_env_steps=200",
    ] + sum((["-b", b] for b in TINY), [])
    assert main(args) == 0
    assert (tmp_path / "run" / "checkpoint.pt").exists()


def test_smoke_training_run_sign(tmp_path):
    try:
        fastmeta.make("miniworld_sign", num_envs=1)
    except Exception as e:  # no headless GL on this machine
        pytest.skip(f"sign env unavailable: {e}")
    cfg = C.resolve(
        "paper",
        environment="miniworld_sign",
        bindings=TINY + ["fastmeta.num_envs=2", "fastmeta.eval_meta_episodes=3"],
    )
    tr = Trainer(cfg, tmp_path / "sign", progress=False)
    out = tr.run(max_env_steps=120)
    assert out["env_steps"] == 120 and out["gradient_steps"] > 0
    assert -1.0 <= out["test_return"] <= 1.0


def test_evaluation_writes_gifs(tmp_path):
    cfg = C.resolve("fast", environment="map", bindings=TINY + ["fastmeta.gif_meta_episodes=2"])
    Trainer(cfg, tmp_path / "g", progress=False).run(max_env_steps=8)
    gifs = sorted((tmp_path / "g" / "gifs").glob("*.gif"))
    assert len(gifs) >= 2
    from PIL import Image

    with Image.open(gifs[0]) as im:
        assert im.n_frames >= 2  # exploration and exploitation steps


def test_sigterm_stops_cleanly_with_a_checkpoint(tmp_path):
    import os
    import signal

    cfg = C.resolve("fast", environment="vanilla", bindings=TINY)
    tr = Trainer(cfg, tmp_path / "t", progress=False)
    real_step = tr.step

    def step_then_signal():
        if tr.counters["env_steps"] == 40:
            os.kill(os.getpid(), signal.SIGTERM)
        return real_step()

    tr.step = step_then_signal
    out = tr.run(max_env_steps=10_000)
    assert out["stopped"] == "signal" and out["env_steps"] < 10_000
    assert (tmp_path / "t" / "checkpoint.pt").exists()
