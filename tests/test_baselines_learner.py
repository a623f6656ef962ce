"""The baseline learner on scripted and random trials: trial inputs (spec §2.7, §8.17-18),
IMPORT's id/recurrent alternation, VariBAD's decoding losses, the original's padding."""

import copy

import numpy as np
import pytest
import torch

import fastmeta
from fastmeta.agents.baselines import config as C
from fastmeta.agents.baselines.encoders import TrialInputs
from fastmeta.agents.baselines.learner import BaselineLearner
from fastmeta.agents.baselines.losses import embedding_distance, original_padding_index
from fastmeta.agents.common.device import to_device as _t
from fastmeta.agents.common.env_sizes import net_sizes
from fastmeta.registry import make_vector

# tiny matmuls: one thread avoids OpenMP hand-offs that dominate on a busy machine
torch.set_num_threads(1)

UP, DOWN, LEFT, RIDE, NOOP, END = 1, 3, 0, 5, 4, 6
SMALL = [
    "agent.min_buffer_size=1",
    "agent.batch_size=4",
    "agent.update_freq=1",
    "agent.buffer.max_buffer_size=32",
]


def make(method, env_name="distraction", n=2, bindings=(), seed=0):
    cfg = C.resolve(method, "fast", environment=env_name, bindings=list(SMALL) + list(bindings))
    cfg["fastmeta"]["seed"] = seed
    env = fastmeta.make(env_name, num_envs=n, seed=seed, split="train", episodes_per_trial=2)
    torch.manual_seed(seed)
    return BaselineLearner(cfg, net_sizes(env), n), env


def step(learner, env, actions=None):
    """One vector step as the trainer makes it; returns the finished-trial statistics."""
    episode = env.episode_index.copy()
    a = learner.act(
        learner.slots,
        _t(env.obs, "cpu"),
        _t(env.instructions, "cpu"),
        _t(env.tasks, "cpu"),
        None if actions is None else torch.as_tensor(actions),
    )
    _, rew, term, trunc, info = env.step(a.numpy())
    return learner.observe(
        learner.slots,
        _t(episode, "cpu"),
        _t(rew, "cpu", torch.float64),
        _t(term | trunc, "cpu"),
        _t(info["trial_done"], "cpu"),
        _t(env.obs, "cpu"),
        _t(env.instructions, "cpu"),
    )


# Two hand-made trials in distraction env 100 (spec §2.2's golden env), goals pinned.
# slot 0: episode 1 = up, ride_bus, end (−0.1 −0.1 −(0.1 + 17·0.1)); episode 2 = left, end.
# slot 1: episode 1 = end at once (−2.0); episode 2 = noop, noop, noop, end.
SCRIPT = [[UP, END], [RIDE, NOOP], [END, NOOP], [LEFT, NOOP], [END, END]]
REAL = [
    [-0.1, -0.1, -0.1 - 17 * 0.1, -0.1, -0.1 - 18 * 0.1],
    [-0.1 - 19 * 0.1, -0.1, -0.1, -0.1, -0.1 - 16 * 0.1],
]
EP1_LEN = [3, 1]


def scripted(method, bindings=()):
    learner, env = make(method, bindings=bindings)
    env.reset(
        seed=0,
        tasks=np.array([100, 100]),
        instructions=np.array([[[8, 8], [0, 0]], [[0, 8], [8, 0]]]),
    )
    outs = [step(learner, env, a) for a in SCRIPT]
    return learner, env, outs


def test_scripted_trials_are_stored_as_the_original_wrapper_returns_them():
    learner, _, outs = scripted("rl2")
    assert outs[-1]["slots"].tolist() == [0, 1] and outs[-1]["lengths"].tolist() == [5, 5]
    rp = learner.replay
    for k in range(2):
        row = {f: v[k, :6] for f, v in rp.steps.items()}
        e1 = EP1_LEN[k]
        real = torch.tensor(REAL[k])
        # the reward learned from is zeroed in episode 1; the observed prev_reward is real
        expect = torch.where(torch.arange(5) < e1, 0.0, real).float()
        torch.testing.assert_close(row["rewards"][:5], expect)
        torch.testing.assert_close(row["prev_reward"], torch.cat([torch.zeros(1), real]).float())
        assert row["done"].tolist() == [1 if t in (e1, 5) else 0 for t in range(6)]
        acts = [SCRIPT[t][k] for t in range(5)]
        assert row["prev_action"].tolist() == [0] + [
            0 if t + 1 in (e1, 5) else acts[t] + 1 for t in range(5)
        ]
        assert row["actions"][:5].tolist() == acts
        # each episode's own instruction; every episode starts at (4, 4)
        goals = [[[8, 8], [0, 0]], [[0, 8], [8, 0]]][k]
        assert [row["instruction"][t].tolist() for t in (0, e1)] == goals
        assert row["obs"][0].tolist() == [4, 4, 0] and row["obs"][e1].tolist() == [4, 4, 0]
    assert rp.steps["obs"][0, 2].tolist() == [0, 1, 1]  # rode S0 → (0, 1) in env 100
    assert outs[-1]["returns"].tolist() == pytest.approx([sum(REAL[0][3:]), sum(REAL[1][1:])])


def test_inputs_match_the_trial_view_on_random_actions():
    n, seed = 6, 11
    learner, env = make("rl2", n=n, seed=seed)
    # the Gymnasium view of the same env (first-episode rewards zeroed, as the baselines train)
    view = make_vector(
        "distraction", num_envs=n, seed=seed, episodes_per_trial=2, autoreset_mode="same_step"
    )
    obs, _ = view.reset(seed=seed)
    env.reset(seed=seed)
    rng = np.random.default_rng(0)
    finished = 0
    for _ in range(150):
        x = learner.slots.inputs(_t(env.obs, "cpu"), _t(env.instructions, "cpu"))
        assert np.array_equal(x.obs.numpy(), obs["observation"])
        assert np.array_equal(x.instruction.numpy(), obs["instruction"])
        assert np.array_equal(x.prev_action.numpy(), obs["prev_action"])
        assert np.allclose(x.prev_reward.numpy(), obs["prev_reward"][:, 0])
        # done = 1 at the first step of a later episode of the trial
        assert np.array_equal(x.done.numpy(), obs["episode_start"] & (1 - obs["trial_start"]))
        a = rng.integers(0, 9, n)
        obs, rew, *_ = view.step(a)
        t_before = learner.slots.t.clone()
        out = step(learner, env, a)
        stored = learner.replay.stage_steps["rewards"][torch.arange(n), t_before]
        assert np.allclose(stored.numpy(), rew)  # zeroed in episode 1
        finished += len(out.get("slots", []))
    assert finished > n  # several trials per slot


def test_varibad_losses_decode_every_step_from_every_latent():
    learner, _, _ = scripted("varibad")
    net = learner.agent.online
    b = learner.replay.gather(torch.tensor([0, 1]))
    L = b["mask"].shape[1]
    steps = TrialInputs(b["obs"], b["instruction"], b["prev_action"], b["prev_reward"], b["done"])
    # targets are the real rewards, episode 1 included
    torch.testing.assert_close(steps.prev_reward[:, 1:], torch.tensor(REAL).float())
    _, z = net.unroll(steps.index(lambda v: v[:, :L]))
    aux = learner._aux_losses(net, z, steps, b)
    r_ref = s_ref = 0.0
    for k in range(2):
        s_emb = net.state(b["obs"][k, :L], b["instruction"][k, :L])
        a_emb = net.action(b["actions"][k, :L].long())
        for i in range(L):
            for j in range(L):
                x = torch.cat([z[k, j], s_emb[i], a_emb[i]])
                hidden = torch.relu(net.decoder_out(torch.relu(net.decoder_in(x))))
                r_ref = r_ref + (net.reward_head(hidden)[0] - REAL[k][i]) ** 2
                s_ref = s_ref + (net.state_head(hidden) - b["obs"][k, i + 1].float()).pow(2).sum()
    torch.testing.assert_close(aux["reward_decoding_loss"], r_ref / 2)
    torch.testing.assert_close(aux["state_decoding_loss"], 0.01 * s_ref / 2)
    learner.update()  # and it trains
    assert set(learner.summary()) >= {
        "DQN/reward_decoding_loss",
        "DQN/state_decoding_loss",
        "DQN/loss",
        "DQN/epsilon",
    }


def test_original_padding_and_the_unmasked_embedding_distance():
    pos = original_padding_index(torch.tensor([3, 5]), 5)
    assert pos.tolist() == [[0, 1, 2, 2, 2, 3], [0, 1, 2, 3, 4, 5]]
    h = torch.arange(24.0).reshape(2, 3, 4)
    f = torch.ones(2, 4)
    ref = sum(((h[0, t] - 1) ** 2 + (h[1, t] - 1) ** 2).sum() / 2 for t in range(3))
    torch.testing.assert_close(embedding_distance(h, f), ref)


def greedy_q(net, x, ids, use):
    state = net.encoder.lstm.zeros(x.obs.shape[0])
    return net.step(x, state, ids, torch.full((x.obs.shape[0],), use))[0]


def test_import_acts_on_ids_in_even_trials_and_on_h_in_odd_trials_and_evaluation():
    n = 64
    learner, env = make(
        "import",
        n=n,
        bindings=[
            "agent.policy.epsilon_schedule.begin=0.0",
            "agent.policy.epsilon_schedule.end=0.0",
        ],
    )
    env.reset(seed=0)
    net = learner.agent.online
    x = learner.slots.inputs(_t(env.obs, "cpu"), _t(env.instructions, "cpu"))
    ids = _t(env.tasks, "cpu")
    with torch.no_grad():
        a_f, a_h = greedy_q(net, x, ids, True).argmax(-1), greedy_q(net, x, ids, False).argmax(-1)
    even = learner.slots.trial % 2 == 0
    assert even.tolist() == [i % 2 == 0 for i in range(n)]
    a = learner.act(learner.slots, x.obs, x.instruction, ids)
    assert torch.equal(a[even], a_f[even]) and torch.equal(a[~even], a_h[~even])
    assert (a_f[even] != a_h[even]).any()  # the two choices differ here
    ev = learner.new_slots(n)
    assert torch.equal(learner.act(ev, x.obs, x.instruction, ids), a_h)


def test_import_learns_on_ids_after_even_trials_and_its_target_never_uses_them():
    learner, env = make("import", n=4)
    env.reset(seed=0)
    while len(learner.replay) < 4:
        step(learner, env)
    ids_before = [p.clone() for p in learner.agent.online.ids.parameters()]
    enc_before = learner.agent.online.encoder.lstm.lstm.weight_hh_l0.clone()
    learner.learn({"lengths": torch.tensor([2]), "trials": torch.tensor([7])})  # odd: h_t
    assert learner.agent.gradient_steps == 2
    assert all(torch.equal(a, b) for a, b in zip(ids_before, learner.agent.online.ids.parameters()))
    assert not torch.equal(enc_before, learner.agent.online.encoder.lstm.lstm.weight_hh_l0)
    learner.learn({"lengths": torch.tensor([1]), "trials": torch.tensor([8])})  # even: f(e)
    assert not all(
        torch.equal(a, b) for a, b in zip(ids_before, learner.agent.online.ids.parameters())
    )

    # the target net's f(e) never enters the loss; its recurrent encoder does
    def after_update(perturb):
        twin, _ = make("import", n=4)
        # a copy: Optimizer.load_state_dict keeps (aliases) same-device state tensors
        twin.load_state_dict(copy.deepcopy(learner.state_dict()))
        with torch.no_grad():
            for p in perturb(twin.agent.target).parameters():
                p.add_(1.0)
        twin.update(use_ids=True)
        return torch.cat([p.flatten() for p in twin.agent.online.parameters()])

    base = after_update(lambda t: torch.nn.Identity())
    assert torch.equal(base, after_update(lambda t: t.ids))
    assert not torch.equal(base, after_update(lambda t: t.encoder))
