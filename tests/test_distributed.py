"""Data-parallel training on torch.distributed (gloo, 2 processes on this machine).

* One update with the batch split over 2 ranks gives the parameters of one update on the whole
  batch in one process, from the same replay contents (DREAM's two agents, First-Explore).
* 2 ranks' env slots step exactly as the same global slots of one env, for the same actions.
* A 2-rank run whose rank 1 is killed resumes from its checkpoint and ends exactly where an
  uninterrupted 2-rank run ends; a different number of ranks is refused.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

import fastmeta
from fastmeta.agents.common.distributed import Dist
from fastmeta.agents.common.env_sizes import net_sizes
from fastmeta.agents.dream import config as dream_config
from fastmeta.agents.dream.learner import DreamLearner
from fastmeta.agents.first_explore import train as fe_train
from fastmeta.agents.first_explore.learner import Learner

WORLD = 2
BATCH = 8
pytestmark = pytest.mark.skipif(
    not torch.distributed.is_available(), reason="torch.distributed is not available"
)


def _join(rank: int, tmp: str) -> Dist:
    torch.set_num_threads(1)
    torch.distributed.init_process_group(
        "gloo", init_method=f"file://{tmp}/rendezvous", rank=rank, world_size=WORLD
    )
    return Dist(rank, WORLD, 0, "gloo")


def _spawn(fn, tmp_path, *args):
    mp.start_processes(fn, args=(str(tmp_path), *args), nprocs=WORLD, start_method="spawn")


# -- DREAM ------------------------------------------------------------------------------------
def _dream_learner(dist: Dist | None = None):
    """A DREAM learner (fast preset, map) whose replays hold 60 vector steps of acting: the
    same contents in every process (one thread, fixed seeds)."""
    torch.manual_seed(0)
    config = dream_config.resolve(
        "fast",
        environment="map",
        bindings=[
            "fastmeta.num_envs=8",
            "fastmeta.ids_in_updates='alternate'",
            f"instruction_agent.batch_size={BATCH}",
            f"exploration_agent.batch_size={BATCH}",
        ],
    )
    env = fastmeta.make("map", num_envs=8, seed=0, split="train", episodes_per_trial=2)
    lr = DreamLearner(config, net_sizes(env), 8, "cpu")
    env.reset(seed=0)
    for _ in range(60):
        lr.interact(lr.slots, env)
    # the ids' noise is drawn per sample from each rank's own generator: off, so that the
    # split and the whole batch see the same inputs
    for agent in (lr.exploit.online, lr.exploit.target):
        agent.trajectory.id_noise = 0.0
    if dist is not None:
        lr.dist = lr.explore.dist = lr.exploit.dist = dist
    return lr


def _fixed_batches(lr, share: slice):
    """Make each replay sample a fixed set of episodes (this rank's share of them)."""
    for replay in (lr.explore_replay, lr.exploit_replay):
        g = torch.Generator().manual_seed(7)
        idx = torch.randint(len(replay), (BATCH,), generator=g)[share]

        def sample(batch_size, generator=None, replay=replay, idx=idx):
            assert batch_size == len(idx)
            return replay.gather(idx)

        replay.sample = sample


def _dream_update(lr) -> dict:
    lr.explore_update()
    lr.exploit_update()
    lr.exploit_update()  # a second one: the id mask alternates
    return {
        f"{name}.{k}": v.detach().clone()
        for name, agent in (("explore", lr.explore), ("exploit", lr.exploit))
        for k, v in agent.online.state_dict().items()
    }


def _dream_rank(rank, tmp):
    dist = _join(rank, tmp)
    lr = _dream_learner(dist)
    k = BATCH // WORLD
    _fixed_batches(lr, slice(rank * k, (rank + 1) * k))
    params = _dream_update(lr)
    torch.save(params, f"{tmp}/dream-rank{rank}.pt")
    dist.close()


def test_dream_update_split_over_two_ranks_equals_the_whole_batch(tmp_path):
    torch.set_num_threads(1)
    whole = _dream_learner()
    _fixed_batches(whole, slice(None))
    before = {k: v.clone() for k, v in whole.explore.online.state_dict().items()}
    expected = _dream_update(whole)
    assert any(
        not torch.equal(before[k.split(".", 1)[1]], v)
        for k, v in expected.items()
        if k.startswith("explore.")
    )
    _spawn(_dream_rank, tmp_path)
    ranks = [torch.load(tmp_path / f"dream-rank{r}.pt") for r in range(WORLD)]
    for k, v in expected.items():
        torch.testing.assert_close(ranks[0][k], ranks[1][k], rtol=0, atol=0)  # identical ranks
        # Adam divides by |g|: where a gradient is ~1e-9 the summation order of the split shows
        # at 1e-6; that is under 1% of one step of the learning rate (1.5e-3)
        torch.testing.assert_close(
            ranks[0][k], v, rtol=1e-4, atol=1e-5, msg=lambda m, k=k: f"{k}: {m}"
        )


# -- First-Explore ----------------------------------------------------------------------------
def _fe_config():
    return fe_train.resolve_args(
        "bandit",
        "fast",
        [f"batch_size={BATCH}", "pulls=9", "eval_lifetime=12", "eval_k=3", "total_updates=10"],
    )


def _fe_batch(learner):
    learner.update_idx = 5  # past the warm-up, whose first step has a learning rate of 0
    return learner.collect()


def _slice_batch(batch, share: slice):
    return dataclasses.replace(
        batch,
        **{
            f.name: getattr(batch, f.name)[share]
            for f in dataclasses.fields(batch)
            if isinstance(getattr(batch, f.name), torch.Tensor)
        },
    )


def _fe_rank(rank, tmp):
    dist = _join(rank, tmp)
    learner = Learner(_fe_config())
    batch = _fe_batch(learner)
    learner.dist = dist
    k = BATCH // WORLD
    learner.apply(_slice_batch(batch, slice(rank * k, (rank + 1) * k)))
    torch.save(learner.model.state_dict(), f"{tmp}/fe-rank{rank}.pt")
    dist.close()


def test_first_explore_update_split_over_two_ranks_equals_the_whole_batch(tmp_path):
    torch.set_num_threads(1)
    whole = Learner(_fe_config())
    before = {k: v.clone() for k, v in whole.model.state_dict().items()}
    whole.apply(_fe_batch(whole))
    expected = whole.model.state_dict()
    assert any(not torch.equal(before[k], v) for k, v in expected.items())
    _spawn(_fe_rank, tmp_path)
    ranks = [torch.load(tmp_path / f"fe-rank{r}.pt") for r in range(WORLD)]
    for k, v in expected.items():
        torch.testing.assert_close(ranks[0][k], ranks[1][k], rtol=0, atol=0)
        # Adam divides by |g|: where a gradient is ~1e-9 the summation order of the split shows
        # at 1e-6; that is under 1% of one step of the learning rate (1.5e-3)
        torch.testing.assert_close(
            ranks[0][k], v, rtol=1e-4, atol=1e-5, msg=lambda m, k=k: f"{k}: {m}"
        )


# -- env slots --------------------------------------------------------------------------------
def _num_actions(env) -> int:
    return int(net_sizes(env).num_actions)


def _env_rank(rank, tmp, name):
    dist = _join(rank, tmp)
    first, n = dist.block(8)
    env = fastmeta.make(name, num_envs=n, seed=3, episodes_per_trial=2, first_slot=first)
    env.reset(seed=3)
    rng = np.random.default_rng(0)
    frames = []
    for _ in range(150):
        actions = rng.integers(_num_actions(env), size=8)
        env.step(actions[first : first + n])
        frames.append((env.obs.copy(), env.rew.copy(), env.terminated.copy(), env.task_ids.copy()))
    parts = dist.gather_object(frames)
    if dist.is_main:
        torch.save(parts, f"{tmp}/env-{name}.pt")
    dist.close()


@pytest.mark.parametrize("name", ["distraction", "cooking"])
def test_two_ranks_step_the_global_slots_of_one_env(tmp_path, name):
    _spawn(_env_rank, tmp_path, name)
    parts = torch.load(tmp_path / f"env-{name}.pt", weights_only=False)
    env = fastmeta.make(name, num_envs=8, seed=3, episodes_per_trial=2)
    env.reset(seed=3)
    rng = np.random.default_rng(0)
    for t in range(150):
        env.step(rng.integers(_num_actions(env), size=8))
        for j, whole in enumerate((env.obs, env.rew, env.terminated, env.task_ids)):
            np.testing.assert_array_equal(
                np.concatenate([parts[r][t][j] for r in range(WORLD)]), whole
            )


# -- kill a rank, resume ------------------------------------------------------------------------
FE_RUN = [
    "first-explore",
    "--env",
    "bandit",
    "--preset",
    "fast",
    "--no-progress",
    "--threads",
    "1",
    "-b",
    f"batch_size={BATCH}",
    "-b",
    "pulls=9",
    "-b",
    "eval_lifetime=12",
    "-b",
    "eval_k=3",
    "-b",
    "eval_lifetimes=4",
    "-b",
    "total_updates=60",
    "-b",
    "checkpoint_every=5",
    "-b",
    "eval_every=20",
    "-b",
    "tensorboard=false",
]


def _torchrun(out: Path, *extra, port_env=None) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        str(WORLD),
        "-m",
        "fastmeta",
        "train",
        *FE_RUN,
        "--out",
        str(out),
        *extra,
    ]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _rank_pids(parent: int) -> dict:
    """rank -> pid of the worker processes torchrun started under `parent`."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid != parent:
                continue
            env = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        for kv in env:
            if kv.startswith(b"RANK="):
                out[int(kv[5:])] = int(entry.name)
    return out


def _final(run: Path):
    ckpt = torch.load(run / "checkpoint.pt", weights_only=False)
    evals = (run / "evaluations.csv").read_text().splitlines()
    return ckpt, evals


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
def test_a_killed_rank_resumes_exactly_from_the_checkpoint(tmp_path):
    straight = _torchrun(tmp_path / "straight", "straight")
    out, _ = straight.communicate(timeout=600)
    assert straight.returncode == 0, out

    victim = _torchrun(tmp_path / "killed", "run")
    run = tmp_path / "killed" / "run"
    deadline = time.time() + 300
    while time.time() < deadline:
        if (run / "checkpoint.prev.pt").exists():  # two checkpoints: well into the run
            break
        time.sleep(0.05)
    pids = _rank_pids(victim.pid)
    assert 1 in pids, "rank 1 not found"
    os.kill(pids[1], signal.SIGKILL)
    out, _ = victim.communicate(timeout=300)
    assert victim.returncode != 0, out
    state = torch.load(run / "checkpoint.pt", weights_only=False)
    stopped_at = state["counters"]["updates"]
    assert 0 < stopped_at < 60

    # the same number of ranks is required
    one = subprocess.run(
        [
            sys.executable,
            "-m",
            "fastmeta",
            "train",
            *FE_RUN,
            "--out",
            str(tmp_path / "killed"),
            "run",
            "--resume",
        ],
        capture_output=True,
        text=True,
    )
    assert one.returncode == 2 and "2 rank(s)" in one.stderr

    resumed = _torchrun(tmp_path / "killed", "run", "--resume")
    out, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, out
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["updates"] == 60 and summary["ranks"] == 2

    a, evals_a = _final(tmp_path / "straight" / "straight")
    b, evals_b = _final(run)
    for r in range(WORLD):
        for k, v in a["ranks"][r]["learner"]["model"].items():
            torch.testing.assert_close(b["ranks"][r]["learner"]["model"][k], v, rtol=0, atol=0)
    # every evaluation, once, as the uninterrupted run made it: the resumed run cut the logs back
    # to the checkpoint (update, env steps, k, eval and train returns; not the clock columns)
    rows = lambda text: [row.split(",")[2:] for row in text[1:]]  # noqa: E731
    assert rows(evals_b) == rows(evals_a)
