"""DREAM's two agents acting on N meta-episode slots at once, and their gradient steps.

Each slot runs exploration episode → exploitation episode → (new task) ... on the batched env.
Per env step, one exploration-net call serves every slot in an exploration episode and one
exploitation-net call every slot in an exploitation episode. The trajectory embedding g_T(τ) is
computed once, when a slot's exploration episode ends (the original recomputes it at every act
step; τ does not change in between, so the values are the same).
"""

from __future__ import annotations

from collections import deque

import torch

from fastmeta.agents.common.device import to_device
from fastmeta.agents.common.distributed import Dist
from fastmeta.agents.common.dqn import build_agent, epsilon_greedy, rank_seed, td_loss
from fastmeta.agents.common.env_sizes import NetSizes
from fastmeta.agents.common.precision import check_precision, in_precision
from fastmeta.agents.common.sequence_replay import SequenceReplay
from fastmeta.agents.common.slot_state import SlotState
from fastmeta.agents.dream.q_networks import ExploitationQNet, ExplorationQNet
from fastmeta.agents.dream.trajectory_embedder import rewards_from_distances


def build_networks(config: dict, sizes: NetSizes):
    """The exploitation and exploration Q-networks of `config` for an env of `sizes`."""
    quirks = config["fastmeta"]["quirks"]
    ip = config["instruction_agent"]["policy"]["embedder"]
    ep = config["exploration_agent"]["policy"]["embedder"]
    exploit = ExploitationQNet(
        sizes.obs_kind,
        sizes.obs_highs,
        sizes.instruction_highs,
        (sizes.num_tasks,),
        sizes.num_actions,
        obs_dim=ip["obs_embedder"]["embed_dim"],
        instruction_dim=ip["instruction_embedder"]["embed_dim"],
        transition_state_dim=ip["transition_embedder"]["state_embed_dim"],
        transition_action_dim=ip["transition_embedder"]["action_embed_dim"],
        transition_dim=ip["transition_embedder"]["embed_dim"],
        embed_dim=ip["embed_dim"],
        penalty=ip["trajectory_embedder"]["penalty"],
        whole_tensor_mean=quirks["whole_tensor_dueling_mean"],
        unused_linear=quirks["unused_linear"],
    )
    explore = ExplorationQNet(
        sizes.obs_kind,
        sizes.obs_highs,
        sizes.num_actions,
        state_dim=ep["experience_embedder"]["state_embed_dim"],
        action_dim=ep["experience_embedder"]["action_embed_dim"],
        experience_dim=ep["experience_embedder"]["embed_dim"],
        hidden=ep["embed_dim"],
        whole_tensor_mean=quirks["whole_tensor_dueling_mean"],
        unused_linear=quirks["unused_linear"],
    )
    return exploit, explore


class Slots(SlotState):
    """Acting state of N meta-episode slots (hidden states, step counters, g_T per slot) and
    the replays whose staging rows hold their running episodes. Training slots commit finished
    episodes to the learner's replays; evaluation slots get staging-only replays of their own."""

    def __init__(self, n: int, learner: "DreamLearner", training: bool):
        dev = learner.device
        self.n = n
        self.training = training
        if training:
            self.explore_replay, self.exploit_replay = (
                learner.explore_replay,
                learner.exploit_replay,
            )
        else:
            self.explore_replay, self.exploit_replay = learner.make_replays(n, capacity=1)
        self.t = torch.zeros(n, dtype=torch.long, device=dev)
        self.explore_state = learner.explore.online.lstm.zeros(n, dev)
        self.exploit_state = learner.exploit.online.lstm.zeros(n, dev)
        self.prev_action = torch.zeros(n, dtype=torch.long, device=dev)  # a_{t-1} + 1
        self.z_trajectory = torch.zeros(n, learner.exploit.online.trajectory.embed_dim, device=dev)
        self.meta_episodes = torch.zeros(n, dtype=torch.long, device=dev)
        self.returns = torch.zeros(n, dtype=torch.float64, device=dev)


class DreamLearner:
    def __init__(
        self, config: dict, sizes: NetSizes, num_slots: int, device="cpu", dist: Dist | None = None
    ):
        self.config = config
        self.sizes = sizes
        self.device = torch.device(device)
        self.dist = dist or Dist()
        self.precision = check_precision(config["fastmeta"].get("precision", "fp32"))
        self.quirks = config["fastmeta"]["quirks"]
        self.ids_in_updates = config["fastmeta"]["ids_in_updates"]
        exploit_net, explore_net = build_networks(config, sizes)
        self.exploit = build_agent(
            exploit_net.to(self.device), config["instruction_agent"], self.quirks, self.dist
        )
        self.explore = build_agent(
            explore_net.to(self.device), config["exploration_agent"], self.quirks, self.dist
        )
        self.exploit.dist = self.dist
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(rank_seed(int(config["fastmeta"]["seed"]), self.dist.rank))
        self.explore_replay, self.exploit_replay = self.make_replays(num_slots)
        self.slots = Slots(num_slots, self, training=True)
        self.aux_stats = {
            "transition_context_loss": deque(maxlen=1000),
            "id_context_loss": deque(maxlen=1000),
        }

    def make_replays(self, num_slots: int, capacity: int | None = None):
        """The exploration and exploitation replays (episode capacity from the config)."""
        sizes, cfg = self.sizes, self.config
        T, D, dt = sizes.max_episode_steps, sizes.obs_shape, sizes.obs_dtype
        He, Hx = self.explore.online.lstm.hidden_size, self.exploit.online.lstm.hidden_size
        long, f32, u8 = torch.long, torch.float32, torch.uint8
        share = self.dist.world  # each rank keeps its share of the episodes
        explore = SequenceReplay(
            capacity or -(-cfg["exploration_agent"]["buffer"]["max_buffer_size"] // share),
            T,
            num_slots,
            {"obs": (D, dt), "actions": ((), u8)},
            {"env_id": ((), long), "h1": ((He,), f32), "c1": ((He,), f32)},
            self.device,
        )
        exploit = SequenceReplay(
            capacity or -(-cfg["instruction_agent"]["buffer"]["max_buffer_size"] // share),
            T,
            num_slots,
            {"obs": (D, dt), "actions": ((), u8), "rewards": ((), f32)},
            {
                "env_id": ((), long),
                "instruction": ((len(sizes.instruction_highs),), long),
                "traj_obs": ((T + 1, *D), dt),
                "traj_actions": ((T + 1,), u8),
                "traj_len": ((), long),
                "h1": ((Hx,), f32),
                "c1": ((Hx,), f32),
            },
            self.device,
        )
        return explore, exploit

    # == acting ============================================================================
    @torch.no_grad()
    def act(self, slots: Slots, obs, episode, instructions, env_ids, offsets=None) -> torch.Tensor:
        """Actions [N] for every slot; episode 0 slots explore, the others exploit.
        Training slots act ε-greedily; evaluation slots greedily (test ε) on g_T. On several
        ranks, `offsets` = ((explore offset, total), (exploit offset, total)) places this rank's
        acts among all ranks' in the ε schedules."""
        training = slots.training
        actions = torch.zeros(slots.n, dtype=torch.long, device=self.device)
        xi = torch.nonzero(episode == 0).squeeze(1)
        ui = torch.nonzero(episode != 0).squeeze(1)
        if xi.numel():
            actions[xi] = self._act_explore(
                slots, xi, obs[xi], env_ids[xi], training, offsets and offsets[0]
            )
        if ui.numel():
            actions[ui] = self._act_exploit(
                slots, ui, obs[ui], instructions[ui], env_ids[ui], training, offsets and offsets[1]
            )
        return actions

    def _act_explore(self, slots, idx, obs, env_ids, training, offset=None):
        agent = self.explore
        state = (slots.explore_state[0][idx], slots.explore_state[1][idx])
        q, (h, c) = agent.online.step(obs, slots.prev_action[idx], state)
        slots.explore_state[0][idx], slots.explore_state[1][idx] = h, c
        if training:
            agent.record_q(q)
        a = epsilon_greedy(
            q, agent.acting_epsilons(idx.numel(), training, self.device, offset), self.generator
        )
        slots.prev_action[idx] = a + 1
        t = slots.t[idx]
        slots.explore_replay.write_step(idx, t, obs=obs, actions=a)
        first = t == 0
        slots.explore_replay.write_episode(
            idx[first], env_id=env_ids[first], h1=h[first], c1=c[first]
        )
        return a

    def _act_exploit(self, slots, idx, obs, instructions, env_ids, training, offset=None):
        agent = self.exploit
        net = agent.online
        z = slots.z_trajectory[idx]
        if training:
            # Odd meta-episodes act (and, in the original, learn) on the noisy problem id f(e).
            odd = (slots.meta_episodes[idx] % 2 == 1)[:, None]
            z_ids = net.trajectory.noisy_ids(net.trajectory.id_embedding(env_ids), self.generator)
            z = torch.where(odd, z_ids, z)
        state = (slots.exploit_state[0][idx], slots.exploit_state[1][idx])
        q, (h, c) = net.step(obs, instructions, z, state)
        slots.exploit_state[0][idx], slots.exploit_state[1][idx] = h, c
        if training:
            agent.record_q(q)
        a = epsilon_greedy(
            q, agent.acting_epsilons(idx.numel(), training, self.device, offset), self.generator
        )
        t = slots.t[idx]
        slots.exploit_replay.write_step(idx, t, obs=obs, actions=a)
        first = t == 0
        slots.exploit_replay.write_episode(
            idx[first],
            env_id=env_ids[first],
            instruction=instructions[first],
            h1=h[first],
            c1=c[first],
        )
        return a

    def interact(self, slots: Slots, env, put=None, offsets=None) -> tuple:
        """One vector step on the native env `env`: act for every slot, step the env, observe.
        `put(name, array, dtype=None)` moves a host buffer to the device (default: a copy; the
        trainer passes its pinned `HostToDevice.put`). Returns (the episode index each slot acted
        in, as a host array, and `observe`'s finished-episode statistics)."""
        if put is None:
            put = lambda name, x, dtype=None: to_device(x, self.device, dtype)  # noqa: E731
        episode = env.episode_index.copy()
        acted_in = put("episode", episode)
        a = self.act(
            slots,
            put("obs", env.obs),
            acted_in,
            put("instructions", env.instructions),
            put("task_ids", env.task_ids),
            offsets=offsets,
        )
        _, rew, term, trunc, _ = env.step(a.cpu().numpy())
        out = self.observe(
            slots,
            acted_in,
            put("rew", rew, torch.float64),
            put("done", term | trunc),
            put("final_obs", env.final_obs),
        )
        return episode, out

    @torch.no_grad()
    def observe(self, slots: Slots, episode, rewards, done, final_obs) -> dict:
        """Book-keeping after env.step: store rewards and final observations, close finished
        episodes, compute g_T for finished exploration episodes. `episode` is the episode index
        each slot was in when it acted. Returns finished-episode statistics."""
        out = {}
        explore = episode == 0
        slots.returns += torch.where(explore, torch.zeros_like(rewards), rewards)
        ui = torch.nonzero(~explore).squeeze(1)
        slots.exploit_replay.write_step(ui, slots.t[ui], rewards=rewards[ui])
        xe = torch.nonzero(done & explore).squeeze(1)
        ue = torch.nonzero(done & ~explore).squeeze(1)
        length = slots.t + 1
        if xe.numel():
            L = length[xe]
            rp = slots.explore_replay
            rp.write_step(xe, L, obs=final_obs[xe])
            obs_tau = rp.stage_steps["obs"][xe, : int(L.max()) + 1]
            act_tau = rp.stage_steps["actions"][xe, : int(L.max()) + 1]
            if slots.training:
                rp.commit(xe, L)
            traj = self.exploit.online.trajectory
            g_all = traj.all_steps(obs_tau, act_tau)
            slots.z_trajectory[xe] = traj.final(g_all, L)
            f = traj.id_embedding(rp.stage_episodes["env_id"][xe])
            out["explore_lengths"] = L
            out["explore_rewards"] = rewards_from_distances(g_all, f, L, traj.penalty).sum(1)
            out["explore_slots"] = xe
            slots.exploit_replay.write_episode(
                xe,
                traj_obs=rp.stage_steps["obs"][xe],
                traj_actions=rp.stage_steps["actions"][xe],
                traj_len=L,
            )
            slots.explore_state[0][xe] = 0.0
            slots.explore_state[1][xe] = 0.0
            slots.prev_action[xe] = 0
        if ue.numel():
            L = length[ue]
            slots.exploit_replay.write_step(ue, L, obs=final_obs[ue])
            if slots.training:
                slots.exploit_replay.commit(ue, L)
            out["exploit_returns"] = slots.returns[ue].clone()
            out["exploit_lengths"] = L
            out["exploit_slots"] = ue
            slots.returns[ue] = 0.0
            slots.meta_episodes[ue] += 1
            slots.exploit_state[0][ue] = 0.0
            slots.exploit_state[1][ue] = 0.0
        slots.t = torch.where(done, torch.zeros_like(slots.t), slots.t + 1)
        return out

    # == learning ===========================================================================
    def learn(
        self,
        explore_added: int,
        exploit_added: int,
        explore_size: int | None = None,
        exploit_size: int | None = None,
    ) -> int:
        """Make the gradient steps and target syncs the original makes for these experiences
        (counted over all ranks; `*_size`: the replay sizes the cadence sees, this rank's own by
        default)."""
        steps = 0
        for agent, size, added, update in (
            (self.explore, explore_size, explore_added, self.explore_update),
            (self.exploit, exploit_size, exploit_added, self.exploit_update),
        ):
            replay = self.explore_replay if agent is self.explore else self.exploit_replay
            grads, syncs = agent.schedule(added, len(replay) if size is None else size)
            for _ in range(grads):
                update()
            if syncs:
                agent.sync_target()
            steps += grads
        return steps

    def _ids_mask(self, n: int) -> torch.Tensor:
        if self.ids_in_updates == "alternate":
            use = self.exploit.gradient_steps % 2 == 1
            return torch.full((n,), use, dtype=torch.bool, device=self.device)
        return torch.rand(n, device=self.device, generator=self.generator) < 0.5

    @in_precision
    def exploit_update(self) -> None:
        agent = self.exploit
        b = self.exploit_replay.sample(agent.local_batch_size, self.generator)
        net, tgt = agent.online, agent.target
        lengths, tlen = b["lengths"], b["traj_len"]
        Lx = int(tlen.max())
        tobs, tact = b["traj_obs"][:, : Lx + 1], b["traj_actions"][:, : Lx + 1]
        g_all = net.trajectory.all_steps(tobs, tact)
        f = net.trajectory.id_embedding(b["env_id"])
        use_ids = self._ids_mask(f.shape[0])[:, None]
        z = torch.where(
            use_ids, net.trajectory.noisy_ids(f, self.generator), net.trajectory.final(g_all, tlen)
        )
        q = net.unroll(b["obs"], b["instruction"], z)
        l_tc, l_id = net.trajectory.context_losses(g_all, f, tlen, self.dist.mean_denominator)
        with torch.no_grad():
            f_t = tgt.trajectory.id_embedding(b["env_id"])
            z_t = tgt.trajectory.noisy_ids(f_t, self.generator)
            if not self.quirks["target_noisy_ids"]:
                g_t = tgt.trajectory.final(tgt.trajectory.all_steps(tobs, tact), tlen)
                z_t = torch.where(use_ids, z_t, g_t)
            if self.quirks["target_state_from_acting"]:
                q_t = tgt.unroll(b["obs"][:, 1:], b["instruction"], z_t, (b["h1"], b["c1"]))
            else:
                q_t = tgt.unroll(b["obs"], b["instruction"], z_t)[:, 1:]
        L = q.shape[1] - 1
        dones = torch.arange(L, device=self.device)[None, :] == (lengths - 1)[:, None]
        td = td_loss(
            q,
            q_t,
            b["actions"][:, :L],
            b["rewards"][:, :L],
            dones,
            b["mask"],
            agent.discount,
            self.dist.mean_denominator,
        )
        agent.optimize(td + l_tc + l_id)
        self.aux_stats["transition_context_loss"].append(float(l_tc.detach()))
        self.aux_stats["id_context_loss"].append(float(l_id.detach()))

    @in_precision
    def explore_update(self) -> None:
        agent = self.explore
        b = self.explore_replay.sample(agent.local_batch_size, self.generator)
        lengths, obs, actions = b["lengths"], b["obs"], b["actions"]
        rewards = self.exploit.online.trajectory.relabeled_rewards(
            obs, actions, lengths, b["env_id"]
        )
        prev = torch.cat([torch.zeros_like(actions[:, :1]), actions[:, :-1].long() + 1], 1)
        q = agent.online.unroll(obs, prev)
        with torch.no_grad():
            if self.quirks["target_state_from_acting"]:
                q_t = agent.target.unroll(obs[:, 1:], prev[:, 1:], (b["h1"], b["c1"]))
            else:
                q_t = agent.target.unroll(obs, prev)[:, 1:]
        L = q.shape[1] - 1
        dones = torch.arange(L, device=self.device)[None, :] == (lengths - 1)[:, None]
        agent.optimize(
            td_loss(
                q,
                q_t,
                actions[:, :L],
                rewards,
                dones,
                b["mask"],
                agent.discount,
                self.dist.mean_denominator,
            )
        )

    def parameters_to_check(self) -> list:
        """Tensors every rank must hold identically (online and target networks)."""
        return [
            t
            for agent in (self.exploit, self.explore)
            for net in (agent.online, agent.target)
            for t in net.state_dict().values()
        ]

    # == checkpointing ======================================================================
    def state_dict(self) -> dict:
        return {
            "exploit": self.exploit.state_dict(),
            "explore": self.explore.state_dict(),
            "explore_replay": self.explore_replay.state_dict(),
            "exploit_replay": self.exploit_replay.state_dict(),
            "slots": self.slots.state_dict(),
            "generator": self.generator.get_state(),
            "aux_stats": {k: list(v) for k, v in self.aux_stats.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        self.exploit.load_state_dict(state["exploit"])
        self.explore.load_state_dict(state["explore"])
        self.explore_replay.load_state_dict(state["explore_replay"])
        self.exploit_replay.load_state_dict(state["exploit_replay"])
        self.slots.load_state_dict(state["slots"])
        self.generator.set_state(state["generator"])
        for k, v in state["aux_stats"].items():
            self.aux_stats[k].clear()
            self.aux_stats[k].extend(v)
