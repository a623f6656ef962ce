"""DREAM's evaluation protocol (spec §3.3) on the batched env, and GIF export.

Test meta-episode j uses `create_env(j, test=True)` (env id = test_ids[RS(j).randint(n_test)]),
an exploration instruction drawn first from RS(max(0, j-1)) (hidden; it can end the exploration
episode) and the exploitation instruction drawn first from RS(j+1). All 100 run as 100 slots of
one env, greedily (test ε), exploitation conditioned on g_T(τ). Score: mean exploitation return.
"""

from __future__ import annotations

import numpy as np
import torch

from fastmeta.agents.env_sizes import eval_task_ids
from fastmeta.envs.cooking import drawer_contents

BUS_GOALS = [(0, 0), (8, 8), (0, 8), (8, 0)]
BUS_ENVS = ("vanilla", "distraction", "map")


def instruction_draws(env_name: str, env_id: int, seed: int, count: int = 2) -> list:
    """The first `count` instructions an InstructionWrapper seeded `seed` draws (§2.2, §2.3, §4.3)."""
    rs = np.random.RandomState(seed)
    out = []
    for _ in range(count):
        if env_name in BUS_ENVS:
            out.append(list(BUS_GOALS[rs.randint(4)]))
        elif env_name == "cooking":
            c = drawer_contents(int(env_id))
            i0, i1 = rs.randint(3, size=2)
            out.append([c[i0], c[i1]])
        elif env_name == "miniworld_sign":
            out.append([int(rs.randint(2, size=(1,))[0])])
        else:
            raise ValueError(f"no instruction protocol for env {env_name!r}")
    return out


def first_instruction(env_name: str, env_id: int, seed: int) -> list:
    """The first instruction a fresh InstructionWrapper with `seed` draws."""
    return instruction_draws(env_name, env_id, seed, count=1)[0]


def protocol_env_ids(test_ids, n: int) -> np.ndarray:
    """Env ids of `create_env(j, test=True)` for j = 0..n-1 (one RS(j) draw each, spec §1.7)."""
    test_ids = np.asarray(test_ids).reshape(-1)
    return np.array(
        [test_ids[np.random.RandomState(j).randint(len(test_ids))] for j in range(n)],
        dtype=np.int64,
    )


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


class PinnedEvaluator:
    """A batched test env of n slots whose tasks and instructions a protocol pins, reused between
    evaluations. Subclasses name the protocol, `(env_name, test_ids, n) -> (ids, instructions)`,
    and run the learner on the slots."""

    protocol = None

    def __init__(self, env_name: str, make_env, n: int = 100, seed: int = 0):
        self.env_name, self.n, self.seed = env_name, n, seed
        self.env = make_env(num_envs=n, split="test")
        self.ids, self.instructions = self.protocol(env_name, eval_task_ids(self.env), n)

    def reset(self) -> None:
        self.env.reset(seed=self.seed, tasks=self.ids, instructions=self.instructions)

    def frame_list(self, gif_slots: int) -> list | None:
        """A list to collect frames in, or None when no GIFs are asked for or the env cannot
        render (no headless GL, or no renderer at all)."""
        if not gif_slots:
            return None
        try:
            self.env.render()
        except (NotImplementedError, ImportError, ModuleNotFoundError):
            return None
        return []


class Evaluator(PinnedEvaluator):
    """DREAM's test meta-episodes: explore, then exploit conditioned on g_T(τ)."""

    protocol = staticmethod(evaluation_protocol)

    @torch.no_grad()
    def run(self, learner, gif_slots: int = 0) -> dict:
        from fastmeta.agents.dream.learner import Slots

        env, dev = self.env, learner.device
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
            episode = env.episode_index.copy()
            a = learner.act(
                slots,
                _t(env.obs, dev),
                _t(episode, dev),
                _t(env.instructions, dev),
                _t(env.task_ids, dev),
            )
            _, rew, term, trunc, _ = env.step(a.cpu().numpy())
            out = learner.observe(
                slots,
                _t(episode, dev),
                _t(rew, dev, torch.float64),
                _t(term | trunc, dev),
                _t(env.final_obs, dev),
            )
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


def _t(x, device, dtype=None):
    t = torch.from_numpy(np.ascontiguousarray(x)).to(device, copy=True)
    return t if dtype is None else t.to(dtype)


def write_gifs(frames: np.ndarray, directory, prefix: str, duration_ms: int = 250) -> list:
    """One GIF per slot from a list of [time, H, W, 3] uint8 clips; needs Pillow."""
    from pathlib import Path

    from PIL import Image

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, clip in enumerate(frames):
        images = [Image.fromarray(f) for f in clip]
        path = directory / f"{prefix}-{i}.gif"
        images[0].save(path, save_all=True, append_images=images[1:], duration=duration_ms, loop=0)
        paths.append(path)
    return paths
