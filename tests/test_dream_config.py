"""DREAM configs: the original's JSON keys, deep merge, bindings, presets, clear errors."""

import json

import pytest

from fastmeta.agents.dream import config as C


def test_default_is_the_original_config():
    cfg = C.resolve("default")
    ia, ea = cfg["instruction_agent"], cfg["exploration_agent"]
    assert cfg["environment"] == "vanilla"
    assert ia["min_buffer_size"] == 500 and ea["min_buffer_size"] == 8000
    assert ia["buffer"] == {"type": "sequential", "max_buffer_size": 16000, "sequence_length": 50}
    assert ia["policy"]["embedder"]["trajectory_embedder"] == {"type": "ours", "penalty": 0.1}
    assert ea["policy"]["embedder"]["experience_embedder"]["action_embed_dim"] == 16
    assert cfg["fastmeta"]["num_envs"] == 1 and cfg["fastmeta"]["quirks"]["unused_linear"]


def test_miniworld_overrides_apply_for_sign():
    cfg = C.resolve("paper", environment="miniworld_sign")
    emb = cfg["instruction_agent"]["policy"]["embedder"]
    assert emb["obs_embedder"]["embed_dim"] == 128 and emb["trajectory_embedder"]["penalty"] == 0
    assert cfg["exploration_agent"]["buffer"]["max_buffer_size"] == 10000


def test_fast_sign_keeps_the_miniworld_definition_with_buffers_that_fit_in_memory():
    cfg = C.resolve("fast", environment="miniworld_sign")
    ia, ea = cfg["instruction_agent"], cfg["exploration_agent"]
    assert ia["policy"]["embedder"]["obs_embedder"]["embed_dim"] == 128
    assert ia["policy"]["embedder"]["trajectory_embedder"]["penalty"] == 0
    assert ea["policy"]["embedder"]["experience_embedder"]["state_embed_dim"] == 128
    assert (
        ia["learning_rate"]
        == C.resolve("fast", environment="map")["instruction_agent"]["learning_rate"]
    )
    # uint8 frames: an exploitation entry holds its own and its exploration episode's 21 frames
    frame = 3 * 80 * 60
    replay_bytes = (
        ia["buffer"]["max_buffer_size"] * 42 + ea["buffer"]["max_buffer_size"] * 21
    ) * frame
    assert replay_bytes < 8 * 2**30


def test_deep_merge_keeps_siblings():
    a = {"x": {"y": 1, "z": {"w": 2}}, "k": 1}
    out = C.deep_merge(a, {"x": {"z": {"w": 3}}})
    assert out == {"x": {"y": 1, "z": {"w": 3}}, "k": 1} and a["x"]["z"]["w"] == 2


def test_files_then_bindings_left_to_right(tmp_path):
    f1, f2 = tmp_path / "a.json", tmp_path / "b.json"
    f1.write_text(json.dumps({"instruction_agent": {"batch_size": 8, "learning_rate": 0.01}}))
    f2.write_text(json.dumps({"instruction_agent": {"batch_size": 16}}))
    cfg = C.resolve(
        "default",
        [f1, f2],
        ["instruction_agent.learning_rate=0.5", 'environment="map"', "fastmeta.device=cpu"],
    )
    ia = cfg["instruction_agent"]
    assert ia["batch_size"] == 16 and ia["learning_rate"] == 0.5 and ia["update_freq"] == 4
    assert cfg["environment"] == "map" and cfg["fastmeta"]["device"] == "cpu"


def test_fast_preset_has_per_env_layer_when_present():
    cfg = C.resolve("fast", environment="distraction")
    assert cfg["fastmeta"]["num_envs"] > 1
    assert not cfg["fastmeta"]["quirks"]["whole_tensor_dueling_mean"]


@pytest.mark.parametrize(
    "binding, needle",
    [
        ("instruction_agent.bach_size=3", "instruction_agent.bach_size"),
        ("fastmeta.quirks.nope=True", "fastmeta.quirks.nope"),
        ("instruction_agent.batch_size=0", "instruction_agent.batch_size"),
        ("instruction_agent.batch_size=2.5", "instruction_agent.batch_size"),
        ("instruction_agent.learning_rate='fast'", "instruction_agent.learning_rate"),
        ("fastmeta.quirks.unused_linear=1", "fastmeta.quirks.unused_linear"),
        ("instruction_agent.buffer.type='vanilla'", "instruction_agent.buffer.type"),
        ("environment=chess", "environment"),
        ("instruction_agent=3", "instruction_agent"),
        ("no_equals_sign", "key.sub=value"),
    ],
)
def test_bad_keys_and_values_name_the_key(binding, needle):
    with pytest.raises(C.ConfigError, match=needle.replace(".", r"\.")):
        C.resolve("default", bindings=[binding])


def test_bad_preset_and_file(tmp_path):
    with pytest.raises(C.ConfigError, match="preset"):
        C.resolve("turbo")
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(C.ConfigError, match="bad.json"):
        C.resolve("default", [bad])
