"""Peers measured in the same run, each paired with the fastmeta env it is compared with
(`pair`), random actions (R) and the same small policy network (N) where it makes sense:

* gymnax BernoulliBandit-misc ~ FixedArmBandit, MetaMaze-misc ~ RayMaze;
* XLand-MiniGrid R1-9x9 with rulesets built here (its benchmark files are a download) ~
  DarkTreasureRoom, both 9x9 rooms;
* envpool CartPole-v1 and gymnasium's own vectorized CartPole: calibration points, a C++ pool and
  a numpy vector env stepping the best-known env on this machine.

JAX peers run jit(vmap(step)) inside lax.scan over SCAN_STEPS steps with the action choice inside
the scan; compilation happens before timing. The peers come from the `peers` extra (or a separate
venv, see the README); without them these benchmarks skip and the report says so. The miniworld
package's sign world is measured in bench_sign.py."""

from importlib import metadata

import numpy as np
import pytest

from fastmeta.bench.conftest import HIDDEN, NO_TORCH, ROUNDS, SWEEP, calls_per_round, sizes

SCAN_STEPS = 100
JAX_SIZES = sizes([1, 16, 256, 4096, 65536], [4096])
XLAND_SIZES = sizes([1, 16, 256, 4096], [64])  # XLand steps cost ~100x a bandit's
CARTPOLE_SIZES = sizes(SWEEP, [64, 4096])


# -- JAX peers ----------------------------------------------------------------------------------
def _jax_mlp(jax, obs_dim, num_actions, key):
    """The policy_mlp.py network in JAX: (obs, last reward) -> 64 -> 64 -> logits."""
    dims = [obs_dim + 1, HIDDEN, HIDDEN, num_actions]
    keys = jax.random.split(key, len(dims) - 1)
    params = [
        (jax.random.normal(k, (a, b)) / np.sqrt(a), jax.numpy.zeros(b))
        for k, a, b in zip(keys, dims[:-1], dims[1:])
    ]

    def act(obs, rew, key):
        x = jax.numpy.concatenate(
            [obs.reshape(obs.shape[0], -1).astype(np.float32), rew[:, None]], 1
        )
        for i, (w, b) in enumerate(params):
            x = x @ w + b
            if i < len(params) - 1:
                x = jax.numpy.tanh(x)
        return jax.random.categorical(key, x)

    return act


def _time_jax(benchmark, rollout, carry, jax, n, info):
    # Compile outside the timing; twice, since the carry a rollout returns may differ from the
    # initial one in weak types, which would trigger a second compilation in the first round.
    for seed in (0, 1):
        carry = jax.block_until_ready(rollout(carry, jax.random.PRNGKey(seed)))
    keys = iter(
        [jax.random.PRNGKey(seed) for seed in range(2, 66)]
    )  # same type as above: no recompile

    def run():
        jax.block_until_ready(rollout(carry, next(keys)))

    benchmark.extra_info.update(
        num_envs=n, threads=None, calls=SCAN_STEPS, env_steps=SCAN_STEPS * n, **info
    )
    benchmark.pedantic(run, rounds=ROUNDS, warmup_rounds=0)


@pytest.mark.parametrize("mode", ["random", "policy"])
@pytest.mark.parametrize("num_envs", JAX_SIZES)
@pytest.mark.parametrize(
    "gymnax_id, pair", [("BernoulliBandit-misc", "FixedArmBandit"), ("MetaMaze-misc", "RayMaze")]
)
def test_gymnax(benchmark, gymnax_id, pair, num_envs, mode):
    jax = pytest.importorskip("jax")
    gymnax = pytest.importorskip("gymnax")
    env, params = gymnax.make(gymnax_id)
    n, n_act = num_envs, env.num_actions
    obs, state = jax.vmap(env.reset, in_axes=(0, None))(
        jax.random.split(jax.random.PRNGKey(0), n), params
    )
    act = _jax_mlp(jax, int(np.prod(obs.shape[1:])), n_act, jax.random.PRNGKey(3))
    step = jax.vmap(env.step, in_axes=(0, 0, 0, None))

    @jax.jit
    def rollout(carry, key):
        def body(carry, k):
            obs, st, rew = carry
            ka, ks = jax.random.split(k)
            a = act(obs, rew, ka) if mode == "policy" else jax.random.randint(ka, (n,), 0, n_act)
            # gymnax < 1.0 returns 5 values, 1.0 adds `truncated`: the first three are the same
            obs, st, rew = step(jax.random.split(ks, n), st, a, params)[:3]
            return (obs, st, rew.astype(np.float32)), None

        return jax.lax.scan(body, carry, jax.random.split(key, SCAN_STEPS))[0]

    _time_jax(
        benchmark,
        rollout,
        (obs, state, jax.numpy.zeros(n, np.float32)),
        jax,
        n,
        dict(env=gymnax_id, impl=f"gymnax {metadata.version('gymnax')}", mode=mode, pair=pair),
    )


def _xland_rulesets(jax, xminigrid):
    """Four rulesets written out by hand: a goal (be next to / hold a tile), one production rule
    (put tile A next to tile B to make the goal tile) and the tiles placed at reset."""
    from xminigrid.core.constants import TILES_REGISTRY, Colors, Tiles
    from xminigrid.core.goals import AgentHoldGoal, AgentNearGoal
    from xminigrid.core.rules import TileNearRule
    from xminigrid.types import RuleSet

    jnp = jax.numpy

    def tile(t, c):
        return jnp.array([t, c], dtype=jnp.uint8)

    specs = [
        (
            AgentNearGoal,
            (Tiles.BALL, Colors.RED),
            (Tiles.BALL, Colors.BLUE),
            (Tiles.KEY, Colors.YELLOW),
        ),
        (
            AgentHoldGoal,
            (Tiles.KEY, Colors.GREEN),
            (Tiles.PYRAMID, Colors.PURPLE),
            (Tiles.SQUARE, Colors.GREY),
        ),
        (
            AgentNearGoal,
            (Tiles.STAR, Colors.YELLOW),
            (Tiles.HEX, Colors.RED),
            (Tiles.BALL, Colors.GREEN),
        ),
        (
            AgentHoldGoal,
            (Tiles.SQUARE, Colors.BLUE),
            (Tiles.KEY, Colors.RED),
            (Tiles.STAR, Colors.PURPLE),
        ),
    ]
    rulesets = [
        RuleSet(
            goal=goal(tile=tile(*g)).encode(),
            rules=TileNearRule(tile_a=tile(*a), tile_b=tile(*b), prod_tile=tile(*g)).encode()[None],
            init_tiles=jnp.stack([TILES_REGISTRY[a], TILES_REGISTRY[b]]),
        )
        for goal, g, a, b in specs
    ]
    return jax.tree.map(lambda *xs: jnp.stack(xs), *rulesets)


@pytest.mark.parametrize("mode", ["random", "policy"])
@pytest.mark.parametrize("num_envs", XLAND_SIZES)
def test_xland_minigrid(benchmark, num_envs, mode):
    jax = pytest.importorskip("jax")
    xminigrid = pytest.importorskip("xminigrid")
    env, params = xminigrid.make("XLand-MiniGrid-R1-9x9")
    n = num_envs
    rulesets = _xland_rulesets(jax, xminigrid)
    slot_rules = jax.tree.map(lambda x: x[np.arange(n) % 4], rulesets)  # ruleset i % 4 in slot i
    batched = jax.tree.map(lambda x: jax.numpy.broadcast_to(x, (n, *np.shape(x))), params)
    batched = batched.replace(ruleset=slot_rules)
    ts = jax.vmap(env.reset)(batched, jax.random.split(jax.random.PRNGKey(0), n))
    n_act = env.num_actions(params)
    act = _jax_mlp(jax, int(np.prod(ts.observation.shape[1:])), n_act, jax.random.PRNGKey(3))
    step = jax.vmap(env.step)

    @jax.jit
    def rollout(ts, key):
        def body(ts, k):
            a = (
                act(ts.observation, ts.reward.astype(np.float32), k)
                if mode == "policy"
                else jax.random.randint(k, (n,), 0, n_act)
            )
            return step(batched, ts, a), None

        return jax.lax.scan(body, ts, jax.random.split(key, SCAN_STEPS))[0]

    _time_jax(
        benchmark,
        rollout,
        ts,
        jax,
        n,
        dict(
            env="XLand-MiniGrid-R1-9x9",
            impl=f"xminigrid {metadata.version('xminigrid')}",
            mode=mode,
            pair="DarkTreasureRoom",
            rulesets="4 hand-built",
        ),
    )


# -- CartPole calibration -------------------------------------------------------------------------
class _Buffers:
    """The attributes MLPPolicy reads, filled from a peer's returned arrays."""

    def __init__(self, num_envs, obs_shape, num_actions):
        import gymnasium

        self.num_envs = num_envs
        self.obs = np.zeros((num_envs, *obs_shape), np.float32)
        self.rew = np.zeros(num_envs, np.float32)
        self.single_action_space = gymnasium.spaces.Discrete(num_actions)

    def fill(self, obs, rew):
        np.copyto(self.obs, obs, casting="unsafe")
        np.copyto(self.rew, rew, casting="unsafe")


def _time_cartpole(benchmark, step, buf, mode, n, info):
    if mode == "policy":
        torch = pytest.importorskip("torch", reason=NO_TORCH)
        from fastmeta.bench.policy_mlp import MLPPolicy

        torch.set_num_threads(1)
        policy = MLPPolicy(buf)

        def one():
            obs, rew = step(policy.act())[:2]
            buf.fill(obs, rew)
    else:
        acts = np.random.default_rng(0).integers(0, 2, (64, n), dtype=np.int64)
        i = [0]

        def one():
            step(acts[i[0] & 63])
            i[0] += 1

    calls = calls_per_round(one)

    def run():
        for _ in range(calls):
            one()

    benchmark.extra_info.update(
        env="CartPole-v1",
        mode=mode,
        num_envs=n,
        calls=calls,
        env_steps=calls * n,
        pair="calibration",
        **info,
    )
    benchmark.pedantic(run, rounds=ROUNDS, warmup_rounds=0)


@pytest.mark.parametrize("mode", ["random", "policy"])
@pytest.mark.parametrize("num_envs", CARTPOLE_SIZES)
def test_gymnasium_cartpole(benchmark, num_envs, mode):
    import gymnasium

    env = gymnasium.make_vec(
        "CartPole-v1", num_envs=num_envs, vectorization_mode="vector_entry_point"
    )
    env.reset(seed=0)
    _time_cartpole(
        benchmark,
        env.step,
        _Buffers(num_envs, (4,), 2),
        mode,
        num_envs,
        dict(impl=f"gymnasium {metadata.version('gymnasium')} vector", threads=1),
    )
    env.close()


@pytest.mark.parametrize("mode", ["random", "policy"])
@pytest.mark.parametrize("num_envs", CARTPOLE_SIZES)
def test_envpool_cartpole(benchmark, num_envs, mode):
    envpool = pytest.importorskip("envpool")
    env = envpool.make(
        "CartPole-v1",
        env_type="gymnasium",
        num_envs=num_envs,
        batch_size=num_envs,
        num_threads=1,
        seed=0,
    )
    env.reset()
    _time_cartpole(
        benchmark,
        lambda a: env.step(a.astype(np.int32)),
        _Buffers(num_envs, (4,), 2),
        mode,
        num_envs,
        dict(impl=f"envpool {metadata.version('envpool')}", threads=1),
    )
    env.close()
