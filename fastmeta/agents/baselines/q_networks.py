"""The online Q-networks of E-RL², IMPORT and VariBAD (spec §6), one class each.

All three share the interface of the DREAM learner's networks:
  step(x, state, env_ids, use_ids)   one act call for N slots, carrying the LSTM's (h, c)
  unroll(x, state, env_ids, use_ids) padded [B, T] sequences → (Q [B, T, A], latent [B, T, H])
where `latent` is the history embedding the auxiliary losses read (h_t; VariBAD's z_t).
`use_ids` ([N] / [B] bool) only matters to IMPORT: rows where it is set use f(e) instead of h_t.
"""

from __future__ import annotations

import torch
from torch import nn

from fastmeta.agents.baselines.encoders import StateInstructionEmb, TrialInputs, build_encoder
from fastmeta.agents.common.embedders import DuelingHead, IDEmb


class RL2QNet(nn.Module):
    """E-RL²: dueling head straight on the encoder's h_t."""

    def __init__(self, config: dict, sizes, whole_tensor_mean: bool, unused_linear: bool):
        super().__init__()
        self.encoder = build_encoder(config["agent"]["policy"]["embedder"], sizes)
        self.head = DuelingHead(
            self.encoder.hidden_size, sizes.num_actions, whole_tensor_mean, unused_linear
        )

    def step(self, x: TrialInputs, state, env_ids=None, use_ids=None, generator=None):
        h, state = self.encoder.step(x, state)
        return self.head(h, acting=True), state

    def unroll(self, x: TrialInputs, state=None, env_ids=None, use_ids=None, generator=None):
        h, _ = self.encoder.unroll(x, state)
        return self.head(h), h


class ImportQNet(nn.Module):
    """IMPORT: Q on Linear(ReLU([b_t, StateInstr(s_t, i)])), b_t = h_t or f(e)."""

    def __init__(self, config: dict, sizes, whole_tensor_mean: bool, unused_linear: bool):
        super().__init__()
        emb = config["agent"]["policy"]["embedder"]
        self.encoder = build_encoder(emb["recurrent_embedder"], sizes)
        self.ids = IDEmb((sizes.num_tasks,), emb["id_embedder"]["embed_dim"])
        self.state = StateInstructionEmb(
            sizes.obs_kind,
            sizes.obs_highs,
            sizes.instruction_highs,
            emb["state_embedder"]["embed_dim"],
        )
        self.fc = nn.Linear(self.encoder.hidden_size + self.state.embed_dim, emb["embed_dim"])
        self.head = DuelingHead(
            emb["embed_dim"], sizes.num_actions, whole_tensor_mean, unused_linear
        )

    def _q(self, h, x, env_ids, use_ids, acting):
        b = h
        if use_ids is not None and bool(use_ids.any()):
            f = self.ids(env_ids)
            if h.dim() == 3:
                f, use_ids = f[:, None, :].expand_as(h), use_ids[:, None]
            b = torch.where(use_ids[..., None], f, h)
        s = self.state(x.obs, x.instruction)
        return self.head(self.fc(torch.relu(torch.cat([b, s], -1))), acting=acting)

    def step(self, x: TrialInputs, state, env_ids=None, use_ids=None, generator=None):
        h, state = self.encoder.step(x, state)
        return self._q(h, x, env_ids, use_ids, True), state

    def unroll(self, x: TrialInputs, state=None, env_ids=None, use_ids=None, generator=None):
        h, _ = self.encoder.unroll(x, state)
        return self._q(h, x, env_ids, use_ids, False), h


class VariBADQNet(nn.Module):
    """VariBAD as the original builds it: z_t = h_t + 1e-6·ε (h_t is the posterior mean, not
    detached), Q on Linear(ReLU([z_t, StateInstr(s_t, i)])), plus the reward/state decoder
    D(z, s, a) that only the auxiliary loss uses."""

    def __init__(self, config: dict, sizes, whole_tensor_mean: bool, unused_linear: bool):
        super().__init__()
        emb = config["agent"]["policy"]["embedder"]
        self.encoder = build_encoder(emb["recurrent_embedder"], sizes)
        z_dim = emb["z_dim"]
        if unused_linear:
            # The original's posterior heads: built, never called (they only count parameters).
            self.fc_mu = nn.Linear(self.encoder.hidden_size, z_dim)
            self.fc_logvar = nn.Linear(self.encoder.hidden_size, z_dim)
        self.state = StateInstructionEmb(
            sizes.obs_kind,
            sizes.obs_highs,
            sizes.instruction_highs,
            emb["state_embedder"]["embed_dim"],
        )
        self.phi = nn.Linear(z_dim + self.state.embed_dim, emb["embed_dim"])
        self.head = DuelingHead(
            emb["embed_dim"], sizes.num_actions, whole_tensor_mean, unused_linear
        )
        self.action = nn.Embedding(sizes.num_actions, emb["action_embedder"]["embed_dim"])
        self.decoder_in = nn.Linear(z_dim + self.state.embed_dim + self.action.embedding_dim, 128)
        self.decoder_out = nn.Linear(128, 128)
        self.reward_head = nn.Linear(128, 1)
        # One output per observation component (the original's len(observation high)).
        self.state_head = nn.Linear(128, sizes.obs_shape[0])
        self.predict_states = bool(emb["predict_states"])
        self.z_dim, self.z_std = z_dim, 1e-6

    def latent(self, h, generator=None):
        noise = torch.randn(h.shape, device=h.device, generator=generator)
        return h + self.z_std * noise

    def _q(self, z, x, acting):
        s = self.state(x.obs, x.instruction)
        return self.head(self.phi(torch.relu(torch.cat([z, s], -1))), acting=acting)

    def step(self, x: TrialInputs, state, env_ids=None, use_ids=None, generator=None):
        h, state = self.encoder.step(x, state)
        return self._q(self.latent(h, generator), x, True), state

    def unroll(self, x: TrialInputs, state=None, env_ids=None, use_ids=None, generator=None):
        h, _ = self.encoder.unroll(x, state)
        z = self.latent(h, generator)
        return self._q(z, x, False), z


NETWORKS = {"recurrent": RL2QNet, "import": ImportQNet, "varibad": VariBADQNet}


def build_network(config: dict, sizes) -> nn.Module:
    quirks = config["fastmeta"]["quirks"]
    cls = NETWORKS[config["agent"]["policy"]["embedder"]["type"]]
    return cls(config, sizes, quirks["whole_tensor_dueling_mean"], quirks["unused_linear"])
