"""The DREAM drop-in against every check the original training code makes on the env side
(dream.md §9), and the `sys.modules` aliasing that docs/dream_dropin.md tells users to run."""

import collections
import inspect
import io
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from gymnasium import spaces
from PIL import Image

from fastmeta.compat.dream import city, cooking, grid, meta_exploration, wrappers
from fastmeta.compat.dream.meta_exploration import InstructionState, MetaExplorationState
from fastmeta.compat.dream.wrappers import MultiEpisodeWrapper

DOC = Path(__file__).resolve().parents[1] / "docs" / "dream_dropin.md"

# The original's rl.Experience fields (main.py builds one per step; dqn.py and embed.py read them).
Experience = collections.namedtuple(
    "Experience",
    ["state", "action", "reward", "next_state", "done", "info", "agent_state", "next_agent_state"],
)

# dream.md §1.6: obs highs, env-id high, instruction highs, #train, #test.
GRID = {
    "vanilla": (city.CityGridEnv, [9, 9, 4], 24, [9, 9], 24, 24),
    "distraction": (city.DistractionGridEnv, [9, 9, 4], 576, [9, 9], 53, 523),
    "map": (city.MapGridEnv, [9, 9, 4, 25], 24, [9, 9], 24, 24),
    "cooking": (cooking.CookingGridEnv, [3, 3, 4, 5, 5, 5, 5], 64, [5, 5], 63, 1),
}
KINDS = list(GRID)


def run_episode(env, policy_rng, max_steps=100):
    """main.py's run_episode with a random policy: experiences until the env says done."""
    state = env.reset()
    episode = []
    for _ in range(max_steps):
        action = int(policy_rng.randint(env.action_space.n))
        next_state, reward, done, info = env.step(action)
        episode.append(Experience(state, action, reward, next_state, done, info, None, None))
        state = next_state
        if done:
            return episode
    raise AssertionError(f"no done within {max_steps} steps")


def check_vocabulary_space(space, values):
    """What embed.py does with a discrete Box: the asserts, one nn.Embedding per component built
    from `.high`, and a lookup of real values (an out-of-range value raises IndexError)."""
    assert isinstance(space, spaces.Box)
    assert all(low == 0 for low in space.low)
    assert space.dtype == int and space.dtype == np.int64
    tables = [torch.nn.Embedding(high, 2) for high in space.high]
    batch = torch.stack(values)
    assert batch.dtype == torch.int64 and batch.shape[1] == len(tables)
    for i, table in enumerate(tables):
        table(batch[:, i])


# -- module envs.grid ---------------------------------------------------------------------------
def test_action_enum_values_and_names():
    names = ["left", "up", "right", "down", "noop", "ride_bus", "end_episode", "pickup", "drop"]
    assert issubclass(grid.Action, int)
    assert [(a.name, a.value) for a in grid.Action] == [(n, v) for v, n in enumerate(names)]
    assert [grid.Action(a).name for a in range(9)] == names  # main.py logs Action(a).name
    assert str(int(grid.Action.end_episode)) == "6"


@pytest.mark.parametrize("kind", KINDS)
def test_grid_env_is_the_common_base_at_every_layer(kind):
    cls = GRID[kind][0]
    assert issubclass(cls, grid.GridEnv)
    env = cls.create_env(0)
    inner = cls.instruction_wrapper()(env, [], seed=1)
    trial = MultiEpisodeWrapper(inner, 2)
    for layer in (env, inner, trial):
        assert layer.unwrapped is env
        assert isinstance(layer.unwrapped, grid.GridEnv)  # embed.get_state_embedder's test


# -- class interface ----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_create_env_signature_and_default_wrapper(kind):
    cls = GRID[kind][0]
    params = inspect.signature(cls.create_env).parameters
    assert [(p.name, p.default) for p in params.values()] == [
        ("seed", inspect.Parameter.empty),
        ("test", False),
        ("wrapper", None),
    ]
    env = cls.create_env(3, True)
    states = [env.reset()] + [env.step(a)[0] for a in (grid.Action.up, grid.Action.right)]
    for s in states:
        assert isinstance(s.observation, torch.Tensor) and s.observation.dtype == torch.int64
    stacked = torch.stack([s.observation for s in states])  # SimpleGridStateEmbedder.forward
    assert stacked.shape == (3, len(GRID[kind][1])) and stacked.dtype == torch.int64
    raw = cls.create_env(3, test=True, wrapper=lambda o: o).reset().observation
    assert isinstance(raw, np.ndarray) and raw.tolist() == states[0].observation.tolist()


@pytest.mark.parametrize("kind", KINDS)
def test_env_ids_splits(kind):
    cls, _, id_high, _, n_train, n_test = GRID[kind]
    train, test = cls.env_ids()
    assert (len(train), len(test)) == (n_train, n_test)
    assert "[" in str(cls.env_ids())  # main.py writes it to metadata.txt
    train_set = {int(i[0]) for i in train}
    test_set = {int(i[0]) for i in test}
    assert all(0 <= i < id_high for i in train_set | test_set)
    assert {int(cls.create_env(s).env_id[0]) for s in range(30)} <= train_set
    assert {int(cls.create_env(s, test=True).env_id[0]) for s in range(30)} <= test_set


@pytest.mark.parametrize("kind", KINDS)
def test_instruction_wrapper_construction(kind):
    cls = GRID[kind][0]
    wrapper_cls = cls.instruction_wrapper()
    assert issubclass(wrapper_cls, meta_exploration.InstructionWrapper)
    env = cls.create_env(4)
    trajectory = ["stand-in experience"]
    w = wrapper_cls(env, trajectory, seed=5, test=True, first_episode_no_optimization=True)
    w.reset()
    state, reward, done, _ = w.step(grid.Action.end_episode)
    # first episode: the returned reward is zeroed, the state keeps the real one
    assert done and reward == 0 and state.prev_reward < 0
    assert state.trajectory is trajectory


@pytest.mark.parametrize("kind", KINDS)
def test_multi_episode_wrapper_accepts_only_instruction_wrappers(kind):
    cls = GRID[kind][0]
    env = cls.create_env(0)
    inner = cls.instruction_wrapper()(env, [], seed=1, first_episode_no_optimization=True)
    trial = MultiEpisodeWrapper(inner)  # main_varibad.py's sizing call
    trial.reset()
    assert [trial.step(grid.Action.end_episode)[2] for _ in range(2)] == [False, True]
    with pytest.raises(AssertionError):
        MultiEpisodeWrapper(env, 2)
    duck = types.SimpleNamespace(
        reset=inner.reset,
        step=inner.step,
        action_space=inner.action_space,
        observation_space=inner.observation_space,
    )
    with pytest.raises(AssertionError):
        MultiEpisodeWrapper(duck, 2)


# -- env and wrapper objects --------------------------------------------------------------------
def test_state_tuple_fields():
    assert MetaExplorationState._fields == ("observation", "prev_reward", "prev_action", "env_id")
    assert InstructionState._fields == (
        "observation",
        "instructions",
        "prev_action",
        "prev_reward",
        "done",
        "trajectory",
        "env_id",
    )


@pytest.mark.parametrize("kind", KINDS)
def test_reset_and_step_tuples(kind):
    cls = GRID[kind][0]
    env = cls.create_env(2)
    s = env.reset()
    assert isinstance(s, MetaExplorationState) and s.prev_action is None and s.prev_reward == 0
    out = env.step(grid.Action.noop)
    assert isinstance(out, tuple) and len(out) == 4
    s, reward, done, info = out
    assert isinstance(s, MetaExplorationState) and s.prev_action == grid.Action.noop
    assert reward == 0 and done is False and info == {}
    w = cls.instruction_wrapper()(env, [], seed=3)
    s = w.reset()
    assert isinstance(s, InstructionState)
    assert (s.prev_action, s.prev_reward, s.done) == (None, 0, False)
    s, reward, done, info = w.step(grid.Action.end_episode)
    assert isinstance(s, InstructionState) and isinstance(info, dict)
    assert type(done) is bool and done and s.done is True
    assert 1 - done == 0  # dqn.py's not-done mask: 1 - e.done
    assert isinstance(reward, (int, float)) and reward == s.prev_reward


@pytest.mark.parametrize("kind", KINDS)
def test_spaces_are_embedding_vocabularies(kind):
    cls, obs_high, id_high, instr_high, _, _ = GRID[kind]
    env = cls.create_env(6)
    w = cls.instruction_wrapper()(env, [], seed=7, first_episode_no_optimization=True)
    trial = MultiEpisodeWrapper(w, 2)
    assert env.action_space.n == 9 and w.action_space.n == 9 and trial.action_space.n == 9
    episode = run_episode(trial, np.random.RandomState(0))
    states = [e.state for e in episode] + [episode[-1].next_state]
    for space_of in (env, w, trial):
        space = space_of.observation_space
        assert space["observation"].high.tolist() == obs_high
        assert space["env_id"].high.tolist() == [id_high]
        check_vocabulary_space(space["observation"], [s.observation for s in states])
        check_vocabulary_space(space["env_id"], [torch.tensor(s.env_id) for s in states])
    for space_of in (w, trial):
        space = space_of.observation_space["instructions"]
        assert space.high.tolist() == instr_high
        check_vocabulary_space(space, [torch.tensor(s.instructions) for s in states])


@pytest.mark.parametrize("kind", KINDS)
def test_state_fields_by_name(kind):
    cls = GRID[kind][0]
    env = cls.create_env(8)
    trajectory = []
    w = cls.instruction_wrapper()(env, trajectory, seed=9)
    first = w.reset()
    s, r, done, _ = w.step(grid.Action.up)
    assert isinstance(s.observation, torch.Tensor) and s.observation.shape == (len(GRID[kind][1]),)
    assert isinstance(s.env_id, np.ndarray) and s.env_id.shape == (1,)
    assert s.env_id.tolist() == env.env_id.tolist()
    assert s.prev_reward == r and s.prev_action == grid.Action.up and s.done == done
    assert s.trajectory is trajectory and first.trajectory is trajectory
    assert isinstance(s.instructions, np.ndarray)
    assert torch.tensor(s.instructions).tolist() == first.instructions.tolist()
    actions = [x if x is not None else -1 for x in (first.prev_action, s.prev_action)]
    assert np.array(actions).tolist() == [-1, int(grid.Action.up)]  # ExperienceEmbedder input


@pytest.mark.parametrize("kind", KINDS)
def test_render_object(kind):
    cls = GRID[kind][0]
    env = cls.create_env(1)
    inner = cls.instruction_wrapper()(env, [], seed=2)
    trial = MultiEpisodeWrapper(inner, 2)
    trial.reset()
    frames = []
    for timestep, layer in enumerate((env, inner, trial)):
        plain = layer.render().image()
        render = layer.render()
        render.write_text("Action: up")
        render.write_text(f"Timestep: {timestep}")
        image = render.image()
        assert isinstance(image, Image.Image)
        assert image.width == plain.width and image.height > plain.height  # banner lines added
        frames.append(image)
    gif = io.BytesIO()  # main.py's GIF call
    frames[0].save(
        gif,
        format="GIF",
        save_all=True,
        append_images=frames[1:],
        duration=750,
        loop=0,
        optimize=True,
        quality=20,
    )
    assert Image.open(io.BytesIO(gif.getvalue())).n_frames == len(frames)


@pytest.mark.filterwarnings("ignore:Creating a tensor from a list of numpy.ndarrays")
@pytest.mark.parametrize("kind", KINDS)
def test_exploration_episode_pattern(kind):
    """main.py: explore inside instruction_wrapper()(env, [], seed=max(0, n-1)), then hand the
    experiences back as the exploitation wrapper's trajectory, on the same env object."""
    cls = GRID[kind][0]
    n = 7
    env = cls.create_env(n)
    exploration = run_episode(
        cls.instruction_wrapper()(env, [], seed=max(0, n - 1)), np.random.RandomState(n)
    )
    assert 1 <= len(exploration) <= 20 and exploration[-1].done
    assert all(e.state.trajectory == [] for e in exploration)
    exploit = cls.instruction_wrapper()(env, exploration, seed=n + 1)
    episode = run_episode(exploit, np.random.RandomState(n + 1))
    for e in episode:
        assert e.state.trajectory is exploration and e.next_state.trajectory is exploration
    # what the trajectory embedder reads from the exploration experiences
    ids = torch.tensor([traj[0].state.env_id for traj in (exploration, exploration)])
    assert ids.shape == (2, 1) and ids[0, 0].item() == int(env.env_id[0])
    torch.stack([e.state.observation for e in exploration])
    torch.stack([e.next_state.observation for e in exploration])
    assert all(isinstance(e.next_state.prev_reward, (int, float)) for e in exploration)


# -- the aliasing of docs/dream_dropin.md -------------------------------------------------------
def aliases():
    """The module names the doc's launcher registers, mapped to fastmeta's modules."""
    from fastmeta.compat.dream import sign  # no GL context until a sign env is created

    envs = types.ModuleType("envs")
    envs.grid, envs.city, envs.cooking = grid, city, cooking
    envs.miniworld = types.ModuleType("envs.miniworld")
    envs.miniworld.sign = sign
    return {
        "envs": envs,
        "envs.grid": grid,
        "envs.city": city,
        "envs.cooking": cooking,
        "envs.miniworld": envs.miniworld,
        "envs.miniworld.sign": sign,
        "meta_exploration": meta_exploration,
        "wrappers": wrappers,
    }


@pytest.fixture
def original_names(monkeypatch):
    for name, module in aliases().items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(np, "int", int, raising=False)


def get_env_class(kind):
    """main.get_env_class's table, read through the original module names."""
    import envs.city
    import envs.cooking

    return {
        "vanilla": envs.city.CityGridEnv,
        "distraction": envs.city.DistractionGridEnv,
        "map": envs.city.MapGridEnv,
        "cooking": envs.cooking.CookingGridEnv,
    }[kind]


def test_doc_registers_the_same_names():
    text = DOC.read_text()
    block = re.search(r"sys\.modules\.update\(\s*\{(.*?)\}\s*\)", text, re.S)
    assert block, "the doc shows no sys.modules.update({...}) block"
    assert set(re.findall(r'"([\w.]+)":', block.group(1))) == set(aliases())


def test_original_imports_resolve_to_fastmeta(original_names):
    import envs.city
    import envs.grid
    import meta_exploration as original_meta_exploration
    import wrappers as original_wrappers
    from envs import grid as embed_grid  # embed.py / main.py
    from envs.miniworld import sign  # main.get_env_class, embed.py

    from fastmeta.compat.dream.sign import MiniWorldSign

    assert embed_grid is grid and envs.grid is grid and envs.city is city
    assert original_meta_exploration is meta_exploration and original_wrappers is wrappers
    assert sign.MiniWorldSign is MiniWorldSign
    # main.get_env_class's table, then embed.py's embedder choice and its dtype assert
    for kind in KINDS:
        cls = get_env_class(kind)
        env = cls.create_env(0)
        assert isinstance(env.unwrapped, envs.grid.GridEnv)
        assert env.observation_space["observation"].dtype == np.int
        assert isinstance(
            cls.instruction_wrapper()(env, []), original_meta_exploration.InstructionWrapper
        )
        assert cls is GRID[kind][0]


@pytest.mark.parametrize("kind", KINDS)
def test_baseline_loop_through_original_names(original_names, kind):
    """main_varibad.py's trial: MultiEpisodeWrapper over instruction_wrapper over create_env,
    with the first episode's rewards observed but not optimised."""
    import wrappers as original_wrappers
    from envs import grid as original_grid

    cls = get_env_class(kind)
    for n in range(3):
        env = cls.create_env(n)
        inner = cls.instruction_wrapper()(env, [], seed=n + 1, first_episode_no_optimization=True)
        trial = original_wrappers.MultiEpisodeWrapper(inner, 2)
        episode = run_episode(trial, np.random.RandomState(n), max_steps=40)
        assert isinstance(episode[0].state.observation, torch.Tensor)
        assert episode[0].state.prev_action is None
        assert len(episode) <= 40
        boundaries = [t for t, e in enumerate(episode) if e.next_state.done]
        assert len(boundaries) == 2 and boundaries[-1] == len(episode) - 1
        assert [e.done for e in episode].count(True) == 1 and episode[-1].done
        assert all(e.reward == 0 for e in episode[: boundaries[0] + 1])
        assert episode[boundaries[0]].next_state.prev_action is None  # a fresh episode starts
        assert all(original_grid.Action(e.action).name for e in episode)


# -- the sign env, where §9 applies ------------------------------------------------------------
@pytest.fixture(scope="module")
def sign_env():
    from fastmeta.compat.dream import sign
    from fastmeta.render.egl import EGLUnavailableError

    try:
        return sign.MiniWorldSign.create_env(0)
    except EGLUnavailableError as err:
        pytest.skip(f"no headless OpenGL context on this machine: {err}")


@pytest.mark.render
def test_sign_class_interface(sign_env):
    from fastmeta.compat.dream import sign

    cls = sign.MiniWorldSign
    params = inspect.signature(cls.create_env).parameters
    assert [(p.name, p.default) for p in params.values()] == [
        ("seed", inspect.Parameter.empty),
        ("test", False),
        ("wrapper", None),
    ]
    assert cls.env_ids() == ([0, 1, 2], [0, 1, 2])
    assert issubclass(cls.instruction_wrapper(), meta_exploration.InstructionWrapper)
    env = cls.create_env(1, test=True)
    inner = cls.instruction_wrapper()(
        env, [], seed=2, test=True, first_episode_no_optimization=True
    )
    for layer in (env, inner, MultiEpisodeWrapper(inner, 2)):
        # embed.get_state_embedder: not a grid, then the MiniWorld embedder by isinstance
        assert not isinstance(layer.unwrapped, grid.GridEnv)
        assert isinstance(layer.unwrapped, cls)
    assert all(grid.Action(a).name for a in range(env.action_space.n))  # main.py's log names


@pytest.mark.render
def test_sign_states_spaces_and_trial(sign_env):
    from fastmeta.compat.dream import sign

    cls = sign.MiniWorldSign
    env = cls.create_env(4)
    inner = cls.instruction_wrapper()(env, [], seed=5, first_episode_no_optimization=True)
    trial = MultiEpisodeWrapper(inner, 2)
    assert trial.action_space.n == 4
    with pytest.raises(AssertionError):
        MultiEpisodeWrapper(env, 2)
    episode = run_episode(trial, np.random.RandomState(0), max_steps=40)
    assert episode[-1].done and [e.done for e in episode].count(True) == 1
    states = [e.state for e in episode] + [episode[-1].next_state]
    for s in states:
        assert isinstance(s, InstructionState)
        assert s.observation.dtype == torch.uint8 and s.observation.shape == (3, 80, 60)
    # MiniWorldEmbedder: stack, scale, conv over (3, 80, 60); channels from the space
    assert trial.observation_space["observation"].shape[0] == 3
    images = torch.stack([s.observation for s in states]) / 255.0
    torch.nn.Conv2d(3, 4, kernel_size=5, stride=2)(images)
    check_vocabulary_space(
        trial.observation_space["env_id"], [torch.tensor([s.env_id]) for s in states]
    )
    check_vocabulary_space(
        trial.observation_space["instructions"], [torch.tensor(s.instructions) for s in states]
    )
    assert trial.observation_space["env_id"].high.tolist() == [3]
    assert trial.observation_space["instructions"].high.tolist() == [2]
    assert all(type(e.done) is bool for e in episode)
    ids = torch.tensor([traj[0].state.env_id for traj in (episode, episode)])
    assert ids.shape == (2,) and ids[0].item() == env.env_id  # IDEmbedder unsqueezes 1-d ids


@pytest.mark.render
def test_sign_exploration_pattern_and_render(sign_env):
    from fastmeta.compat.dream import sign

    cls = sign.MiniWorldSign
    env = cls.create_env(3)
    exploration = run_episode(
        cls.instruction_wrapper()(env, [], seed=2), np.random.RandomState(1), max_steps=20
    )
    exploit = cls.instruction_wrapper()(env, exploration, seed=4)
    state = exploit.reset()
    assert state.trajectory is exploration
    state, _, _, _ = exploit.step(1)
    assert state.trajectory is exploration and state.prev_action == 1
    render = exploit.render()
    plain_height = render.image().height
    render.write_text("Action: up")
    image = render.image()
    assert isinstance(image, Image.Image) and image.height > plain_height
