"""PPO with an LSTM policy on any fastmeta env, through Gymnasium's vector API.

    python examples/ppo_meta.py --env-id fastmeta/MapBus-v0 --total-timesteps 1000000

The env is `gymnasium.make_vec(env_id, num_envs=...)`. One Gymnasium episode is one meta-RL
*trial* (several episodes on one task), so the LSTM state lives for a whole trial and is zeroed
when a new trial starts: what the policy learns in the first episodes it can use in the later
ones. The Dict observation (observation, instruction, prev_action, prev_reward, episode_start,
trial_start) is encoded key by key, with one-hot codes for discrete values. The reported return
is the trial's; for the DREAM grids the registry zeroes the first (exploration) episode's reward,
so it is the exploitation episode's return (best 0.8 on MapBus, about -2 for a random policy).

Autoreset is Gymnasium's NEXT_STEP: when step t ends a trial, step t+1 is a *reset step* whose
observation is the ended trial's last one, whose action is ignored and whose reward is 0. Reset
steps are stored like every other step but masked out of every loss term.
"""

import argparse
import ast
import dataclasses
import inspect
import random
import time
from collections import deque

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
from torch.distributions import Categorical

import fastmeta  # noqa: F401  (registers the fastmeta/* ids with Gymnasium)


@dataclasses.dataclass
class Args:
    env_id: str = "fastmeta/MapBus-v0"
    """the Gymnasium id of the env"""
    seed: int = 1
    """seed of the env slots, numpy and torch"""
    total_timesteps: int = 1_000_000
    """env steps to train for, over all slots"""
    num_envs: int = 64
    """parallel env slots"""
    num_steps: int = 128
    """steps per slot in each rollout"""
    learning_rate: float = 1e-3
    """Adam learning rate"""
    anneal_lr: bool = True
    """decay the learning rate linearly to 0"""
    gamma: float = 0.99
    """discount factor"""
    gae_lambda: float = 0.95
    """lambda of generalized advantage estimation"""
    num_minibatches: int = 4
    """minibatches per epoch (each holds whole slots, so it divides num_envs)"""
    update_epochs: int = 4
    """passes over each rollout"""
    clip_coef: float = 0.2
    """PPO's ratio clipping"""
    ent_coef: float = 0.01
    """weight of the entropy bonus"""
    vf_coef: float = 0.5
    """weight of the value loss"""
    max_grad_norm: float = 0.5
    """gradient clipping norm"""
    hidden_size: int = 128
    """width of the embedding and of the LSTM"""
    torch_threads: int = 1
    """torch CPU threads (one is fastest for a network this small)"""


def parse_args() -> Args:
    """Each Args field is a --flag (underscores as dashes); its docstring is the help text."""
    body = ast.parse(inspect.getsource(Args)).body[0].body
    docs = {
        a.target.id: b.value.value
        for a, b in zip(body, body[1:])
        if isinstance(a, ast.AnnAssign) and isinstance(b, ast.Expr)
    }
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for f in dataclasses.fields(Args):
        kind = (lambda s: s.lower() in ("1", "true", "yes")) if f.type is bool else f.type
        parser.add_argument(
            "--" + f.name.replace("_", "-"),
            type=kind,
            default=f.default,
            help=f"{docs.get(f.name, '')} (default: {f.default})",
        )
    return Args(**vars(parser.parse_args()))


# ---- plumbing: Dict observation -> one float vector per slot ----------------------------------
class DictEncoder:
    """Discrete keys and integer Boxes with at most `max_categories` values per component become
    one-hot codes (one per component); other Boxes are scaled to [0, 1] where both bounds are
    finite (images, distances) and passed through where not (prev_reward)."""

    def __init__(self, space: gym.spaces.Dict, max_categories: int = 64):
        self.onehot = []  # (key, code index of value 0 per component, code width)
        self.scaled = []  # (key, low, width) per component
        for key, sub in space.spaces.items():
            if isinstance(sub, gym.spaces.Discrete):
                low, high = np.array([sub.start]), np.array([sub.start + sub.n - 1])
            else:
                low, high = sub.low.ravel(), sub.high.ravel().astype(np.float64)
            if isinstance(sub, gym.spaces.Discrete) or (
                np.issubdtype(sub.dtype, np.integer) and np.all(high - low < max_categories)
            ):
                count = (high - low + 1).astype(np.int64)
                offset = np.cumsum(count) - count - low.astype(np.int64)
                self.onehot.append((key, torch.as_tensor(offset), int(count.sum())))
            else:
                finite = np.isfinite(low) & np.isfinite(high)
                width = np.where(finite, high - low, 1.0).clip(1e-8)
                low = np.where(finite, low, 0.0)
                self.scaled.append(
                    (
                        key,
                        torch.tensor(low, dtype=torch.float32),
                        torch.tensor(width, dtype=torch.float32),
                    )
                )
        self.size = sum(w for *_, w in self.onehot) + sum(len(low) for _, low, _ in self.scaled)

    def __call__(self, obs: dict) -> torch.Tensor:
        n = len(next(iter(obs.values())))
        parts = []
        for key, offset, width in self.onehot:
            x = torch.as_tensor(obs[key]).reshape(n, -1).long()
            parts.append(torch.zeros(n, width).scatter_(1, x + offset, 1.0))
        for key, low, width in self.scaled:
            parts.append((torch.as_tensor(obs[key]).reshape(n, -1).float() - low) / width)
        return torch.cat(parts, 1)


# ---- the agent: embedding -> LSTM over the trial -> actor and critic heads ---------------------
def layer_init(layer: nn.Linear, std: float = np.sqrt(2), bias: float = 0.0) -> nn.Linear:
    nn.init.orthogonal_(layer.weight, std)
    nn.init.constant_(layer.bias, bias)
    return layer


class Agent(nn.Module):
    def __init__(self, obs_size: int, num_actions: int, hidden: int):
        super().__init__()
        self.embed = nn.Sequential(layer_init(nn.Linear(obs_size, hidden)), nn.Tanh())
        self.lstm = nn.LSTMCell(hidden, hidden)
        for name, param in self.lstm.named_parameters():
            if "bias" in name:
                nn.init.constant_(param, 0.0)
            else:
                nn.init.orthogonal_(param, 1.0)
        self.actor = layer_init(nn.Linear(hidden, num_actions), std=0.01)
        self.critic = layer_init(nn.Linear(hidden, 1), std=1.0)

    def features(self, x, lstm_state, starts):
        """x: (T * B, obs_size) in time-major order, starts: (T * B,), 1 where a trial begins
        (the state is zeroed before that step). Returns (T * B, hidden) and the last state."""
        batch = lstm_state[0].shape[0]
        hidden = self.embed(x).reshape(-1, batch, self.lstm.input_size)
        outputs = []
        for h, start in zip(hidden, starts.reshape(-1, batch)):
            keep = (1.0 - start).unsqueeze(1)
            lstm_state = self.lstm(h, (keep * lstm_state[0], keep * lstm_state[1]))
            outputs.append(lstm_state[0])
        return torch.cat(outputs), lstm_state

    def get_value(self, x, lstm_state, starts):
        return self.critic(self.features(x, lstm_state, starts)[0]).flatten()

    def get_action_and_value(self, x, lstm_state, starts, action=None):
        hidden, lstm_state = self.features(x, lstm_state, starts)
        dist = Categorical(logits=self.actor(hidden))
        if action is None:
            action = dist.sample()
        value = self.critic(hidden).flatten()
        return action, dist.log_prob(action), dist.entropy(), value, lstm_state


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (x * mask).sum() / mask.sum().clamp(min=1.0)


def main() -> None:
    args = parse_args()
    # ---- derived sizes ----
    batch_size = args.num_envs * args.num_steps
    num_iterations = max(1, args.total_timesteps // batch_size)
    if args.num_envs % args.num_minibatches:
        raise SystemExit(
            f"--num-minibatches {args.num_minibatches} must divide --num-envs {args.num_envs}"
        )
    envs_per_minibatch = args.num_envs // args.num_minibatches

    torch.set_num_threads(args.torch_threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)

    # ---- env: the Gymnasium vector view, nothing env-specific ----
    envs = gym.wrappers.vector.RecordEpisodeStatistics(
        gym.make_vec(args.env_id, num_envs=args.num_envs)
    )
    assert isinstance(envs.single_action_space, gym.spaces.Discrete), "discrete actions only"
    encoder = DictEncoder(envs.single_observation_space)
    agent = Agent(encoder.size, int(envs.single_action_space.n), args.hidden_size)
    optimizer = torch.optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5)

    # ---- storage, (num_steps, num_envs, ...) ----
    shape = (args.num_steps, args.num_envs)
    obs = torch.zeros(shape + (encoder.size,))
    actions = torch.zeros(shape, dtype=torch.long)
    logprobs, rewards, values = torch.zeros(shape), torch.zeros(shape), torch.zeros(shape)
    dones = torch.zeros(shape)  # 1: the step ended a trial (terminated or truncated: the
    #    trial's step limit is part of the task, not bootstrapped)
    starts = torch.zeros(shape)  # 1: the step's observation is a trial's first (LSTM state zeroed)
    valid = torch.zeros(shape)  # 0: a reset step (NEXT_STEP autoreset), left out of the loss

    global_step, start_time = 0, time.time()
    trial_returns = deque(maxlen=100)
    next_obs = encoder(envs.reset(seed=args.seed)[0])
    next_start, next_valid = torch.ones(args.num_envs), torch.ones(args.num_envs)
    zeros = torch.zeros(args.num_envs, args.hidden_size)
    next_lstm_state = (zeros.clone(), zeros.clone())

    for iteration in range(1, num_iterations + 1):
        initial_lstm_state = (next_lstm_state[0].clone(), next_lstm_state[1].clone())
        if args.anneal_lr:
            frac = 1.0 - (iteration - 1) / num_iterations
            optimizer.param_groups[0]["lr"] = frac * args.learning_rate

        # ---- algorithm: rollout ----
        for step in range(args.num_steps):
            global_step += args.num_envs
            obs[step], starts[step], valid[step] = next_obs, next_start, next_valid
            with torch.no_grad():
                action, logprob, _, value, next_lstm_state = agent.get_action_and_value(
                    next_obs, next_lstm_state, next_start
                )
            actions[step], logprobs[step], values[step] = action, logprob, value
            raw_obs, reward, terminated, truncated, info = envs.step(action.numpy())
            done = np.logical_or(terminated, truncated)
            rewards[step] = torch.as_tensor(reward, dtype=torch.float32)
            dones[step] = torch.as_tensor(done, dtype=torch.float32)
            next_obs = encoder(raw_obs)
            next_start = 1.0 - next_valid  # the observation after a reset step opens a new trial
            next_valid = 1.0 - dones[step]  # the step after a trial's end is a reset step
            if "_episode" in info:
                trial_returns.extend(info["episode"]["r"][info["_episode"]].tolist())

        # ---- algorithm: generalized advantage estimation ----
        with torch.no_grad():
            next_value = agent.get_value(next_obs, next_lstm_state, next_start)
            advantages = torch.zeros_like(rewards)
            lastgaelam = torch.zeros(args.num_envs)
            for t in reversed(range(args.num_steps)):
                next_values = next_value if t == args.num_steps - 1 else values[t + 1]
                nonterminal = 1.0 - dones[t]
                delta = rewards[t] + args.gamma * next_values * nonterminal - values[t]
                lastgaelam = delta + args.gamma * args.gae_lambda * nonterminal * lastgaelam
                advantages[t] = lastgaelam
            returns = advantages + values

        # ---- algorithm: PPO update on minibatches of whole slots (sequences stay intact) ----
        b_obs = obs.reshape(-1, encoder.size)
        b_actions, b_logprobs = actions.reshape(-1), logprobs.reshape(-1)
        b_starts, b_valid = starts.reshape(-1), valid.reshape(-1)
        b_advantages, b_returns = advantages.reshape(-1), returns.reshape(-1)
        flat_index = np.arange(batch_size).reshape(args.num_steps, args.num_envs)
        env_order = np.arange(args.num_envs)
        clipfracs = []
        for _ in range(args.update_epochs):
            np.random.shuffle(env_order)
            for first in range(0, args.num_envs, envs_per_minibatch):
                mb_envs = env_order[first : first + envs_per_minibatch]
                mb = torch.as_tensor(flat_index[:, mb_envs].ravel())
                _, newlogprob, entropy, newvalue, _ = agent.get_action_and_value(
                    b_obs[mb],
                    (initial_lstm_state[0][mb_envs], initial_lstm_state[1][mb_envs]),
                    b_starts[mb],
                    b_actions[mb],
                )
                mask = b_valid[mb]
                logratio = newlogprob - b_logprobs[mb]
                ratio = logratio.exp()
                with torch.no_grad():
                    approx_kl = masked_mean((ratio - 1) - logratio, mask)
                    clipped = ((ratio - 1.0).abs() > args.clip_coef).float()
                    clipfracs.append(masked_mean(clipped, mask).item())

                mb_adv = b_advantages[mb]
                adv_mean = masked_mean(mb_adv, mask)
                adv_std = masked_mean((mb_adv - adv_mean) ** 2, mask).sqrt()
                mb_adv = (mb_adv - adv_mean) / (adv_std + 1e-8)
                clipped_ratio = ratio.clamp(1 - args.clip_coef, 1 + args.clip_coef)
                pg_loss = masked_mean(torch.max(-mb_adv * ratio, -mb_adv * clipped_ratio), mask)
                v_loss = 0.5 * masked_mean((newvalue - b_returns[mb]) ** 2, mask)
                entropy_loss = masked_mean(entropy, mask)
                loss = pg_loss - args.ent_coef * entropy_loss + args.vf_coef * v_loss

                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
                optimizer.step()

        # ---- plumbing: logging ----
        sps = int(global_step / (time.time() - start_time))
        mean_return = np.mean(trial_returns) if trial_returns else float("nan")
        print(
            f"iteration {iteration}/{num_iterations} global_step={global_step} SPS={sps} "
            f"trial_return={mean_return:.3f} value_loss={v_loss.item():.4f} "
            f"entropy={entropy_loss.item():.3f} approx_kl={approx_kl.item():.4f} "
            f"clipfrac={np.mean(clipfracs):.3f}",
            flush=True,
        )

    envs.close()
    print(
        f"final mean trial return (last {len(trial_returns)} trials): "
        f"{np.mean(trial_returns) if trial_returns else float('nan'):.3f}"
    )


if __name__ == "__main__":
    main()
