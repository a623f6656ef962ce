"""First-Explore credit rules, the additive-logit loss and the optimiser, on hand-made cases."""

import math

import numpy as np
import pytest
import torch

from fastmeta.agents.first_explore.losses import (
    additive_ce,
    always_exploit_weights,
    bandit_credit,
    episodic_weights,
    eps_mix_logprobs,
)
from fastmeta.agents.first_explore.optim import clip_elementwise_, lr_at, make_optimizer


def test_additive_ce_on_a_tiny_case():
    prior = torch.tensor([[math.log(0.5), math.log(0.25), math.log(0.25)]])
    logits = torch.tensor([[0.0, math.log(2.0), 0.0]], requires_grad=True)
    # softmax(prior + logits) = (0.5, 0.5, 0.25) / 1.25 -> p(action 1) = 0.4
    ce = additive_ce(prior, logits, torch.tensor([1]))
    assert ce.item() == pytest.approx(-math.log(0.4), rel=1e-6)
    ce.sum().backward()
    # d CE / d logits = softmax(prior + logits) - onehot
    np.testing.assert_allclose(logits.grad.numpy(), [[0.4, 0.4 - 1, 0.2]], rtol=1e-6)


def test_additive_ce_prior_gets_no_gradient_and_is_not_plain_ce():
    prior = torch.tensor([[2.0, 0.0]], requires_grad=True)
    logits = torch.zeros(1, 2, requires_grad=True)
    ce = additive_ce(prior, logits, torch.tensor([1]))
    ce.sum().backward()
    assert prior.grad is None or prior.grad.abs().sum() == 0
    assert ce.item() != pytest.approx(math.log(2))  # plain CE on the zero logits would be log 2


def test_eps_mix():
    lp = eps_mix_logprobs(torch.tensor([[0.0, -1e9]]), 0.05)
    np.testing.assert_allclose(lp.exp().numpy(), [[0.975, 0.025]], rtol=1e-6)


def test_bandit_credit_rules():
    explore = torch.tensor([[0.2, 1.0, 0.5]])  # r_0..r_2 (3 context pulls)
    exploit = torch.tensor([[-5.0, 0.2, 0.9, 1.0]])  # rho_0..rho_3 (4 prefixes)
    e_ok, x_ok = bandit_credit(explore, exploit)
    # M'_0 = -inf, M'_1 = 0.2, M'_2 = 1.0, M'_3 = 1.0; exploit uses >=
    assert x_ok.tolist() == [[True, True, False, True]]
    # explore pull t: rho_{t+1} > M'_t, strictly; pull 0 always succeeds (M'_0 = -inf)
    assert e_ok.tolist() == [[True, True, False]]


def test_bandit_credit_explore_is_strict_and_exploit_is_not():
    explore = torch.tensor([[0.5, 0.5]])
    exploit = torch.tensor([[0.0, 0.5, 0.5]])
    e_ok, x_ok = bandit_credit(explore, exploit)
    assert x_ok.tolist() == [[True, True, True]]  # 0.5 >= 0.5
    assert e_ok.tolist() == [[True, False]]  # 0.5 > 0.5 is false


def test_episodic_weights_start_at_zero_and_include_exploit_returns():
    explore = torch.tensor([[0.0, 3.0, 0.0]])
    exploit = torch.tensor([[0.0, 2.0, 3.0]])
    w_e, w_x = episodic_weights(explore, exploit)
    # i=0: M=0, R^x=0: exploit >= 0 -> 1 + 0 = 1; explore needs R^x > 0 -> 0. M <- 0
    # i=1: M=0, R^x=2: both 1 + 2 = 3. M <- max(0, 3, 2) = 3 (explore return counts)
    # i=2: M=3, R^x=3: exploit 1, explore 0 (not strictly better)
    assert w_x.tolist() == [[1.0, 3.0, 1.0]]
    assert w_e.tolist() == [[0.0, 3.0, 0.0]]
    w_e, w_x = episodic_weights(explore, exploit, weighting=False)
    assert w_x.tolist() == [[1.0, 1.0, 1.0]] and w_e.tolist() == [[0.0, 1.0, 0.0]]


def test_episodic_weights_negative_returns_get_no_credit():
    w_e, w_x = episodic_weights(torch.tensor([[-1.0]]), torch.tensor([[-0.5]]))
    assert w_x.item() == 0 and w_e.item() == 0


def test_always_exploit_weights():
    w = always_exploit_weights(torch.tensor([[0.0, -1.0, 2.0, 1.5]]))
    assert w.tolist() == [[1.0, 0.0, 3.0, 0.0]]


def test_elementwise_clipping_is_not_norm_clipping():
    p = torch.nn.Parameter(torch.zeros(4))
    p.grad = torch.tensor([1.0, -0.1, -3.0, 0.25])
    clip_elementwise_([p], 0.25)
    assert p.grad.tolist() == [0.25, pytest.approx(-0.1), -0.25, 0.25]


def test_lr_schedule_warmup_then_linear_decay():
    assert lr_at(0, 100, 1.0) == 0.0
    assert lr_at(5, 100, 1.0) == pytest.approx(0.5)
    assert lr_at(10, 100, 1.0) == pytest.approx(1.0)
    assert lr_at(55, 100, 1.0) == pytest.approx(0.5)
    assert lr_at(100, 100, 1.0) == 0.0


def test_adamw_decays_every_parameter():
    p = torch.nn.Parameter(torch.ones(3))
    opt = make_optimizer([p], weight_decay=0.5)
    for g in opt.param_groups:
        g["lr"] = 0.1
    p.grad = torch.zeros(3)
    opt.step()
    # zero gradient: only the decoupled decay acts, p <- p * (1 - lr * wd)
    np.testing.assert_allclose(p.detach().numpy(), [0.95] * 3, rtol=1e-6)
