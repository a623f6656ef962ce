"""The baselines' evaluation protocol (spec §3.5, §2.5) on the batched env.

Test trial j uses `create_env(j, test=True)` (env id = test_ids[RS(j).randint(n_test)]) and a
fresh instruction wrapper seeded j + 1, whose first draw is episode 1's instruction and whose
second draw is episode 2's. All trials run as slots of one env with those tasks and
instructions pinned, greedily (test ε), IMPORT on h_t. Score = trial return = second-episode
return (episode 1's rewards are zeroed).
"""

from __future__ import annotations

import numpy as np
import torch

from fastmeta.agents.common.device import to_device as _t
from fastmeta.agents.common.eval_protocol import (
    PinnedEvaluator,
    instruction_draws,
    protocol_env_ids,
)

__all__ = ["instruction_draws", "trial_protocol", "TrialEvaluator"]


def trial_protocol(env_name: str, test_ids, n: int = 100):
    """(env ids [n], instructions [n, 2 episodes, instruction dims]) of test trials 0..n-1."""
    ids = protocol_env_ids(test_ids, n)
    instr = np.array(
        [instruction_draws(env_name, e, j + 1) for j, e in enumerate(ids)], dtype=np.int64
    )
    return ids, instr


class TrialEvaluator(PinnedEvaluator):
    """The baselines' test trials, greedy, on the DREAM learner's pinned test env."""

    protocol = staticmethod(trial_protocol)

    @torch.no_grad()
    def run(self, learner, gif_slots: int = 0) -> dict:
        env, dev = self.env, learner.device
        slots = learner.new_slots(self.n)
        self.reset()
        active = np.ones(self.n, dtype=bool)
        returns = np.zeros(self.n)
        lengths = np.zeros(self.n)
        frames = self.frame_list(gif_slots)
        while active.any():
            if frames is not None:
                frames.append(env.render()[:gif_slots].copy())
            episode = env.episode_index.copy()
            a = learner.act(
                slots, _t(env.obs, dev), _t(env.instructions, dev), _t(env.task_ids, dev)
            )
            _, rew, term, trunc, _ = env.step(a.cpu().numpy())
            out = learner.observe(
                slots,
                _t(episode, dev),
                _t(rew, dev, torch.float64),
                _t(term | trunc, dev),
                _t(env.trial_done, dev),
                _t(env.obs, dev),
                _t(env.instructions, dev),
            )
            if out:
                s = out["slots"].cpu().numpy()
                keep = active[s]
                returns[s[keep]] = out["returns"].cpu().numpy()[keep]
                lengths[s[keep]] = out["lengths"].cpu().numpy()[keep]
                active[s] = False
        result = {
            "test_return": float(returns.mean()),
            "returns": returns,
            "test_steps": float(lengths.mean()),
        }
        if frames:
            result["frames"] = np.stack(frames, 1)  # [slots, time, H, W, 3]
        return result
