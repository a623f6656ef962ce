"""The test protocol of DREAM's benchmarks that every learner evaluated on them shares (spec §1.7,
§2.2, §2.3, §4.3): which env ids the test tasks are, which instructions the original's seeded
instruction wrappers draw, and a batched test env whose tasks and instructions are pinned to them.
"""

from __future__ import annotations

import numpy as np

from fastmeta.agents.common.env_sizes import eval_task_ids
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
