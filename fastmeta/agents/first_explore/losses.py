"""First-Explore's credit rules and its additive-logit cross-entropy (spec §2.4, §2.5, §3.1, §5).

The loss on a sampled action a is CE(softmax(s + l), a), where s are the (stop-gradient) log-probs
or scaled logits the action was sampled with and l the trained head's logits. At the optimum
l[a] = log P(success | a, context) + const: the sampling prior is factored out, so this is not
behaviour cloning and must not be replaced by plain CE on l.

Credit rules:
  bandit      M'_t = max(explore rewards before pull t), M'_0 = -inf (explore rewards only).
              exploit at prefix t succeeds iff rho_t >= M'_t;
              explore pull t succeeds iff rho_{t+1} > M'_t (strict; pull 0 always succeeds).
  treasure /  M starts at 0 and absorbs explore and exploit returns. After explore episode i and
  maze        its exploit branch: w_exploit = [R^x >= M](1 + R^x - M),
              w_explore = [R^x > M](1 + R^x - M); then M <- max(M, R^e, R^x).
  always-     each exploit episode: w = [R >= M](1 + R - M), then M <- max(M, R), M_0 = 0.
  exploit
"""

from __future__ import annotations

import torch


def additive_ce(prior: torch.Tensor, logits: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """Per-element CE(softmax(prior.detach() + logits), actions); prior/logits (..., A), actions (...)."""
    z = prior.detach() + logits
    return torch.logsumexp(z, -1) - z.gather(-1, actions.unsqueeze(-1)).squeeze(-1)


def eps_mix_logprobs(logits: torch.Tensor, eps: float) -> torch.Tensor:
    """log((1 - eps) * softmax(logits) + eps / A): the bandit's sampling distribution."""
    p = torch.softmax(logits, -1)
    return torch.log((1.0 - eps) * p + eps / logits.shape[-1])


def bandit_credit(explore_rew: torch.Tensor, exploit_rew: torch.Tensor):
    """explore_rew (B, P) of the context pulls, exploit_rew (B, P+1) of the exploit prediction at
    every prefix (0..P context pulls). Returns bool (explore_success (B, P), exploit_success (B, P+1))."""
    b, p = explore_rew.shape
    prev_best = torch.full(
        (b, p + 1), -torch.inf, dtype=explore_rew.dtype, device=explore_rew.device
    )
    prev_best[:, 1:] = torch.cummax(explore_rew, 1).values
    exploit_success = exploit_rew >= prev_best
    explore_success = exploit_rew[:, 1:] > prev_best[:, :-1]
    return explore_success, exploit_success


def episodic_weights(explore_ret: torch.Tensor, exploit_ret: torch.Tensor, weighting: bool = True):
    """explore_ret, exploit_ret (B, E): returns of explore episode i and of the exploit branch after
    it. Returns (w_explore, w_exploit), both (B, E), float."""
    w_e = torch.zeros_like(exploit_ret)
    w_x = torch.zeros_like(exploit_ret)
    best = torch.zeros_like(exploit_ret[:, 0])  # M starts at 0, not -inf
    for i in range(exploit_ret.shape[1]):
        rx, re = exploit_ret[:, i], explore_ret[:, i]
        scale = (1.0 + rx - best) if weighting else torch.ones_like(rx)
        w_x[:, i] = (rx >= best) * scale
        w_e[:, i] = (rx > best) * scale
        best = torch.maximum(best, torch.maximum(re, rx))
    return w_e, w_x


def always_exploit_weights(ret: torch.Tensor, weighting: bool = True) -> torch.Tensor:
    """ret (B, E): returns of consecutive exploit episodes (all in context). Returns w (B, E)."""
    w = torch.zeros_like(ret)
    best = torch.zeros_like(ret[:, 0])
    for i in range(ret.shape[1]):
        r = ret[:, i]
        scale = (1.0 + r - best) if weighting else torch.ones_like(r)
        w[:, i] = (r >= best) * scale
        best = torch.maximum(best, r)
    return w


# ------------------------------------------------------------------------------------------------
# losses of one update, from a collected batch (rollout.py); one trunk pass with gradient
# ------------------------------------------------------------------------------------------------
def bandit_loss(model, batch, control: bool = False):
    """Spec §2.4 (First-Explore) / §3.1 (always-exploit: exploit loss only).

    Returns (loss, stats dict of detached scalars)."""
    p = batch.explore_act.shape[1]
    pos = torch.arange(p + 1, device=batch.act.device)
    h = model.forward_tokens(model.embed(batch.act, batch.rew, pos))
    explore_ok, exploit_ok = bandit_credit(batch.explore_rew, batch.exploit_rew)
    l_x = torch.where(exploit_ok.unsqueeze(-1), model.head("max", h), model.head("nonmax", h))
    loss_x = additive_ce(batch.exploit_logp, l_x, batch.exploit_act).mean()
    stats = {"loss_exploit": loss_x.detach(), "exploit_success": exploit_ok.float().mean()}
    if control:
        return loss_x, stats
    h_e = h[:, :p]
    l_e = torch.where(explore_ok.unsqueeze(-1), model.head("exp", h_e), model.head("nonexp", h_e))
    loss_e = additive_ce(batch.explore_logp, l_e, batch.explore_act).mean()
    stats.update(loss_explore=loss_e.detach(), explore_success=explore_ok.float().mean())
    return loss_x + loss_e, stats


def episodic_loss(model, batch, layout, weighting: bool = True):
    """Spec §2.5 (First-Explore) / §3.1 (always-exploit). Returns (loss, stats)."""
    h = model.forward_tokens(
        model.embed(
            batch.act,
            batch.rew,
            layout.pos.to(batch.act.device),
            layout.ep.to(batch.act.device),
            batch.obs,
        ),
        None if layout.mask is None else layout.mask.to(batch.act.device),
    )
    e = layout.num_eps
    ctx_head = "max" if layout.control else "exp"
    h_ctx = h[:, torch.as_tensor(layout.ctx_pred, device=h.device)]  # (B, E, T, D)
    ce_ctx = additive_ce(batch.ctx_prior, model.head(ctx_head, h_ctx), batch.ctx_act).sum(-1)
    if layout.control:
        w = always_exploit_weights(batch.ctx_ret, weighting)
        loss = (w * ce_ctx).mean(0).sum() / e
        return loss, {"loss_exploit": loss.detach(), "exploit_success": (w > 0).float().mean()}
    h_br = h[:, torch.as_tensor(layout.branch_pred, device=h.device)]
    ce_br = additive_ce(batch.br_prior, model.head("max", h_br), batch.br_act).sum(-1)
    w_e, w_x = episodic_weights(batch.ctx_ret, batch.br_ret, weighting)
    loss_x = (w_x * ce_br).mean(0).sum() / e
    loss_e = (w_e * ce_ctx).mean(0).sum() / e
    return loss_x + loss_e, {
        "loss_exploit": loss_x.detach(),
        "loss_explore": loss_e.detach(),
        "exploit_success": (w_x > 0).float().mean(),
        "explore_success": (w_e > 0).float().mean(),
    }
