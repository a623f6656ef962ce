"""The run loop of learners that act on N env slots of one of DREAM's benchmarks with recurrent
DQN agents (DREAM and the E-RL², IMPORT and VariBAD baselines).

On several ranks, rank r builds the env of its block of the global `num_envs` slots (with
`first_slot`, so its slots draw the streams of their global ids) and its learner holds a replay
of its own; rank 0 alone builds the pinned test env.
"""

from __future__ import annotations

import fastmeta
from fastmeta.agents.common.checkpoint import env_state, load_env_state
from fastmeta.agents.common.device import HostToDevice
from fastmeta.agents.common.env_sizes import net_sizes
from fastmeta.agents.common.run_loop import RunLoop


class EnvSlotsRunLoop(RunLoop):
    learner_class: type  # (config, NetSizes, num_slots, device, dist)
    evaluator_class: type  # (env_name, make_env, n, seed); .run(learner, gif_slots) -> dict
    EVAL_SIZE: str  # fastmeta key: test slots per evaluation
    TEST_STEPS: tuple  # (evaluator result key, scalar tag) of the mean test length

    def build(self) -> None:
        fm = self.fm
        self.env_name = self.config["environment"]
        first, n = self.dist.block(int(fm["num_envs"]), "config key 'fastmeta.num_envs'")

        def make(num_envs, split, first_slot=0):
            return fastmeta.make(
                self.env_name,
                num_envs=num_envs,
                seed=int(fm["seed"]),
                split=split,
                episodes_per_trial=2,
                first_slot=first_slot,
            )

        self.env = make(n, "train", first)
        self.sizes = net_sizes(self.env)
        self.learner = self.learner_class(self.config, self.sizes, n, self.device, self.dist)
        self.evaluator = None
        if self.dist.is_main:
            self.evaluator = self.evaluator_class(
                self.env_name, make, int(fm[self.EVAL_SIZE]), int(fm["seed"])
            )
        self.to_device = HostToDevice(self.device)
        self._act_counts = None  # every rank's (explore, exploit) slot counts for the next act

    def start(self) -> None:
        self.env.reset(seed=int(self.fm["seed"]))

    def rank_state(self) -> dict:
        return {"learner": self.learner.state_dict(), "env": env_state(self.env)}

    def load_rank_state(self, state: dict) -> None:
        self.learner.load_state_dict(state["learner"])
        load_env_state(self.env, state["env"])
        self._act_counts = None

    def parameters_to_check(self) -> list:
        return self.learner.parameters_to_check()

    def run_evaluation(self, gif_slots: int) -> dict:
        res = self.evaluator.run(self.learner, gif_slots=gif_slots)
        steps_key, steps_tag = self.TEST_STEPS
        out = {
            "test_return": res["test_return"],
            "test_exploration_steps": round(res[steps_key], 2),
            "scalars": {"reward/test": res["test_return"], steps_tag: res[steps_key]},
        }
        if "frames" in res:
            out["frames"] = res["frames"]
        return out

    def act_offsets(self, counts) -> tuple:
        """(offset, total) per count column: where this rank's slots fall among every rank's,
        in global slot order, and the sum over ranks. `counts` is [world, k]."""
        r = self.dist.rank
        return tuple(
            (int(counts[:r, j].sum()), int(counts[:, j].sum())) for j in range(counts.shape[1])
        )
