"""First-Explore training: config resolution, tokens of recorded lifetimes, exact resume, and a
tiny smoke run per env (and for the always-exploit control)."""

import csv
import json

import numpy as np
import pytest
import torch

import fastmeta
from fastmeta.agents.common.config import ConfigError
from fastmeta.agents.first_explore import train as T
from fastmeta.agents.first_explore.config import args_from_config
from fastmeta.agents.first_explore.evaluate import evaluate
from fastmeta.agents.first_explore.model import FirstExploreModel, bandit_config, treasure_config
from fastmeta.agents.first_explore.rollout import BanditRollout, EpisodicRollout

TINY = {
    "bandit": ["batch_size=4", "pulls=9", "eval_lifetime=12", "eval_k=3"],
    "treasure": ["batch_size=4", "num_eps=2", "roll_refresh=2", "eval_lifetime=3", "eval_k=1"],
    "maze": ["batch_size=3", "num_eps=1", "roll_refresh=2", "eval_lifetime=2", "eval_k=1"],
}
COMMON = ["eval_lifetimes=3", "log_every=1", "eval_every=2", "tensorboard=false"]


def tiny_args(env, control="none", n=4, extra=()):
    return T.resolve_args(env, "fast", TINY[env] + COMMON + [f"total_updates={n}", *extra], control)


def flat(*a, **kw):
    """The flat Args view of `T.resolve_args(*a, **kw)`."""
    return args_from_config(T.resolve_args(*a, **kw))


def learner_state(run_dir):
    """The (single-rank) learner state of a run's checkpoint, and the whole checkpoint."""
    ckpt = torch.load(run_dir / "checkpoint.pt", weights_only=False)
    assert ckpt["world_size"] == 1 and len(ckpt["ranks"]) == 1
    return ckpt["ranks"][0]["learner"], ckpt


def scalar_rows(run_dir):
    """scalars.csv (long format: the unit column holds the update) as dicts."""
    with open(run_dir / "scalars.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_unknown_config_key_is_named():
    with pytest.raises(ConfigError, match="'learning_rate'"):
        T.resolve_args("bandit", "paper", ["learning_rate=1"])
    with pytest.raises(ConfigError, match="'first_explore.batch_size' must be a number"):
        T.resolve_args("bandit", "paper", ["batch_size=lots"])
    with pytest.raises(ConfigError, match="'fastmeta.max_minutes' must be a number or null"):
        T.resolve_args("bandit", "paper", ["max_minutes=soon"])
    with pytest.raises(ConfigError, match="unknown preset"):
        T.resolve_args("bandit", "quick")
    with pytest.raises(ConfigError, match="unknown control"):
        T.resolve_args("bandit", "paper", control="sometimes")
    assert T.main(["--env", "bandit", "-b", "nope=1", "--no-progress"]) == 2


def test_model_size_keys_resize_the_trunk_and_reject_bad_values():
    args = T.resolve_args("bandit", "paper", ["n_layer=2", "d_model=64", "d_mlp=256"])
    cfg = T.model_config(args)
    assert (cfg.n_layer, cfg.d_model, cfg.n_head, cfg.d_mlp) == (2, 64, 4, 256)
    assert T.model_config(T.resolve_args("bandit", "paper")) == bandit_config()
    with pytest.raises(ValueError, match="not divisible by n_head 3"):
        T.resolve_args("bandit", "paper", ["d_model=64", "n_head=3"])
    with pytest.raises(ValueError, match="'first_explore.n_layer' must be >= 0"):
        T.resolve_args("treasure", "paper", ["n_layer=-1"])


def test_presets_hold_the_paper_hyperparameters():
    b = flat("bandit", "paper")
    assert (b.batch_size, b.total_updates, b.lr, b.pulls, b.eps, b.minval) == (
        128,
        200_000,
        1e-4,
        99,
        0.05,
        0.5,
    )
    t = flat("treasure", "paper")
    assert (t.num_eps, t.ep_len, t.minval, t.roll_refresh, t.total_updates) == (
        9,
        9,
        -4.0,
        10_000,
        1_000_000,
    )
    m = flat("maze", "paper")
    assert (m.num_eps, m.ep_len, m.roll_refresh) == (3, 20, 5_000)
    # the system keys live in the shared `fastmeta` section; bare bindings reach either section
    fm = T.resolve_args("treasure", "fast", ["max_minutes=5", "torch_threads=2"])["fastmeta"]
    assert (fm["max_minutes"], fm["torch_threads"], fm["eval_every"]) == (5, 2, 250)
    assert T.resolve_args("bandit", "fast")["fastmeta"]["max_minutes"] == 60.0


def test_bandit_tokens_are_the_recorded_pulls():
    torch.manual_seed(0)
    m = FirstExploreModel(bandit_config())
    env = fastmeta.make("FixedArmBandit", num_envs=3, seed=0)
    xenv = fastmeta.make("FixedArmBandit", num_envs=3, seed=0)
    batch = BanditRollout(m, env, xenv, pulls=6).collect(5, torch.Generator().manual_seed(0))
    assert batch.act[:, 0].tolist() == [-1] * 3 and batch.rew[:, 0].tolist() == [0.0] * 3
    # replaying the recorded pulls on a fresh env with the same seed gives the token rewards
    ref = fastmeta.make("FixedArmBandit", num_envs=3, seed=0)
    ref.reset(seed=5)
    for t in range(6):
        r = ref.step(batch.act[:, t + 1].numpy())[1]
        np.testing.assert_array_equal(batch.rew[:, t + 1].numpy(), r)
    # the exploit env holds the same tasks: arm 0 pays minval exactly in both
    means = ref.tasks.means
    arm0 = batch.exploit_act == 0
    assert torch.all(batch.exploit_rew[arm0] == 0.5)
    assert batch.exploit_rew.shape == (3, 7) and np.all(means[:, 0] == 0.5)


def test_treasure_tokens_carry_the_running_return_and_reset_each_episode():
    torch.manual_seed(0)
    m = FirstExploreModel(treasure_config())
    env = fastmeta.make("DarkTreasureRoom", num_envs=4, seed=0, episodes_per_trial=5)
    # 5 > the 4 episodes collected, so env.tasks still holds the trial's task afterwards
    ro = EpisodicRollout(m, env, num_eps=2, ep_len=9, control=False, running_return_tokens=True)
    batch = ro.collect(3, torch.Generator().manual_seed(0), tau=0.0)
    tasks = env.tasks
    ref = fastmeta.make("DarkTreasureRoom", num_envs=4, seed=0, episodes_per_trial=4)
    ref.reset(seed=9, tasks=tasks)
    # explore episode 1 tokens sit at sequence 10..19: replay its actions from the start state
    seq = slice(10, 20)
    assert batch.act[:, 10].tolist() == [-1] * 4 and batch.rew[:, 10].tolist() == [0.0] * 4
    np.testing.assert_array_equal(batch.obs[:, 10].numpy(), np.full((4, 2), 4.0))
    running = np.zeros(4)
    for t in range(9):
        a = batch.ctx_act[:, 1, t].numpy()
        assert np.array_equal(batch.act[:, seq][:, t + 1].numpy(), a)
        _, r, term, trunc, _ = ref.step(a)
        running += r
        obs = ref.final_obs if t == 8 else ref.obs
        np.testing.assert_array_equal(batch.obs[:, 11 + t].numpy(), obs)
        np.testing.assert_allclose(batch.rew[:, 11 + t].numpy(), running, rtol=1e-6)
    np.testing.assert_allclose(batch.ctx_ret[:, 1].numpy(), running, rtol=1e-6)
    assert torch.all(batch.ctx_prior == 0)  # tau = 0: uniform sampling, zero prior


@pytest.mark.parametrize(
    "env,control",
    [
        ("bandit", "none"),
        ("bandit", "always-exploit"),
        ("treasure", "none"),
        ("treasure", "always-exploit"),
        ("maze", "none"),
    ],
)
def test_smoke_training_run(tmp_path, env, control):
    config = tiny_args(env, control, n=4)
    run = tmp_path / "run"
    summary = T.train(config, run, progress=False)
    assert summary["updates"] == 4 and summary["gradient_steps"] == 4
    assert np.isfinite(summary["final_eval_return"])
    assert summary["final_eval_return"] == summary["test_return"]
    assert summary["stopped"] == "budget" and summary["exp_dir"] == str(run)
    cfg = json.loads((run / "config.json").read_text())
    assert cfg == config
    assert cfg["environment"] == env and cfg["first_explore"]["control"] == control
    rows = scalar_rows(run)
    # log_every=1: each update's scalars, against the update (unit column) and env steps
    logged = [r for r in rows if r["tag"] == "env_steps_per_s"]
    assert [int(r["meta_episode"]) for r in logged] == [1, 2, 3, 4]
    steps = T.Learner(config).env_steps_per_update
    assert [int(r["env_steps"]) for r in logged] == [steps * u for u in (1, 2, 3, 4)]
    assert {"loss", "lr", "updates_per_s", "eval_return"} <= {r["tag"] for r in rows}
    with open(run / "evaluations.csv", newline="") as f:
        evals = list(csv.DictReader(f))
    # eval_every=2: before the first update, at update 2, and the final one at update 4
    assert [int(r["update"]) for r in evals] == [0, 2, 4]
    assert list(evals[0]) == ["wall_time", *T.Trainer.EVAL_COLUMNS]
    assert float(evals[-1]["eval_return"]) == pytest.approx(summary["final_eval_return"], abs=1e-4)
    state, ckpt = learner_state(run)
    assert state["update"] == 4 and ckpt["counters"]["updates"] == 4


@pytest.mark.parametrize("env", ["bandit", "treasure"])
def test_resume_is_exact(tmp_path, env):
    straight = T.Learner(tiny_args(env, n=4))
    for _ in range(4):
        straight.update()
    run = tmp_path / "r"
    # a time budget of ~0 stops the run after the first update or two
    summary = T.train(tiny_args(env, n=4, extra=["max_minutes=1e-9"]), run, progress=False)
    first, _ = learner_state(run)
    assert summary["stopped"] == "time" and 0 < first["update"] < 4
    assert summary["updates"] == first["update"]
    summary = T.train(tiny_args(env, n=4), run, resume=True, progress=False)
    resumed, ckpt = learner_state(run)
    assert resumed["update"] == 4 and summary["updates"] == 4
    assert summary["updates_this_run"] == 4 - first["update"]
    assert ckpt["counters"]["env_steps"] == 4 * straight.env_steps_per_update
    for k, v in straight.model.state_dict().items():
        torch.testing.assert_close(resumed["model"][k], v, rtol=0, atol=0)
    for k, v in straight.opt.state_dict()["state"].items():
        for name, t in v.items():
            torch.testing.assert_close(resumed["opt"]["state"][k][name], t, rtol=0, atol=0)
    if env == "treasure":
        assert resumed["tau"] == straight.tau == 1.0
        for k, v in straight.roll_model.state_dict().items():
            torch.testing.assert_close(resumed["roll_model"][k], v, rtol=0, atol=0)
    # the resumed run appends to the first run's logs: each update logged once
    logged = [int(r["meta_episode"]) for r in scalar_rows(run) if r["tag"] == "loss"]
    assert logged == [1, 2, 3, 4]


def test_cli_main_writes_the_experiment_layout(tmp_path):
    argv = ["--env", "bandit", "--preset", "fast", "--out", str(tmp_path), "--no-progress"]
    argv += sum((["-b", b] for b in TINY["bandit"] + COMMON + ["total_updates=2"]), [])
    assert T.main(argv) == 0
    run = tmp_path / "first-explore-bandit-fast-s42"
    assert {"config.json", "scalars.csv", "evaluations.csv", "checkpoint.pt"} <= {
        p.name for p in run.iterdir()
    }
    assert T.main(argv) == 2  # exists: needs --resume or --force


def test_evaluation_sweeps_k_on_shared_tasks():
    args = flat("bandit", "fast", TINY["bandit"] + COMMON)
    m = FirstExploreModel(bandit_config())
    res = evaluate(m, args, [0, 3, 12], num=5, seed=1)
    assert res["per_step"].shape == (3, 5, 12)
    refs = res["references"]
    assert refs["always_arm_0"] == pytest.approx(0.5 * 12)
    assert refs["oracle"] >= refs["always_arm_0"] and refs["oracle"] >= refs["uniform_random"]


def test_evaluate_command_sweeps_k_and_plots(tmp_path):
    from fastmeta.agents.first_explore import evaluate as E

    T.train(tiny_args("bandit", n=2), tmp_path / "fe", progress=False)
    T.train(tiny_args("bandit", "always-exploit", n=2), tmp_path / "ctl", progress=False)
    assert (
        E.main(
            [
                str(tmp_path / "fe"),
                "--control",
                str(tmp_path / "ctl"),
                "--k",
                "0,2,5",
                "--lifetimes",
                "4",
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    summary = json.loads((tmp_path / "out" / "eval_fe.json").read_text())
    assert summary[0]["k"] == [0, 2, 5] and summary[1]["k"] == [0]  # the control only exploits
    assert summary[0]["best_return"] == max(summary[0]["mean_return"])
    assert len(summary[0]["best_curve"]) == 12
    assert (tmp_path / "out" / "eval_fe.png").exists() and (
        tmp_path / "out" / "training_fe.png"
    ).exists()


def test_holdout_scores_the_chosen_k_on_fresh_paired_tasks(tmp_path, capsys):
    from fastmeta.agents.first_explore import evaluate as E

    T.train(tiny_args("bandit", n=2), tmp_path / "fe", progress=False)
    # the run against itself at k = 0: paired tasks and rollouts give a difference of exactly zero
    assert (
        E.main(
            [
                str(tmp_path / "fe"),
                "--control",
                str(tmp_path / "fe"),
                "--k",
                "0",
                "--lifetimes",
                "4",
                "--holdout",
                "6",
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    summary = json.loads((tmp_path / "out" / "eval_fe.json").read_text())
    h = summary[0]["holdout"]
    assert h["lifetimes"] == 6 and h["seed"] == 54321 and h["k"] == summary[0]["best_k"]
    fresh, refs = E.holdout(tmp_path / "fe", 0, 6, 54321)
    assert h["control_mean_return"] == pytest.approx(fresh.mean()) and h["references"] == refs
    assert refs["always_arm_0"] == pytest.approx(0.5 * 12)
    assert h["paired_difference"] == 0.0 and h["paired_stderr"] == 0.0
    assert "held-out (6 tasks, seed 54321)" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # held-out tasks drawn from the sweep's seed are not fresh
        E.main(
            [str(tmp_path / "fe"), "--lifetimes", "4", "--holdout", "6", "--holdout-seed", "12345"]
        )
