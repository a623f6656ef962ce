"""DREAM's evaluation protocol (spec §3.3) on the batched env.

Test meta-episode j uses `create_env(j, test=True)` (env id = test_ids[RS(j).randint(n_test)]),
an exploration instruction drawn first from RS(max(0, j-1)) (hidden; it can end the exploration
episode) and the exploitation instruction drawn first from RS(j+1). All 100 run as 100 slots of
one env, greedily (test ε), exploitation conditioned on g_T(τ). Score: mean exploitation return.
"""

from __future__ import annotations

import numpy as np
import torch

from fastmeta.agents.common.eval_protocol import (
    PinnedEvaluator,
    first_instruction,
    instruction_draws,
    protocol_env_ids,
)

__all__ = ["Evaluator", "evaluation_protocol", "instruction_draws", "protocol_env_ids"]


def evaluation_protocol(env_name: str, test_ids, n: int = 100):
    """(env ids [n], instructions [n, 2 episodes, instruction dims]) of test meta-episodes 0..n-1."""
    ids = protocol_env_ids(test_ids, n)
    instr = np.array(
        [
            [first_instruction(env_name, e, max(0, j - 1)), first_instruction(env_name, e, j + 1)]
            for j, e in enumerate(ids)
        ],
        dtype=np.int64,
    )
    return ids, instr


class Evaluator(PinnedEvaluator):
    """DREAM's test meta-episodes: explore, then exploit conditioned on g_T(τ)."""

    protocol = staticmethod(evaluation_protocol)

    @torch.no_grad()
    def run(self, learner, gif_slots: int = 0) -> dict:
        from fastmeta.agents.dream.learner import Slots

        env = self.env
        slots = Slots(self.n, learner, training=False)
        self.reset()
        active = np.ones(self.n, dtype=bool)
        returns = np.zeros(self.n)
        explore_len = np.zeros(self.n)
        frames = self.frame_list(gif_slots)
        frame_lengths = np.zeros(gif_slots, dtype=np.int64)
        while active.any():
            if frames is not None:
                frames.append(env.render()[:gif_slots].copy())
            _, out = learner.interact(slots, env)
            if "explore_slots" in out:
                xs = out["explore_slots"].cpu().numpy()
                keep = active[xs]
                explore_len[xs[keep]] = out["explore_lengths"].cpu().numpy()[keep]
            if "exploit_slots" in out:
                us = out["exploit_slots"].cpu().numpy()
                keep = active[us]
                returns[us[keep]] = out["exploit_returns"].cpu().numpy()[keep]
                if frames is not None:
                    done_now = us[keep]
                    frame_lengths[done_now[done_now < gif_slots]] = len(frames)
                active[us] = False
        result = {
            "test_return": float(returns.mean()),
            "returns": returns,
            "test_exploration_steps": float(explore_len.mean()),
        }
        if frames:
            clips = np.stack(frames, 1)  # [slots, time, H, W, 3]
            result["frames"] = [clip[: max(1, L)] for clip, L in zip(clips, frame_lengths)]
        return result
