"""End-to-end baselines: evaluation protocol, smoke runs, exact resume, CLI, comparison."""

import json

import numpy as np
import pytest
import torch

import fastmeta
import fastmeta.cli
from fastmeta.agents.baselines import compare
from fastmeta.agents.baselines import config as C
from fastmeta.agents.baselines.evaluate import instruction_draws, trial_protocol
from fastmeta.agents.baselines.train import BaselineTrainer, main_import, main_rl2

torch.set_num_threads(1)

TINY = [
    "fastmeta.num_envs=4",
    "fastmeta.eval_trials=8",
    "fastmeta.eval_every=20",
    "fastmeta.log_every=5",
    "fastmeta.checkpoint_every=1000000",
    "fastmeta.gif_trials=0",
    "fastmeta.max_minutes=None",
    "agent.min_buffer_size=4",
    "agent.batch_size=4",
    "agent.update_freq=8",
    "agent.sync_target_freq=40",
    "agent.buffer.max_buffer_size=64",
]
GOALS = [(0, 0), (8, 8), (0, 0), (0, 8), (0, 8), (8, 0), (0, 8), (8, 0), (8, 0), (0, 8), (8, 8)]


def test_protocol_pins_the_originals_test_trials():
    env = fastmeta.make("distraction", num_envs=1)
    ids, instr = trial_protocol("distraction", env.test_ids(), 10)
    assert ids.tolist() == [212, 41, 185, 274, 135, 227, 250, 193, 497, 421]  # spec §1.7
    assert [tuple(i) for i in instr[:, 0]] == GOALS[1:11]  # 1st draw of RS(j + 1)
    for j in range(10):  # 2nd draw of the same stream
        rs = np.random.RandomState(j + 1)
        rs.randint(4)
        assert tuple(instr[j, 1]) == [(0, 0), (8, 8), (0, 8), (8, 0)][rs.randint(4)]
    # cooking: one draw = randint(3, size=2) over the drawers (spec §2.3 goldens)
    first = [instruction_draws("cooking", 45, s, 1)[0] for s in range(3)]
    assert first == [[1, 3], [3, 1], [1, 3]]
    assert instruction_draws("cooking", 10, 1, 2)[0] == [2, 2]


@pytest.mark.parametrize("method", ["rl2", "import", "varibad"])
def test_smoke_training_run(method, tmp_path):
    cfg = C.resolve(method, "fast", environment="distraction", bindings=TINY)
    tr = BaselineTrainer(cfg, tmp_path / method, progress=False)
    out = tr.run(max_env_steps=400)
    assert out["env_steps"] == 400 and out["gradient_steps"] > 0 and out["trials"] > 0
    assert -2.1 <= out["test_return"] <= 1.0
    tags = {
        row.split(",")[3]
        for row in (tmp_path / method / "scalars.csv").read_text().splitlines()[1:]
    }
    aux = {
        "rl2": set(),
        "import": {"agent_DQN/embedding_distance"},
        "varibad": {"agent_DQN/reward_decoding_loss", "agent_DQN/state_decoding_loss"},
    }[method]
    assert {
        "reward/train",
        "reward/test",
        "agent_DQN/loss",
        "agent_DQN/epsilon",
        "steps/total",
        "steps/test_steps_per_episode",
    } | aux <= tags
    assert (
        json.loads((tmp_path / method / "config.json").read_text())["environment"] == "distraction"
    )
    assert (tmp_path / method / "checkpoint.pt").exists()


@pytest.mark.parametrize("method", ["import", "varibad"])
def test_paper_preset_runs_with_the_originals_quirks_and_gifs(method, tmp_path):
    cfg = C.resolve(
        method,
        "paper",
        environment="map",
        bindings=TINY + ["fastmeta.num_envs=1", "fastmeta.gif_trials=2"],
    )
    assert cfg["fastmeta"]["quirks"]["original_padding"] and cfg["agent"]["update_freq"] == 8
    tr = BaselineTrainer(cfg, tmp_path, progress=False)
    out = tr.run(max_env_steps=150)
    assert out["gradient_steps"] > 0
    assert len(list((tmp_path / "gifs").glob("*.gif"))) >= 2


def _params(tr):
    return torch.cat([p.detach().flatten() for p in tr.learner.agent.online.parameters()])


def test_checkpoint_resume_is_exact(tmp_path):
    cfg = C.resolve("import", "fast", environment="map", bindings=TINY)
    full = BaselineTrainer(cfg, tmp_path / "full", progress=False)
    full.run(max_env_steps=300)
    full.run(max_env_steps=600)

    first = BaselineTrainer(cfg, tmp_path / "split", progress=False)
    first.run(max_env_steps=300)
    resumed = BaselineTrainer(cfg, tmp_path / "split", progress=False)
    resumed.load()
    resumed.run(max_env_steps=600)

    assert torch.equal(_params(full), _params(resumed))
    assert list(full.windows["returns"]) == list(resumed.windows["returns"])

    def drop(c):
        return {k: v for k, v in c.items() if k != "elapsed_s"}

    assert drop(full.counters) == drop(resumed.counters) and full.counters["env_steps"] == 600
    assert full.learner.trials_started == resumed.learner.trials_started
    np.testing.assert_array_equal(full.env.obs, resumed.env.obs)
    assert not list((tmp_path / "split").glob("*.tmp"))


def test_cli_rejects_bad_key_and_existing_dir(tmp_path, capsys):
    assert (
        main_import(["--env", "map", "-b", "agent.policy.embedder.typo=1", "--out", str(tmp_path)])
        == 2
    )
    assert "agent.policy.embedder.typo" in capsys.readouterr().err
    (tmp_path / "x").mkdir()
    assert main_rl2(["x", "--env", "map", "--out", str(tmp_path)]) == 2
    assert (
        fastmeta.cli.main(
            ["train", "varibad", "--env", "map", "-b", "agent.lr=1", "--out", str(tmp_path)]
        )
        == 2
    )


def test_comparison_writes_plot_table_and_commands(tmp_path):
    args = [
        "--env",
        "map",
        "--budget",
        "200",
        "--seeds",
        "0",
        "1",
        "--methods",
        "rl2",
        "import",
        "--out",
        str(tmp_path / "res"),
        "--runs",
        str(tmp_path / "runs"),
        "--no-progress",
    ]
    args += [f"--baseline-binding={b}" for b in TINY]
    assert compare.main(args) == 0
    out = tmp_path / "res" / "map"
    assert (out / "comparison.png").stat().st_size > 0
    table = (out / "comparison.md").read_text()
    assert "| E-RL² | 2 |" in table and "| IMPORT | 2 |" in table
    rows = (out / "comparison.csv").read_text().splitlines()
    assert rows[0] == "method,seed,env_steps,elapsed_s,test_return" and len(rows) > 4
    assert "--budget 200" in (out / "commands.md").read_text()
    # a second call reads the finished runs instead of training again
    before = (tmp_path / "runs" / "map" / "rl2-s0" / "evaluations.csv").read_text()
    assert compare.main(args + ["--reuse"]) == 0
    assert (tmp_path / "runs" / "map" / "rl2-s0" / "evaluations.csv").read_text() == before
    # a larger budget continues the runs from their checkpoints
    longer = [a if a != "200" else "300" for a in args] + ["--reuse"]
    assert compare.main(longer) == 0
    curve = compare.read_evaluations(tmp_path / "runs" / "map" / "rl2-s0")
    assert curve["env_steps"][-1] == 300 and curve["env_steps"][0] == 0
    assert (tmp_path / "runs" / "map" / "rl2-s0" / "evaluations.csv").read_text().startswith(before)
    # --no-train reports runs as far as they got, whatever the budget
    assert compare.main([a if a != "300" else "900" for a in longer] + ["--no-train"]) == 0
    assert "| 300 |" in (tmp_path / "res" / "map" / "comparison.md").read_text()
    # a run that went past the budget is compared at the budget
    assert compare.main(args + ["--no-train"]) == 0
    table = (tmp_path / "res" / "map" / "comparison.md").read_text()
    assert "| 200 |" in table and "| 300 |" not in table
