"""DREAM networks: parameter counts of the original (spec §5.7), shapes, dueling head."""

import pytest
import torch

from fastmeta.agents.common.embedders import DuelingHead, GridStateEmb
from fastmeta.agents.dream import config as C
from fastmeta.agents.dream.learner import build_networks
from fastmeta.agents.dream.q_networks import count_parameters


class Spec:
    def __init__(self, obs_kind, obs_highs, instruction_highs, num_tasks, num_actions):
        self.obs_kind, self.obs_highs = obs_kind, obs_highs
        self.instruction_highs, self.num_tasks = instruction_highs, num_tasks
        self.num_actions = num_actions


SPECS = {
    "vanilla": Spec("grid", (9, 9, 4), (9, 9), 24, 9),
    "distraction": Spec("grid", (9, 9, 4), (9, 9), 576, 9),
    "map": Spec("grid", (9, 9, 4, 25), (9, 9), 24, 9),
    "cooking": Spec("grid", (3, 3, 4, 5, 5, 5, 5), (5, 5), 64, 9),
    "miniworld_sign": Spec("image", (), (2,), 3, 4),
}
# Online Q-network sizes of the original, exploitation / exploration (spec §5.7).
COUNTS = {
    "vanilla": (366_003, 81_843),
    "distraction": (383_667, 81_843),
    "map": (383_987, 90_835),
    "cooking": (433_075, 114_867),
    "miniworld_sign": (707_689, 256_857),
}


@pytest.mark.parametrize("env", sorted(COUNTS))
def test_paper_parameter_counts(env):
    cfg = C.resolve("paper", environment=env)
    exploit, explore = build_networks(cfg, SPECS[env])
    assert (count_parameters(exploit), count_parameters(explore)) == COUNTS[env]


def test_distraction_exploitation_breakdown():
    exploit, _ = build_networks(C.resolve("paper", environment="distraction"), SPECS["distraction"])
    assert count_parameters(exploit.trajectory) == 215_776
    assert count_parameters(exploit.instruction) == 33_664
    assert count_parameters(exploit.fc) == 33_024 and count_parameters(exploit.final) == 16_448


def test_fast_preset_drops_only_the_unused_layer():
    cfg = C.resolve("fast", environment="distraction")
    exploit, explore = build_networks(cfg, SPECS["distraction"])
    assert count_parameters(exploit) == 383_667 - 585
    assert count_parameters(explore) == 81_843 - 585


def test_step_and_unroll_shapes():
    torch.manual_seed(0)
    cfg = C.resolve("paper", environment="map")
    exploit, explore = build_networks(cfg, SPECS["map"])
    B, T = 5, 7
    obs = torch.randint(0, 4, (B, T, 4))
    q = exploit.unroll(obs, torch.randint(0, 9, (B, 2)), torch.randn(B, 64))
    assert q.shape == (B, T, 9)
    q1, (h, c) = exploit.step(
        obs[:, 0], torch.randint(0, 9, (B, 2)), torch.randn(B, 64), exploit.lstm.zeros(B)
    )
    assert q1.shape == (B, 9) and h.shape == (B, 64)
    q = explore.unroll(obs, torch.randint(0, 10, (B, T)))
    assert q.shape == (B, T, 9)


def test_unroll_matches_stepping():
    """Learning-time unroll of a Q-network equals its act-time steps (per-state dueling mean)."""
    torch.manual_seed(1)
    cfg = C.resolve("fast", environment="distraction")
    exploit, explore = build_networks(cfg, SPECS["distraction"])
    B, T = 3, 6
    obs = torch.stack(
        [torch.randint(0, 9, (B, T)), torch.randint(0, 9, (B, T)), torch.randint(0, 4, (B, T))], -1
    )
    prev = torch.randint(0, 10, (B, T))
    q_all = explore.unroll(obs, prev)
    state = explore.lstm.zeros(B)
    for t in range(T):
        q, state = explore.step(obs[:, t], prev[:, t], state)
        torch.testing.assert_close(q, q_all[:, t], atol=1e-5, rtol=1e-5)


def test_dueling_means():
    torch.manual_seed(0)
    head = DuelingHead(4, 3, whole_tensor_mean=True)
    x = torch.randn(2, 5, 4)
    a, v = head.advantage(x), head.value(x)
    torch.testing.assert_close(head(x), v + a - a.mean())
    torch.testing.assert_close(head(x, acting=True), v + a - a.mean(-1, keepdim=True))
    head.whole_tensor_mean = False
    torch.testing.assert_close(head(x), v + a - a.mean(-1, keepdim=True))


def test_grid_embedding_dedup_is_exact():
    torch.manual_seed(0)
    emb = GridStateEmb([9, 9, 4], 64)
    x = torch.stack(
        [
            torch.randint(0, 9, (40, 21)),
            torch.randint(0, 3, (40, 21)),
            torch.randint(0, 4, (40, 21)),
        ],
        -1,
    )
    out = emb(x)
    grads = torch.autograd.grad(out.square().sum(), list(emb.parameters()))
    emb.dedup = False
    ref = emb(x)
    ref_grads = torch.autograd.grad(ref.square().sum(), list(emb.parameters()))
    torch.testing.assert_close(out, ref)
    for g, r in zip(grads, ref_grads):
        torch.testing.assert_close(g, r, atol=1e-4, rtol=1e-4)
