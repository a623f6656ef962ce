"""First-Explore model: parameter counts, token embedding, and the KV-cached decode against the
full-sequence forward pass (values and gradients), including the explore/exploit branch tree."""

import numpy as np
import pytest
import torch

import fastmeta
from fastmeta.agents.first_explore.model import (
    FirstExploreModel,
    KVCache,
    ModelConfig,
    bandit_config,
    maze_config,
    treasure_config,
)
from fastmeta.agents.first_explore.rollout import BanditRollout, EpisodicLayout, EpisodicRollout


@pytest.mark.parametrize(
    "cfg, count",
    [(bandit_config(), 732_968), (treasure_config(), 1_058_186), (maze_config(), 1_060_998)],
)
def test_parameter_counts_match_the_original(cfg, count):
    assert FirstExploreModel(cfg).num_params() == count


def test_heads_and_shapes():
    m = FirstExploreModel(bandit_config())
    assert set(m.heads) == {"pred_exp", "pred_max", "pred_nonexp", "pred_nonmax"}
    assert set(FirstExploreModel(maze_config()).heads) == {"pred_exp", "pred_max"}
    act = torch.tensor([[-1, 3, 0]])
    h = m.forward_tokens(m.embed(act, torch.zeros(1, 3), torch.arange(3)))
    assert h.shape == (1, 3, 128)
    assert m.head("exp", h).shape == (1, 3, 10)


def test_embedding_is_the_spec_formula():
    torch.manual_seed(0)
    m = FirstExploreModel(treasure_config())
    act = torch.tensor([-1, 2])
    rew = torch.tensor([0.0, -1.5])
    obs = torch.tensor([[4.0, 4.0], [5.0, 4.0]])
    pos, ep = torch.tensor([0, 1]), torch.tensor([3, 3])
    onehot = torch.zeros(2, 5)
    onehot[1, 2] = 1.0  # token 0 carries the zero action vector
    pre = m.dense_r(rew[:, None]) + m.dense_a(onehot) + m.embed_ep(ep) + m.dense_s(obs)
    expect = torch.nn.functional.layer_norm(pre, (128,), eps=1e-6) + m.wpe(pos)
    torch.testing.assert_close(m.embed(act, rew, pos, ep, obs), expect)


def test_init_follows_the_original():
    torch.manual_seed(0)
    m = FirstExploreModel(treasure_config())
    w = m.blocks[0].c_fc.weight
    assert abs(w.std().item() - 0.02) < 1e-3 and m.blocks[0].c_fc.bias.abs().max() == 0
    assert abs(m.wpe.weight.std().item() - 0.02) < 1e-3
    assert m.dense_s.weight.abs().max() <= 2 / np.sqrt(2) / 0.8796 + 1e-6  # truncated at 2 std


def _decode_all(m, x):
    b, n, _ = x.shape
    cache = KVCache(m.cfg, b, n)
    return torch.stack([m.decode(x[:, t], cache, t) for t in range(n)], 1)


def test_kv_cache_decode_equals_full_forward():
    torch.manual_seed(1)
    m = FirstExploreModel(bandit_config())
    b, n = 5, 40
    act = torch.randint(-1, 10, (b, n))
    x = m.embed(act, torch.randn(b, n), torch.arange(n))
    with torch.no_grad():
        torch.testing.assert_close(_decode_all(m, x), m.forward_tokens(x), atol=2e-5, rtol=1e-4)


def test_gradient_through_the_prefix_equals_full_forward_gradient():
    """The loss pass runs the trunk once over the recorded tokens; its gradient must equal the
    gradient of recomputing every prediction from its own prefix (what the cache holds)."""
    torch.manual_seed(2)
    m = FirstExploreModel(ModelConfig(act_dim=4, n_layer=2))
    params = [p for n, p in m.named_parameters() if not n.startswith("heads.pred_max")]
    b, n = 3, 12
    act = torch.randint(-1, 4, (b, n))
    rew = torch.randn(b, n)
    target = torch.randint(0, 4, (b, n))

    def loss_of(h):
        return torch.nn.functional.cross_entropy(
            m.head("exp", h).reshape(-1, 4), target.reshape(-1)
        )

    h_full = m.forward_tokens(m.embed(act, rew, torch.arange(n)))
    g_full = torch.autograd.grad(loss_of(h_full), params)
    x = m.embed(act, rew, torch.arange(n))
    h_pref = torch.stack([m.forward_tokens(x[:, : t + 1])[:, -1] for t in range(n)], 1)
    g_pref = torch.autograd.grad(loss_of(h_pref), params)
    for a, c in zip(g_full, g_pref):
        torch.testing.assert_close(a, c, atol=1e-6, rtol=1e-4)


def test_bandit_rollout_logprobs_match_the_loss_pass():
    torch.manual_seed(3)
    m = FirstExploreModel(bandit_config())
    env = fastmeta.make("FixedArmBandit", num_envs=4, seed=0)
    xenv = fastmeta.make("FixedArmBandit", num_envs=4, seed=0)
    batch = BanditRollout(m, env, xenv, pulls=20).collect(7, torch.Generator().manual_seed(0))
    from fastmeta.agents.first_explore.losses import eps_mix_logprobs

    with torch.no_grad():
        h = m.forward_tokens(m.embed(batch.act, batch.rew, torch.arange(21)))
        torch.testing.assert_close(
            eps_mix_logprobs(m.head("exp", h[:, :20]), 0.05),
            batch.explore_logp,
            atol=1e-5,
            rtol=1e-4,
        )
        torch.testing.assert_close(
            eps_mix_logprobs(m.head("max", h), 0.05), batch.exploit_logp, atol=1e-5, rtol=1e-4
        )


@pytest.mark.parametrize("control", [False, True])
def test_episodic_branch_mask_reproduces_the_cached_rollout(control):
    """Rolling out with the cache (exploit branches decoded from the post-explore cache, then
    overwritten) and the single masked pass over the layout give the same logits."""
    torch.manual_seed(4)
    m = FirstExploreModel(treasure_config())
    env = fastmeta.make("DarkTreasureRoom", num_envs=3, seed=0, episodes_per_trial=6)
    ro = EpisodicRollout(m, env, num_eps=3, ep_len=9, control=control, running_return_tokens=True)
    batch = ro.collect(11, torch.Generator().manual_seed(1), tau=1.0)
    lay = ro.layout
    with torch.no_grad():
        h = m.forward_tokens(m.embed(batch.act, batch.rew, lay.pos, lay.ep, batch.obs), lay.mask)
        head = "max" if control else "exp"
        torch.testing.assert_close(
            m.head(head, h[:, torch.as_tensor(lay.ctx_pred)]), batch.ctx_prior, atol=2e-5, rtol=1e-4
        )
        if not control:
            torch.testing.assert_close(
                m.head("max", h[:, torch.as_tensor(lay.branch_pred)]),
                batch.br_prior,
                atol=2e-5,
                rtol=1e-4,
            )


def test_layout_positions_episode_numbers_and_mask():
    lay = EpisodicLayout(num_eps=2, ep_len=2, control=False)
    # explore ep 0: 3 tokens, explore ep 1: 3 tokens, branch after 0: 2 tokens, after 1: 2 tokens
    assert lay.pos.tolist() == [0, 1, 2, 0, 1, 2, 0, 1, 0, 1]
    assert lay.ep.tolist() == [0, 0, 0, 1, 1, 1, 1, 1, 2, 2]
    assert lay.ctx_pred.tolist() == [[0, 1], [3, 4]]
    assert lay.branch_pred.tolist() == [[6, 7], [8, 9]]
    m = lay.mask.int().numpy()
    expect = np.array(
        [
            [1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            [1, 1, 0, 0, 0, 0, 0, 0, 0, 0],
            [1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
            [1, 1, 1, 1, 0, 0, 0, 0, 0, 0],
            [1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
            [1, 1, 1, 1, 1, 1, 0, 0, 0, 0],
            [1, 1, 1, 0, 0, 0, 1, 0, 0, 0],  # branch 0 sees explore episode 0 only
            [1, 1, 1, 0, 0, 0, 1, 1, 0, 0],
            [1, 1, 1, 1, 1, 1, 0, 0, 1, 0],  # branch 1 sees explore episodes 0-1, not branch 0
            [1, 1, 1, 1, 1, 1, 0, 0, 1, 1],
        ]
    )
    np.testing.assert_array_equal(m, expect)
    ctl = EpisodicLayout(num_eps=2, ep_len=2, control=True)
    assert ctl.mask is None and ctl.ep.tolist() == [0, 0, 0, 1, 1, 1]


def test_cpu_decode_attention_kernel_equals_the_torch_expression():
    from fastmeta.agents.first_explore.decode_attention import attend, attend_torch

    torch.manual_seed(5)
    q, k, v = torch.randn(24, 32), torch.randn(24, 50, 32) * 3, torch.randn(24, 50, 32)
    for n in (1, 7, 50):
        with torch.no_grad():
            torch.testing.assert_close(
                attend(q, k, v, n), attend_torch(q, k, v, n), atol=1e-5, rtol=1e-5
            )
