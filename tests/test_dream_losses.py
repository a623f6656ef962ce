"""Loss pieces on hand-computed cases: relabeled exploration reward, L_tc / L_id, double DQN."""

import torch

from fastmeta.agents.common.dqn import EpsilonSchedule, due_count, td_loss
from fastmeta.agents.dream.trajectory_embedder import TrajectoryEmbedder, rewards_from_distances


def test_relabeled_reward_on_hand_made_trajectory():
    # g_0..g_3 of a length-3 trajectory (plus one padded step) and f(e) = (1, 0)
    g = torch.tensor([[[0.0, 0.0], [0.5, 0.0], [1.0, 1.0], [1.0, 0.0], [9.0, 9.0]]])
    f = torch.tensor([[1.0, 0.0]])
    # d_t = ||g_t - f||^2 = 1, 0.25, 1, 0 ; r_t = d_t - d_{t+1} - 0.1
    r = rewards_from_distances(g, f, torch.tensor([3]), penalty=0.1)
    torch.testing.assert_close(r, torch.tensor([[0.75 - 0.1, -0.75 - 0.1, 1.0 - 0.1, 0.0]]))
    # telescoping: the sum is d_0 - d_T - c T
    assert abs(float(r.sum()) - (1.0 - 0.0 - 0.3)) < 1e-6


def test_relabeled_rewards_use_current_parameters_without_noise():
    torch.manual_seed(0)
    emb = TrajectoryEmbedder("grid", (9, 9, 4), 9, (24,), penalty=0.1)
    obs = torch.randint(0, 4, (2, 5, 3))
    act = torch.randint(0, 9, (2, 5))
    lengths = torch.tensor([4, 2])
    ids = torch.tensor([3, 17])
    r1 = emb.relabeled_rewards(obs, act, lengths, ids)
    r2 = emb.relabeled_rewards(obs, act, lengths, ids)
    torch.testing.assert_close(r1, r2)  # deterministic: no id noise
    g = emb.all_steps(obs, act)
    d = (g - emb.id_embedding(ids)[:, None]).pow(2).sum(-1)
    expect = d[:, :-1] - d[:, 1:] - 0.1
    torch.testing.assert_close(r1[0], expect[0], atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(r1[1, :2], expect[1, :2], atol=1e-6, rtol=1e-6)
    assert r1[1, 2:].abs().sum() == 0
    with torch.no_grad():  # a parameter change changes rewards
        emb.head[2].bias.add_(1.0)
    assert not torch.allclose(emb.relabeled_rewards(obs, act, lengths, ids), r1)


def test_context_losses_by_hand():
    emb = TrajectoryEmbedder("grid", (9, 9, 4), 9, (24,), embed_dim=2)
    g = torch.tensor(
        [[[1.0, 0.0], [0.0, 0.0], [5.0, 5.0]], [[0.0, 2.0], [0.0, 0.0], [0.0, 1.0]]],
        requires_grad=True,
    )
    f = torch.tensor([[0.0, 0.0], [3.0, 4.0]], requires_grad=True)
    l_tc, l_id = emb.context_losses(g, f, torch.tensor([1, 2]))
    # slot 0 uses t=0,1: 1 + 0 ; slot 1 uses t=0..2: 9+4, 9+16, 9+9 -> (1 + 13 + 25 + 18) / 5
    assert abs(float(l_tc.detach()) - 57 / 5) < 1e-5
    # max(||f||^2, 10): 10 and 25
    assert abs(float(l_id.detach()) - 17.5) < 1e-6
    (gf,) = torch.autograd.grad(l_tc, [f], allow_unused=True, retain_graph=True)
    assert gf is None or gf.abs().sum() == 0  # stop-gradient on f in L_tc
    (gf,) = torch.autograd.grad(l_id, [f])
    assert gf[0].abs().sum() == 0 and gf[1].abs().sum() > 0  # only norms above the cap


def test_double_dqn_td_loss_by_hand():
    q_online = torch.tensor([[[1.0, 2.0], [0.0, 5.0], [3.0, 1.0]]])  # s0, s1, s2
    q_target = torch.tensor([[[10.0, 20.0], [30.0, 40.0]]])  # s1, s2
    actions = torch.tensor([[1, 0]])
    rewards = torch.tensor([[0.5, -1.0]])
    dones = torch.tensor([[False, True]])
    mask = torch.tensor([[True, True]])
    # t=0: Q=2, a*=argmax online(s1)=1 -> target 20, y = 0.5 + 0.9*20 = 18.5 ; t=1: Q=0, y=-1
    loss = td_loss(q_online, q_target, actions, rewards, dones, mask, 0.9)
    assert abs(float(loss) - ((2 - 18.5) ** 2 + 1) / 2) < 1e-4
    loss_masked = td_loss(
        q_online, q_target, actions, rewards, dones, torch.tensor([[True, False]]), 0.9
    )
    assert abs(float(loss_masked) - (2 - 18.5) ** 2) < 1e-3


def test_epsilon_schedule_and_cadence():
    s = EpsilonSchedule(1.0, 0.01, 250000)
    assert s.value(0) == 1.0 - 0.99 / 250000  # decremented before the first act
    assert s.value(10**7) == 0.01
    assert due_count(0, 4, 4) == 1  # counter 0 is a multiple
    assert due_count(1, 4, 4) == 1 and due_count(1, 3, 4) == 0
    assert sum(due_count(k, 1, 4) for k in range(100)) == due_count(0, 100, 4) == 25
