"""DREAM learner kernels against their simple baselines, measured in the same run:
fused LSTM unroll vs a per-step LSTMCell loop; tensor episode replay vs a Python-list replay;
vectorized acting (one call for N slots) vs N batch-1 act calls; one learner update.

`fastmeta bench -k dream` or `pytest fastmeta/bench/bench_dream_learner.py --benchmark-enable
-o python_files=bench_*.py`."""

import random

import numpy as np
import pytest

from fastmeta.bench.conftest import NO_TORCH

torch = pytest.importorskip("torch", reason=NO_TORCH)
from torch import nn  # noqa: E402

import fastmeta  # noqa: E402
from fastmeta.agents.common.device import to_device as _t  # noqa: E402
from fastmeta.agents.common.env_sizes import net_sizes  # noqa: E402
from fastmeta.agents.common.recurrent import UnrolledLSTM  # noqa: E402
from fastmeta.agents.common.sequence_replay import SequenceReplay  # noqa: E402
from fastmeta.agents.dream import config as C  # noqa: E402
from fastmeta.agents.dream.learner import DreamLearner  # noqa: E402

torch.set_num_threads(1)
B, T = 32, 21


# -- recurrent unroll: forward + backward over [32, 21] sequences --------------------------
@pytest.mark.parametrize("hidden", [64, 128])
def test_lstm_fused_unroll(benchmark, hidden):
    torch.manual_seed(0)
    lstm = UnrolledLSTM(64, hidden)
    x = torch.randn(B, T, 64, requires_grad=True)

    def run():
        out, _ = lstm(x)
        out.sum().backward()

    benchmark.extra_info.update(impl="nn.LSTM fused", hidden=hidden)
    benchmark(run)


@pytest.mark.parametrize("hidden", [64, 128])
def test_lstm_cell_loop_baseline(benchmark, hidden):
    """The original's form: LSTMCell stepped in a Python loop."""
    torch.manual_seed(0)
    cell = nn.LSTMCell(64, hidden)
    x = torch.randn(B, T, 64, requires_grad=True)

    def run():
        h = c = torch.zeros(B, hidden)
        hs = []
        for t in range(T):
            h, c = cell(x[:, t], (h, c))
            hs.append(h)
        torch.stack(hs, 1).sum().backward()

    benchmark.extra_info.update(impl="LSTMCell loop", hidden=hidden)
    benchmark(run)


# -- replay: sample 32 episodes and build padded tensors -----------------------------------
def _episodes(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    return [
        (rng.integers(0, 9, size=(L + 1, 3)), rng.integers(0, 9, size=L), rng.normal(size=L))
        for L in rng.integers(1, 21, size=n)
    ]


def test_replay_tensor_sample(benchmark):
    eps = _episodes()
    rp = SequenceReplay(
        4000,
        20,
        1,
        {"obs": ((3,), torch.uint8), "actions": ((), torch.uint8), "rewards": ((), torch.float32)},
        {},
        "cpu",
    )
    for obs, act, rew in eps:
        L = len(act)
        s = torch.tensor([0])
        rp.stage_steps["obs"][0, : L + 1] = torch.from_numpy(obs)
        rp.stage_steps["actions"][0, :L] = torch.from_numpy(act)
        rp.stage_steps["rewards"][0, :L] = torch.from_numpy(rew)
        rp.commit(s, torch.tensor([L]))
    g = torch.Generator().manual_seed(0)
    benchmark.extra_info.update(impl="SequenceReplay")
    benchmark(lambda: rp.sample(B, g))


def test_replay_python_list_baseline(benchmark):
    """The original's form: a list of episodes of per-step tuples, padded with the last step."""
    eps = _episodes()
    buffer = [
        [(obs[t], act[t], rew[t], obs[t + 1]) for t in range(len(act))] for obs, act, rew in eps
    ]
    rnd = random.Random(0)

    def sample():
        batch = [buffer[rnd.randrange(len(buffer))] for _ in range(B)]
        L = max(len(e) for e in batch)
        padded = [e + [e[-1]] * (L - len(e)) for e in batch]
        obs = torch.stack([torch.stack([torch.as_tensor(x[0]) for x in e]) for e in padded])
        nxt = torch.stack([torch.as_tensor(e[-1][3]) for e in padded])
        act = torch.tensor([[x[1] for x in e] for e in padded])
        rew = torch.tensor([[x[2] for x in e] for e in padded])
        mask = torch.tensor([[t < len(e) for t in range(L)] for e in batch])
        return obs, nxt, act, rew, mask

    benchmark.extra_info.update(impl="python list")
    benchmark(sample)


# -- acting: 32 slots, one vector step ----------------------------------------------------
def _learner(n):
    cfg = C.resolve("fast", environment="distraction")
    env = fastmeta.make("distraction", num_envs=n, seed=0, episodes_per_trial=2)
    env.reset()
    torch.manual_seed(0)
    return env, DreamLearner(cfg, net_sizes(env), n)


def _vector_step(env, lr):
    ep = env.episode_index.copy()
    a = lr.act(
        lr.slots,
        _t(env.obs, "cpu"),
        _t(ep, "cpu"),
        _t(env.instructions, "cpu"),
        _t(env.task_ids, "cpu"),
    )
    _, rew, term, trunc, _ = env.step(a.numpy())
    lr.observe(
        lr.slots,
        _t(ep, "cpu"),
        _t(rew, "cpu", torch.float64),
        _t(term | trunc, "cpu"),
        _t(env.final_obs, "cpu"),
    )


def test_act_vectorized_32(benchmark):
    env, lr = _learner(32)
    benchmark.extra_info.update(impl="one call for 32 slots", env_steps=32)
    benchmark(lambda: _vector_step(env, lr))


def test_act_batch1_x32_baseline(benchmark):
    """32 separate single-slot learners/envs stepped one after another (the original's shape)."""
    pairs = [_learner(1) for _ in range(32)]
    benchmark.extra_info.update(impl="32 x batch-1 calls", env_steps=32)
    benchmark(lambda: [_vector_step(env, lr) for env, lr in pairs])


# -- one gradient step of each agent (batch 32) -------------------------------------------
@pytest.mark.parametrize("agent", ["exploit", "explore"])
def test_update(benchmark, agent):
    env, lr = _learner(32)
    for _ in range(200):
        _vector_step(env, lr)
    fn = lr.exploit_update if agent == "exploit" else lr.explore_update
    lr.exploit.batch_size = lr.explore.batch_size = B
    benchmark.extra_info.update(impl=f"{agent} update, batch {B}")
    benchmark(fn)
