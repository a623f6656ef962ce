"""The toolkit every learner shares (fastmeta.agents.common): checkpoints that survive a damaged
file, one set of system flags for every learner's command line, and config validation."""

import pytest
import torch

from fastmeta.agents.baselines import config as baselines_config
from fastmeta.agents.baselines import train as baselines_train
from fastmeta.agents.common.checkpoint import CheckpointError, load_checkpoint
from fastmeta.agents.common.cli import system_overrides
from fastmeta.agents.common.config import ConfigError, parse_binding
from fastmeta.agents.dream import config as dream_config
from fastmeta.agents.dream.train import build_parser as dream_parser
from fastmeta.agents.first_explore import train as fe_train

# a tiny First-Explore bandit run (as tests/test_first_explore_train.py's): 76 env steps/update
FE_TINY = [
    "batch_size=4",
    "pulls=9",
    "eval_lifetime=12",
    "eval_k=3",
    "eval_lifetimes=3",
    "log_every=1",
    "eval_every=2",
    "tensorboard=false",
    "total_updates=4",
    "checkpoint_every=1",
]


def fe_argv(out, *extra):
    argv = ["run", "--env", "bandit", "--preset", "fast", "--out", str(out), "--no-progress"]
    return argv + sum((["-b", b] for b in FE_TINY), []) + list(extra)


def truncate_to_half(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_a_damaged_checkpoint_falls_back_to_the_previous_one(tmp_path, capsys):
    run = tmp_path / "run"
    steps = fe_train.Learner(fe_train.resolve_args("bandit", "fast", FE_TINY)).env_steps_per_update
    # 3 of the 4 scheduled updates, a checkpoint after each
    assert fe_train.main(fe_argv(tmp_path, "--max-env-steps", str(3 * steps))) == 0
    newest, previous = run / "checkpoint.pt", run / "checkpoint.prev.pt"
    assert newest.exists() and previous.exists()
    assert torch.load(previous, weights_only=False)["ranks"][0]["learner"]["update"] == 3
    truncate_to_half(newest)
    capsys.readouterr()

    assert fe_train.main(fe_argv(tmp_path, "--resume")) == 0
    err = capsys.readouterr().err
    assert f"{newest} is damaged" in err
    assert f"resuming from the previous checkpoint {previous}" in err
    # the run went on from update 3 to 4, exactly as one that never stopped
    straight = fe_train.Learner(fe_train.resolve_args("bandit", "fast", FE_TINY))
    for _ in range(4):
        straight.update()
    state = load_checkpoint(newest)["ranks"][0]["learner"]
    assert state["update"] == 4
    for k, v in straight.model.state_dict().items():
        torch.testing.assert_close(state["model"][k], v, rtol=0, atol=0)

    truncate_to_half(newest)
    truncate_to_half(previous)
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(newest)
    assert str(newest) in str(e.value) and str(previous) in str(e.value)
    # the command line reports it as an error, not a traceback
    capsys.readouterr()
    assert fe_train.main(fe_argv(tmp_path, "--resume")) == 2
    assert "no intact checkpoint" in capsys.readouterr().err


PARSERS = {
    "dream": dream_parser,
    "rl2": lambda: baselines_train.build_parser("rl2"),
    "first-explore": fe_train.build_parser,
}
SYSTEM_ARGV = [
    "--device",
    "cpu",
    "--threads",
    "3",
    "--precision",
    "bf16",
    "--max-env-steps",
    "1000",
    "--max-minutes",
    "2.5",
    "--nproc",
    "2",
    "--seed",
    "7",
    "--out",
    "somewhere",
    "--resume",
    "--force",
    "--no-progress",
]


@pytest.mark.parametrize("learner", sorted(PARSERS))
def test_every_learner_takes_the_same_system_flags(learner):
    args = PARSERS[learner]().parse_args(SYSTEM_ARGV)
    assert system_overrides(args) == {
        "fastmeta": {
            "seed": 7,
            "device": "cpu",
            "torch_threads": 3,
            "precision": "bf16",
            "max_env_steps": 1000,
            "max_minutes": 2.5,
        }
    }
    assert (args.nproc, args.out, args.resume, args.force, args.no_progress) == (
        2,
        "somewhere",
        True,
        True,
        True,
    )
    # -s is --seed; no flag set, nothing overridden
    assert system_overrides(PARSERS[learner]().parse_args(["-s", "9"])) == {"fastmeta": {"seed": 9}}
    assert system_overrides(PARSERS[learner]().parse_args([])) == {}


@pytest.mark.parametrize("learner", sorted(PARSERS))
def test_an_unknown_precision_flag_is_a_usage_error(learner, capsys):
    with pytest.raises(SystemExit) as e:
        PARSERS[learner]().parse_args(["--precision", "fp16"])
    assert e.value.code == 2
    assert "fp16" in capsys.readouterr().err


@pytest.mark.parametrize(
    "resolve",
    [
        lambda b: dream_config.resolve("default", bindings=[b]),
        lambda b: fe_train.resolve_args("bandit", "paper", [b]),
        lambda b: baselines_config.resolve("rl2", bindings=[b]),
    ],
    ids=["dream", "first-explore", "rl2"],
)
def test_an_unknown_precision_binding_names_the_key(resolve):
    with pytest.raises(ConfigError, match="'fastmeta.precision' = 'fp16' is not supported"):
        resolve("fastmeta.precision=fp16")
    assert resolve("fastmeta.precision=bf16")["fastmeta"]["precision"] == "bf16"


def test_binding_values_take_json_spellings():
    assert parse_binding("a.b=true") == {"a": {"b": True}}
    assert parse_binding("a.b=false") == {"a": {"b": False}}
    assert parse_binding("a=null") == {"a": None}
    assert parse_binding("a.b=True") == {"a": {"b": True}}
    assert parse_binding("a=2.5") == {"a": 2.5}
    assert parse_binding("environment=map") == {"environment": "map"}
    with pytest.raises(ConfigError, match="must look like key.sub=value"):
        parse_binding("a.b")


@pytest.mark.parametrize(
    "learner, argv",
    [
        ("dream", ["--env", "map", "--preset", "fast"]),
        ("first-explore", ["--env", "bandit", "--preset", "fast", "-b", "batch_size=5"]),
    ],
)
def test_nproc_refuses_a_batch_the_ranks_cannot_share_before_starting_them(
    learner, argv, tmp_path, capsys
):
    from fastmeta.cli import main as fastmeta_main

    code = fastmeta_main(["train", learner, *argv, "--nproc", "3", "--out", str(tmp_path)])
    assert code == 2
    assert "not divisible by --nproc 3" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # nothing started, nothing written
