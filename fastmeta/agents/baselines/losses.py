"""Auxiliary losses of IMPORT and VariBAD (spec §6), and the original's sequence padding.

Batches are sampled whole trials: step fields [B, L+1, ...] (position L_b holds the trial's
final next state), `lengths` [B] and `mask` [B, L] (m_t = t < L_b).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def original_padding_index(lengths: torch.Tensor, L: int) -> torch.Tensor:
    """Positions [B, L+1] into a replay batch that reproduce the original's online input.

    The original pads a short sequence with copies of its last experience and appends that
    experience's next state: s_0..s_{T-1}, s_{T-1}, ..., s_{T-1}, s_T. fastmeta's replay repeats
    s_T instead. Valid positions are the same; the padding reaches the loss through IMPORT's
    unmasked embedding distance and the whole-tensor dueling mean.
    """
    t = torch.arange(L + 1, device=lengths.device)[None, :]
    T = lengths[:, None]
    return torch.where(t < T, t, torch.where(t < L, T - 1, T))


def embedding_distance(h: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """IMPORT: Σ_{t, dims} mean_b (h_t − sg(f(e)))² over the padded sequences, no mask.
    h [B, L, H], f [B, H]."""
    return (h - f.detach()[:, None, :]).pow(2).mean(0).sum()


def varibad_decoding_losses(net, z, obs, instruction, actions, real_rewards, next_obs, mask):
    """VariBAD's reward and state decoding: every latent z_j of a sequence decodes every step i.

    z [B, L, Z] latents at s_0..s_{L-1}; obs/instruction/actions [B, L, ...] the steps to decode;
    real_rewards [B, L] the real rewards r_i (episode 1 included); next_obs [B, L, D] the
    observation returned after step i; mask [B, L].
    L_r = Σ_{b,i,j} m_i m_j (r̂(z_j, s_i, a_i) − r_i)² / B, L_s likewise over observation
    components. Returns (L_r, 0.01·L_s) — the original reports the weighted state loss.

    Only the Σ_b T_b² valid (i, j) pairs are evaluated (masked pairs add exactly zero), and
    the decoder's first layer is split into its z, state and action blocks, so the B·L² pair
    inputs are never concatenated.
    """
    B, L = mask.shape
    w = net.decoder_in.weight
    zd, sd = net.z_dim, net.state.embed_dim
    from_z = F.linear(z, w[:, :zd])  # [B, L, 128]
    s = net.state(obs, instruction)
    a = net.action(actions.long())
    from_step = F.linear(s, w[:, zd : zd + sd]) + F.linear(a, w[:, zd + sd :], net.decoder_in.bias)
    pairs = torch.nonzero(mask[:, :, None] & mask[:, None, :])  # (b, i, j)
    b, i, j = pairs[:, 0], pairs[:, 1], pairs[:, 2]
    hidden = torch.relu(net.decoder_out(torch.relu(from_step[b, i] + from_z[b, j])))
    reward_loss = (net.reward_head(hidden).squeeze(-1) - real_rewards[b, i].float()).pow(
        2
    ).sum() / B
    if not net.predict_states:
        return reward_loss, reward_loss.new_zeros(())
    target = next_obs[b, i].float()
    state_loss = (net.state_head(hidden) - target).pow(2).sum() / B
    return reward_loss, 0.01 * state_loss
