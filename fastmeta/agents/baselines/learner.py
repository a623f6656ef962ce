"""One learner for E-RL², IMPORT and VariBAD: N trial slots acting together, whole trials in
replay, gradient steps after each finished trial (spec §3.5, §6).

A slot runs trial after trial on the batched env (`episodes_per_trial=2`, same-step autoreset).
Each step's input follows the original's MultiEpisodeWrapper state (§2.7, §8.17-18): prev action
+ 1 (0 at an episode's start), the previous *real* reward, done = 1 on the first state of the
second episode; the reward used for learning is zeroed in the first episode and `done` for
learning marks the trial's end only. Trials get a global index when they start; IMPORT acts and
learns with f(e) on even trials and h_t on odd ones (target always h_t, evaluation h_t).
The DQN machinery, replay and recurrent kernels are the DREAM learner's.
"""

from __future__ import annotations

from collections import deque

import torch

from fastmeta.agents.baselines.encoders import TrialInputs
from fastmeta.agents.baselines.losses import (
    embedding_distance,
    original_padding_index,
    varibad_decoding_losses,
)
from fastmeta.agents.baselines.q_networks import build_network
from fastmeta.agents.common.distributed import Dist
from fastmeta.agents.common.dqn import DQNAgent, build_agent, epsilon_greedy, rank_seed, td_loss
from fastmeta.agents.common.env_sizes import NetSizes
from fastmeta.agents.common.precision import check_precision, in_precision
from fastmeta.agents.common.sequence_replay import SequenceReplay
from fastmeta.agents.common.slot_state import SlotState

AUX_NAMES = {
    "recurrent": (),
    "import": ("embedding_distance",),
    "varibad": ("reward_decoding_loss", "state_decoding_loss"),
}


class TrialSlots(SlotState):
    """Acting state of N trial slots: the encoder's (h, c), the next input's prev action /
    prev reward / done, the step within the trial and the trial's global index."""

    def __init__(self, n: int, learner: "BaselineLearner", training: bool, first_trial: int = 0):
        dev = learner.device
        self.n, self.training = n, training
        self.state = learner.agent.online.encoder.lstm.zeros(n, dev)
        self.prev_action = torch.zeros(n, dtype=torch.long, device=dev)
        self.prev_reward = torch.zeros(n, dtype=torch.float32, device=dev)
        self.done = torch.zeros(n, dtype=torch.long, device=dev)
        self.actions = torch.zeros(n, dtype=torch.long, device=dev)
        self.t = torch.zeros(n, dtype=torch.long, device=dev)
        self.trial = torch.arange(first_trial, first_trial + n, device=dev)
        self.returns = torch.zeros(n, dtype=torch.float64, device=dev)

    def inputs(self, obs, instructions) -> TrialInputs:
        return TrialInputs(obs, instructions, self.prev_action, self.prev_reward, self.done)


class BaselineLearner:
    def __init__(
        self, config: dict, sizes: NetSizes, num_slots: int, device="cpu", dist: Dist | None = None
    ):
        self.config, self.sizes = config, sizes
        self.device = torch.device(device)
        self.dist = dist or Dist()
        self.precision = check_precision(config["fastmeta"].get("precision", "fp32"))
        self.quirks = config["fastmeta"]["quirks"]
        self.method = config["agent"]["policy"]["embedder"]["type"]
        net = build_network(config, sizes).to(self.device)
        self.agent: DQNAgent = build_agent(net, config["agent"], self.quirks, self.dist)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(rank_seed(int(config["fastmeta"]["seed"]), self.dist.rank))
        capacity = config["agent"]["buffer"]["max_buffer_size"]
        self.replay = self.make_replay(num_slots, -(-capacity // self.dist.world))
        # trials are numbered over all ranks' slots: rank r's first slots start trials r*N..
        self.trials_started = num_slots * self.dist.world
        self.slots = TrialSlots(
            num_slots, self, training=True, first_trial=num_slots * self.dist.rank
        )
        self.aux_stats = {k: deque(maxlen=1000) for k in AUX_NAMES[self.method]}

    def make_replay(self, num_slots: int, capacity: int) -> SequenceReplay:
        sizes = self.sizes
        H = self.agent.online.encoder.hidden_size
        long, f32, u8 = torch.long, torch.float32, torch.uint8
        return SequenceReplay(
            capacity,
            2 * sizes.max_episode_steps,
            num_slots,
            {
                "obs": (sizes.obs_shape, sizes.obs_dtype),
                "instruction": ((len(sizes.instruction_highs),), u8),
                "prev_action": ((), u8),
                "prev_reward": ((), f32),
                "done": ((), u8),
                "actions": ((), u8),
                "rewards": ((), f32),
            },
            {"env_id": ((), long), "h1": ((H,), f32), "c1": ((H,), f32)},
            self.device,
        )

    def new_slots(self, n: int) -> TrialSlots:
        """Evaluation slots: greedy, h_t for IMPORT, nothing written to replay."""
        return TrialSlots(n, self, training=False)

    # == acting ============================================================================
    def uses_ids(self, trial_index: torch.Tensor) -> torch.Tensor | None:
        """IMPORT's per-trial choice of f(e): even training trials."""
        if self.method != "import":
            return None
        return trial_index % 2 == 0

    @torch.no_grad()
    def act(
        self, slots: TrialSlots, obs, instructions, env_ids, actions=None, offset=None
    ) -> torch.Tensor:
        """Actions [N]: ε-greedy for training slots, greedy (test ε) for evaluation slots, or
        the given `actions` (scripted trials) with the same bookkeeping. `offset`: this rank's
        place among all ranks' acts in the ε schedule (DQNAgent.acting_epsilons)."""
        x = slots.inputs(obs, instructions)
        use_ids = self.uses_ids(slots.trial) if slots.training else None
        q, (h, c) = self.agent.online.step(x, slots.state, env_ids, use_ids, self.generator)
        slots.state = (h, c)
        if slots.training:
            self.agent.record_q(q)
        if actions is None:
            a = epsilon_greedy(
                q,
                self.agent.acting_epsilons(slots.n, slots.training, self.device, offset),
                self.generator,
            )
        else:
            a = actions.to(self.device, torch.long)
        slots.actions = a
        if slots.training:
            rp, t = self.replay, slots.t
            idx = torch.arange(slots.n, device=self.device)
            rp.write_step(
                idx,
                t,
                obs=obs,
                instruction=instructions,
                prev_action=x.prev_action,
                prev_reward=x.prev_reward,
                done=x.done,
                actions=a,
            )
            first = idx[t == 0]
            rp.write_episode(first, env_id=env_ids[first], h1=h[first], c1=c[first])
        return a

    @torch.no_grad()
    def observe(
        self,
        slots: TrialSlots,
        episode,
        rewards,
        ended,
        trial_done,
        next_obs,
        next_instructions,
        number_trials: bool = True,
    ) -> dict:
        """After env.step: `episode` is each slot's episode index when it acted, `rewards` the
        real rewards, `ended` episode ends, `trial_done` trial ends; next_obs/instructions the
        env's (already autoreset) observation. Returns the finished trials' statistics. With
        `number_trials=False` the trials that start now are numbered later, by
        `number_new_trials` (several ranks number them together)."""
        returned = torch.where(episode == 0, torch.zeros_like(rewards), rewards)
        slots.returns += returned
        idx = torch.arange(slots.n, device=self.device)
        if slots.training:
            self.replay.write_step(idx, slots.t, rewards=returned)
        slots.prev_action = torch.where(ended, torch.zeros_like(slots.actions), slots.actions + 1)
        slots.prev_reward = rewards.float()
        slots.done = ended.long()
        out = {}
        fin = idx[trial_done]
        if fin.numel():
            L = slots.t[fin] + 1
            if slots.training:
                # the trial's final next state: what the wrapper returned (a reset state)
                self.replay.write_step(
                    fin,
                    L,
                    obs=next_obs[fin],
                    instruction=next_instructions[fin],
                    prev_action=torch.zeros_like(L),
                    prev_reward=rewards[fin],
                    done=torch.ones_like(L),
                )
                self.replay.commit(fin, L)
            out = {
                "slots": fin,
                "lengths": L,
                "returns": slots.returns[fin].clone(),
                "trials": slots.trial[fin].clone(),
            }
            slots.returns[fin] = 0.0
            slots.state[0][fin] = 0.0
            slots.state[1][fin] = 0.0
            slots.prev_action[fin] = 0
            slots.prev_reward[fin] = 0.0
            slots.done[fin] = 0
            if slots.training and number_trials:
                self.number_new_trials(fin, 0, int(fin.numel()))
        slots.t = torch.where(trial_done, torch.zeros_like(slots.t), slots.t + 1)
        return out

    def number_new_trials(self, slots: torch.Tensor, offset: int, total: int) -> None:
        """Give the trials starting in `slots` the next numbers, after the `offset` trials that
        lower ranks start in this step; `total` start on all ranks."""
        start = self.trials_started + offset
        self.slots.trial[slots] = torch.arange(start, start + slots.numel(), device=self.device)
        self.trials_started += total

    # == learning ==========================================================================
    def learn(self, finished: dict, replay_size: int | None = None) -> int:
        """The gradient steps and target syncs the original makes after each finished trial:
        one `update` call per experience, in trial order; IMPORT's steps after an even trial
        use f(e). `finished` holds "lengths" and "trials" of every rank's finished trials;
        `replay_size` is the size the cadence sees (this rank's replay by default)."""
        if not finished:
            return 0
        steps = 0
        size = len(self.replay) if replay_size is None else replay_size
        for length, trial in zip(list(finished["lengths"]), list(finished["trials"])):
            grads, syncs = self.agent.schedule(int(length), size)
            use_ids = self.method == "import" and trial % 2 == 0
            for _ in range(grads):
                self.update(use_ids)
            if syncs:
                self.agent.sync_target()
            steps += grads
        return steps

    @in_precision
    def update(self, use_ids: bool = False) -> dict:
        agent = self.agent
        b = self.replay.sample(agent.local_batch_size, self.generator)
        lengths, mask = b["lengths"], b["mask"]
        L = mask.shape[1]
        steps = TrialInputs(
            b["obs"], b["instruction"], b["prev_action"], b["prev_reward"], b["done"]
        )
        online_in = steps
        if self.quirks["original_padding"]:
            pos = original_padding_index(lengths, L)
            online_in = steps.index(
                lambda v: v.gather(
                    1, pos.view(*pos.shape, *[1] * (v.dim() - 2)).expand(-1, -1, *v.shape[2:])
                )
            )
        ids_mask = torch.full((lengths.shape[0],), use_ids, dtype=torch.bool, device=self.device)
        q, latent = agent.online.unroll(online_in, None, b["env_id"], ids_mask, self.generator)
        aux = self._aux_losses(agent.online, latent[:, :L], steps, b)
        with torch.no_grad():
            if self.quirks["target_state_from_acting"]:
                q_t, _ = agent.target.unroll(
                    steps.index(lambda v: v[:, 1:]),
                    (b["h1"], b["c1"]),
                    b["env_id"],
                    None,
                    self.generator,
                )
            else:
                q_t = agent.target.unroll(steps, None, b["env_id"], None, self.generator)[0][:, 1:]
        dones = torch.arange(L, device=self.device)[None, :] == (lengths - 1)[:, None]
        td = td_loss(
            q,
            q_t,
            b["actions"][:, :L],
            b["rewards"][:, :L],
            dones,
            mask,
            agent.discount,
            self.dist.mean_denominator,
        )
        agent.optimize(td + sum(aux.values()))
        for k, v in aux.items():
            self.aux_stats[k].append(float(v.detach()))
        return aux

    def _aux_losses(self, net, latent, steps: TrialInputs, b) -> dict:
        if self.method == "import":
            return {"embedding_distance": embedding_distance(latent, net.ids(b["env_id"]))}
        if self.method == "varibad":
            L = latent.shape[1]
            r, s = varibad_decoding_losses(
                net,
                latent,
                steps.obs[:, :L],
                steps.instruction[:, :L],
                b["actions"][:, :L],
                steps.prev_reward[:, 1:],
                steps.obs[:, 1:],
                b["mask"],
            )
            return {"reward_decoding_loss": r, "state_decoding_loss": s}
        return {}

    def parameters_to_check(self) -> list:
        """Tensors every rank must hold identically (online and target networks)."""
        return [
            t for net in (self.agent.online, self.agent.target) for t in net.state_dict().values()
        ]

    # == logging and checkpointing =========================================================
    def summary(self) -> dict:
        """Agent statistics under the original's names (`DQN/<k>`)."""
        out = {f"DQN/{k}": v for k, v in self.agent.summary().items()}
        for k, v in self.aux_stats.items():
            if len(v):
                out[f"DQN/{k}"] = sum(v) / len(v)
        return out

    def state_dict(self) -> dict:
        return {
            "agent": self.agent.state_dict(),
            "replay": self.replay.state_dict(),
            "slots": self.slots.state_dict(),
            "generator": self.generator.get_state(),
            "trials_started": self.trials_started,
            "aux_stats": {k: list(v) for k, v in self.aux_stats.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        self.agent.load_state_dict(state["agent"])
        self.replay.load_state_dict(state["replay"])
        self.slots.load_state_dict(state["slots"])
        self.generator.set_state(state["generator"])
        self.trials_started = state["trials_started"]
        for k, v in state["aux_stats"].items():
            self.aux_stats[k].clear()
            self.aux_stats[k].extend(v)
