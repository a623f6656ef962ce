"""E-RL², IMPORT and VariBAD networks: configs, parameter counts (spec §6), encoder shapes."""

from types import SimpleNamespace

import pytest
import torch

import fastmeta
from fastmeta.agents.baselines import config as C
from fastmeta.agents.baselines.encoders import TrialInputs
from fastmeta.agents.baselines.q_networks import ImportQNet, RL2QNet, VariBADQNet, build_network
from fastmeta.agents.common.env_sizes import net_sizes
from fastmeta.agents.dream.q_networks import count_parameters

# tiny matmuls: one thread avoids OpenMP hand-offs that dominate on a busy machine
torch.set_num_threads(1)

# spec §6, online Q networks of the paper configs: E-RL² / IMPORT / VariBAD
COUNTS = {
    "vanilla": (121_715, 216_755, 264_503),
    "distraction": (121_715, 234_419, 264_503),
    "map": (130_707, 234_739, 282_616),
    "cooking": (154_483, 283_571, 330_555),
}
METHODS = ("rl2", "import", "varibad")


def spec_of(env_name):
    return net_sizes(fastmeta.make(env_name, num_envs=1))


@pytest.mark.parametrize("env_name", sorted(COUNTS))
def test_parameter_counts_match_the_original(env_name):
    spec = spec_of(env_name)
    got = tuple(
        count_parameters(build_network(C.resolve(m, "paper", environment=env_name), spec))
        for m in METHODS
    )
    assert got == COUNTS[env_name]


def test_miniworld_configs_merge_like_the_original():
    # the sign env's spaces, without building its renderer
    spec = SimpleNamespace(
        obs_kind="image",
        obs_highs=(),
        instruction_highs=(2,),
        num_tasks=3,
        num_actions=4,
        obs_shape=(3, 80, 60),
    )
    cfgs = {m: C.resolve(m, "paper", environment="miniworld_sign") for m in METHODS}
    assert [count_parameters(build_network(cfgs[m], spec)) for m in METHODS] == [
        294_169,
        571_001,
        627_293,
    ]
    assert cfgs["varibad"]["agent"]["policy"]["embedder"]["predict_states"] is False
    assert cfgs["import"]["agent"]["buffer"]["max_buffer_size"] == 10_000
    # IMPORT = rl2.json ⊕ import.json: rl2's keys stay, import's override
    imp = C.resolve("import", environment="map")["agent"]
    assert (
        imp["min_buffer_size"] == 800
        and imp["policy"]["epsilon_schedule"]["total_steps"] == 500_000
    )
    assert imp["policy"]["embedder"]["type"] == "import"


def test_bad_config_keys_and_values_name_the_key():
    with pytest.raises(C.ConfigError, match="agent.policy.embedder.id_embeder"):
        C.resolve("import", bindings=["agent.policy.embedder.id_embeder.embed_dim=3"])
    with pytest.raises(C.ConfigError, match="agent.policy.embedder.z_dim"):
        C.resolve("rl2", bindings=["agent.policy.embedder.z_dim=3"])  # not an rl2 key
    with pytest.raises(C.ConfigError, match="z_dim"):
        C.resolve("varibad", bindings=["agent.policy.embedder.z_dim=32"])
    with pytest.raises(C.ConfigError, match="agent.policy.embedder.type"):
        C.resolve("import", bindings=["agent.policy.embedder.type=varibad"])
    with pytest.raises(C.ConfigError, match="agent.buffer.type"):
        C.resolve("rl2", bindings=["agent.buffer.type=prioritized"])
    with pytest.raises(C.ConfigError, match="preset"):
        C.resolve("rl2", preset="turbo")


def random_inputs(spec, lead, gen):
    obs = torch.stack([torch.randint(h, lead, generator=gen) for h in spec.obs_highs], -1)
    instr = torch.stack([torch.randint(h, lead, generator=gen) for h in spec.instruction_highs], -1)
    return TrialInputs(
        obs,
        instr,
        torch.randint(spec.num_actions + 1, lead, generator=gen),
        torch.randn(lead, generator=gen),
        torch.randint(2, lead, generator=gen),
    )


@pytest.mark.parametrize("method", METHODS)
def test_step_and_unroll_agree_and_have_the_right_shapes(method):
    spec = spec_of("map")
    cfg = C.resolve(method, "fast", environment="map")
    torch.manual_seed(0)
    net = build_network(cfg, spec)
    assert isinstance(net, {"rl2": RL2QNet, "import": ImportQNet, "varibad": VariBADQNet}[method])
    B, T = 3, 7
    x = random_inputs(spec, (B, T), torch.Generator().manual_seed(1))
    env_ids = torch.tensor([0, 5, 23])
    q, latent = net.unroll(x, None, env_ids, torch.zeros(B, dtype=torch.bool))
    assert q.shape == (B, T, 9) and latent.shape == (B, T, 64)
    state = net.encoder.lstm.zeros(B)
    for t in range(T):
        q_t, state = net.step(
            x.index(lambda v: v[:, t]), state, env_ids, torch.zeros(B, dtype=torch.bool)
        )
        # per-state dueling mean in the fast preset: acting and learning agree exactly
        torch.testing.assert_close(q_t, q[:, t], atol=1e-5, rtol=1e-5)
    h, _ = net.encoder.unroll(x)
    if method == "varibad":
        assert (latent - h).abs().max() < 1e-4 and not torch.equal(latent, h)  # z = h + 1e-6 ε
    else:
        torch.testing.assert_close(latent, h)


def test_import_uses_the_id_embedding_only_where_asked():
    spec = spec_of("distraction")
    net = build_network(C.resolve("import", "fast", environment="distraction"), spec)
    B, T = 4, 5
    x = random_inputs(spec, (B, T), torch.Generator().manual_seed(2))
    ids = torch.tensor([0, 100, 200, 575])
    use = torch.tensor([True, False, True, False])
    q_mixed, h = net.unroll(x, None, ids, use)
    q_h, _ = net.unroll(x, None, ids, torch.zeros(B, dtype=torch.bool))
    q_f, _ = net.unroll(x, None, ids, torch.ones(B, dtype=torch.bool))
    torch.testing.assert_close(q_mixed[use], q_f[use])
    torch.testing.assert_close(q_mixed[~use], q_h[~use])
    assert not torch.allclose(q_h[use], q_f[use])
    # f(e) replaces h_t as the input of the same fc layer
    s = net.state(x.obs, x.instruction)
    f = net.ids(ids)[:, None, :].expand_as(h)
    ref = net.head(net.fc(torch.relu(torch.cat([f, s], -1))))
    torch.testing.assert_close(q_f, ref)
