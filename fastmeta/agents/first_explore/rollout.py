"""Batched, KV-cached lifetime rollouts for First-Explore training (spec §2.2-§2.5, §3.1).

Every lifetime of a batch advances in lockstep, so one `model.decode` call per token serves the
whole batch. Rollouts run without autograd: they only choose actions and record the logits the
actions were sampled with. The loss (losses.py) then runs the trunk once over the recorded tokens
with gradient. That pass computes the same function of the same tokens as the cached decode
(causal order, same per-token positions and episode numbers), so its gradient is the gradient
through the cached lifetime; tests/test_first_explore_model.py checks the equality.

Bandit (one parameter set, on-policy):
  token 0 = (zero action, reward 0, pos 0); token t = (a_{t-1}, r_{t-1}, pos t).
  At token t the explore head (the exploit head for the always-exploit control) picks pull t with
  an eps-mix; independently the exploit head picks m_t, stepped in a second env that holds the
  same tasks. Pulls 0..P-1 enter the context; exploit is scored at all P+1 prefixes.

Treasure room / ray maze (a lagged roll copy samples, with inverse temperature tau):
  each episode is T+1 tokens: (zero action, reset obs, reward 0, ts 0) then one per step.
  Explore episode i (ep_no i) is appended to the cache; the exploit branch after it (ep_no i+1)
  is decoded from the post-explore cache into the slots the next explore episode overwrites.
  With tau = 0 (before the first roll refresh) sampling is uniform and the model is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from fastmeta.agents.first_explore.losses import eps_mix_logprobs
from fastmeta.agents.first_explore.model import FirstExploreModel, KVCache


def sample_categorical(logp: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Inverse-CDF draw from log-probs (B, A) with uniforms u (B,); one call for the batch."""
    c = torch.cumsum(torch.exp(logp), -1)
    c = c / c[:, -1:]
    return torch.clamp((c < u.unsqueeze(-1)).sum(-1), max=logp.shape[-1] - 1)


# ------------------------------------------------------------------------------------------------
# bandit
# ------------------------------------------------------------------------------------------------
@dataclass
class BanditBatch:
    act: torch.Tensor  # (B, P+1) token actions, column 0 = -1
    rew: torch.Tensor  # (B, P+1) token rewards, column 0 = 0
    explore_logp: torch.Tensor  # (B, P, A) sampling log-probs of the context pulls
    exploit_act: torch.Tensor  # (B, P+1) exploit action at every prefix
    exploit_logp: torch.Tensor  # (B, P+1, A)
    exploit_rew: torch.Tensor  # (B, P+1)

    @property
    def explore_act(self) -> torch.Tensor:
        return self.act[:, 1:]

    @property
    def explore_rew(self) -> torch.Tensor:
        return self.rew[:, 1:]


class BanditRollout:
    """Collects one batch of bandit lifetimes per call into preallocated buffers."""

    def __init__(
        self,
        model: FirstExploreModel,
        env,
        exploit_env,
        pulls: int = 99,
        eps: float = 0.05,
        context_head: str = "exp",
        device="cpu",
    ):
        if exploit_env.num_envs != env.num_envs:
            raise ValueError("env and exploit_env must have the same num_envs")
        self.model, self.env, self.exploit_env = model, env, exploit_env
        self.pulls, self.eps, self.context_head = pulls, eps, context_head
        self.device = torch.device(device)
        b, a = env.num_envs, model.cfg.act_dim
        self.cache = KVCache(model.cfg, b, pulls + 1, device=self.device)
        z = dict(device=self.device)
        self.act = torch.full((b, pulls + 1), -1, dtype=torch.long, **z)
        self.rew = torch.zeros(b, pulls + 1, **z)
        self.explore_logp = torch.zeros(b, pulls, a, **z)
        self.exploit_act = torch.zeros(b, pulls + 1, dtype=torch.long, **z)
        self.exploit_logp = torch.zeros(b, pulls + 1, a, **z)
        self.exploit_rew = torch.zeros(b, pulls + 1, **z)
        self.pos = torch.arange(pulls + 1, device=self.device)

    @torch.no_grad()
    def collect(self, env_seed: int, gen: torch.Generator) -> BanditBatch:
        m, p, b, n_act = self.model, self.pulls, self.env.num_envs, self.model.cfg.act_dim
        self.env.reset(seed=env_seed)
        self.exploit_env.reset(seed=env_seed + 1, tasks=self.env.tasks)
        u = torch.rand(p + 1, b * 2, generator=gen, device=self.device)
        # the context head and the exploit head as one matmul; for the always-exploit control
        # both rows are the exploit head, i.e. two independent draws from it
        heads = [m.heads[f"pred_{self.context_head}"], m.heads["pred_max"]]
        w = torch.cat([hd.weight for hd in heads])
        bias = torch.cat([hd.bias for hd in heads])
        table = m.action_table()
        for t in range(p + 1):
            h = m.decode(
                m.embed(self.act[:, t], self.rew[:, t], self.pos[t], table=table), self.cache, t
            )
            logp = eps_mix_logprobs(
                torch.nn.functional.linear(h, w, bias).view(b, 2, n_act), self.eps
            )
            acts = sample_categorical(logp.view(b * 2, n_act), u[t]).view(b, 2)
            at, mt = acts[:, 0], acts[:, 1]
            self.exploit_logp[:, t] = logp[:, 1]
            self.exploit_act[:, t] = mt
            self.exploit_rew[:, t] = torch.from_numpy(
                self.exploit_env.step(mt.cpu().numpy())[1]
            ).to(self.device)
            if t == p:
                break
            self.explore_logp[:, t] = logp[:, 0]
            self.act[:, t + 1] = at
            self.rew[:, t + 1] = torch.from_numpy(self.env.step(at.cpu().numpy())[1]).to(
                self.device
            )
        return BanditBatch(
            self.act.clone(),
            self.rew.clone(),
            self.explore_logp.clone(),
            self.exploit_act.clone(),
            self.exploit_logp.clone(),
            self.exploit_rew.clone(),
        )


# ------------------------------------------------------------------------------------------------
# treasure room / ray maze
# ------------------------------------------------------------------------------------------------
@dataclass
class EpisodicLayout:
    """Where every token of a training lifetime sits in the loss sequence, and who sees whom.

    First-Explore: E explore episodes of T+1 tokens, then E exploit branches of T tokens (a
    branch's last token is never read: its output is unused and nothing attends to it).
    Always-exploit: E exploit episodes of T+1 tokens, all in context.
    """

    num_eps: int
    ep_len: int
    control: bool

    def __post_init__(self):
        e, t = self.num_eps, self.ep_len
        n_ctx = e * (t + 1)
        self.length = n_ctx if self.control else n_ctx + e * t
        pos = np.zeros(self.length, dtype=np.int64)
        ep = np.zeros(self.length, dtype=np.int64)
        pos[:n_ctx] = np.tile(np.arange(t + 1), e)
        ep[:n_ctx] = np.repeat(np.arange(e), t + 1)
        # prediction token of (episode i, step s): context episodes, then branches
        self.ctx_pred = np.arange(e)[:, None] * (t + 1) + np.arange(t)[None, :]
        self.mask = None  # plain causal
        if not self.control:
            pos[n_ctx:] = np.tile(np.arange(t), e)
            ep[n_ctx:] = np.repeat(np.arange(1, e + 1), t)
            self.branch_pred = n_ctx + np.arange(e)[:, None] * t + np.arange(t)[None, :]
            mask = np.tril(np.ones((self.length, self.length), dtype=bool))
            for i in range(e):
                rows = slice(n_ctx + i * t, n_ctx + (i + 1) * t)
                mask[rows, (i + 1) * (t + 1) :] = False  # later context and earlier branches
                mask[rows, rows] = np.tril(np.ones((t, t), dtype=bool))
            self.mask = torch.from_numpy(mask)
        self.pos = torch.from_numpy(pos)
        self.ep = torch.from_numpy(ep)


@dataclass
class EpisodicBatch:
    act: torch.Tensor  # (B, S) token actions (-1 = zero action)
    rew: torch.Tensor  # (B, S) token reward field
    obs: torch.Tensor  # (B, S, obs_dim)
    ctx_act: torch.Tensor  # (B, E, T) actions of the context episodes
    ctx_prior: torch.Tensor  # (B, E, T, A) tau * roll logits they were sampled with
    ctx_ret: torch.Tensor  # (B, E) returns of the context episodes
    br_act: torch.Tensor | None = None  # (B, E, T) exploit branches (First-Explore only)
    br_prior: torch.Tensor | None = None
    br_ret: torch.Tensor | None = None


class EpisodicRollout:
    """Collects one batch of treasure-room / ray-maze lifetimes per call.

    `running_return_tokens`: the reward field of a token is the episode's running return
    (treasure room) instead of the per-step reward (maze). The env is stepped with per-step
    rewards; episode returns are their sums (the treasure's final running return, the maze's cr).
    """

    def __init__(
        self,
        model: FirstExploreModel,
        env,
        num_eps: int,
        ep_len: int,
        control: bool,
        running_return_tokens: bool,
        device="cpu",
    ):
        self.model, self.env = model, env
        self.layout = EpisodicLayout(num_eps, ep_len, control)
        self.running = running_return_tokens
        self.device = torch.device(device)
        cfg = model.cfg
        b, e, t, s = env.num_envs, num_eps, ep_len, self.layout.length
        self.cache = KVCache(cfg, b, (num_eps + 1) * (ep_len + 1), device=self.device)
        z = dict(device=self.device)
        self.act = torch.full((b, s), -1, dtype=torch.long, **z)
        self.rew = torch.zeros(b, s, **z)
        self.obs = torch.zeros(b, s, cfg.obs_dim, **z)
        n_br = 0 if control else e
        self.acts = torch.zeros(b, e + n_br, t, dtype=torch.long, **z)
        self.priors = torch.zeros(b, e + n_br, t, cfg.act_dim, **z)
        self.rets = torch.zeros(b, e + n_br, **z)
        self.pos = self.layout.pos.to(self.device)
        self.ep = self.layout.ep.to(self.device)

    def _episode(
        self,
        idx: int,
        seq0: int,
        slot0: int,
        ep_no: int,
        head: str,
        tau: float,
        u: torch.Tensor,
        write_last: bool,
        decode_last: bool,
    ) -> None:
        """Run one episode: tokens at sequence index seq0.., cache slots slot0..; results in
        self.acts/priors/rets[:, idx]."""
        m, env, t_len = self.model, self.env, self.layout.ep_len
        b, a_dim = env.num_envs, m.cfg.act_dim
        use_model = tau != 0.0
        ep_t = torch.tensor(ep_no, device=self.device)
        obs = torch.from_numpy(np.asarray(env.obs, dtype=np.float32)).to(self.device)
        act = torch.full((b,), -1, dtype=torch.long, device=self.device)
        rew_field = torch.zeros(b, device=self.device)
        ret = torch.zeros(b, device=self.device)
        for t in range(t_len + 1):
            if t < t_len or write_last:
                self.act[:, seq0 + t] = act
                self.rew[:, seq0 + t] = rew_field
                self.obs[:, seq0 + t] = obs
            if t == t_len:
                if use_model and decode_last:
                    m.decode(
                        m.embed(act, rew_field, self.pos.new_tensor(t), ep_t, obs, self._table),
                        self.cache,
                        slot0 + t,
                    )
                break
            if use_model:
                x = m.embed(act, rew_field, self.pos.new_tensor(t), ep_t, obs, self._table)
                logits = tau * m.head(head, m.decode(x, self.cache, slot0 + t))
                act = sample_categorical(torch.log_softmax(logits, -1), u[:, t])
                self.priors[:, idx, t] = logits
            else:
                act = torch.clamp((u[:, t] * a_dim).long(), max=a_dim - 1)
                self.priors[:, idx, t] = 0.0
            self.acts[:, idx, t] = act
            _, r, term, trunc, _ = env.step(act.cpu().numpy())
            done = term | trunc
            o = (
                np.where(done.reshape(-1, *([1] * (env.obs.ndim - 1))), env.final_obs, env.obs)
                if done.any()
                else env.obs
            )
            obs = torch.from_numpy(np.asarray(o, dtype=np.float32)).to(self.device)
            r = torch.from_numpy(np.asarray(r, dtype=np.float32)).to(self.device)
            ret = ret + r
            rew_field = ret if self.running else r
        self.rets[:, idx] = ret

    @torch.no_grad()
    def collect(self, env_seed: int, gen: torch.Generator, tau: float) -> EpisodicBatch:
        lay, t = self.layout, self.layout.ep_len
        e, n_ctx = lay.num_eps, lay.num_eps * (t + 1)
        self.env.reset(seed=env_seed)
        self._table = self.model.action_table()
        u = torch.rand(2 * e, self.env.num_envs, t, generator=gen, device=self.device)
        for i in range(e):
            if lay.control:
                self._episode(
                    i,
                    i * (t + 1),
                    i * (t + 1),
                    i,
                    "max",
                    tau,
                    u[i],
                    write_last=True,
                    decode_last=i < e - 1,
                )
                continue
            self._episode(
                i,
                i * (t + 1),
                i * (t + 1),
                i,
                "exp",
                tau,
                u[2 * i],
                write_last=True,
                decode_last=True,
            )
            self._episode(
                e + i,
                n_ctx + i * t,
                (i + 1) * (t + 1),
                i + 1,
                "max",
                tau,
                u[2 * i + 1],
                write_last=False,
                decode_last=False,
            )
        batch = EpisodicBatch(
            self.act.clone(),
            self.rew.clone(),
            self.obs.clone(),
            self.acts[:, :e].clone(),
            self.priors[:, :e].clone(),
            self.rets[:, :e].clone(),
        )
        if not lay.control:
            batch.br_act = self.acts[:, e:].clone()
            batch.br_prior = self.priors[:, e:].clone()
            batch.br_ret = self.rets[:, e:].clone()
        return batch
