"""Baseline configs in the original's format (spec §3.1): rl2.json is the base of all three.

E-RL² = baseline_rl2.json; IMPORT = rl2 ⊕ baseline_import.json; VariBAD = rl2 ⊕
baseline_varibad.json; on the sign env the `-miniworld` file of the method is merged next, as the
original's `-c` lists do. Then a preset (`fast`), the user's JSON files and `-b key=value`
bindings. Every key must exist in the method's own config (rl2 ⊕ method): unknown keys, wrong
types and unsupported values raise `ConfigError` naming the key. Merge, binding and validation
rules and the layering itself are the DREAM learner's (fastmeta.agents.dream.config).
"""

from __future__ import annotations

import json
from importlib import resources

from fastmeta.agents.common.config import ConfigError, deep_merge, layered_config
from fastmeta.agents.dream.config import ENVIRONMENTS

METHODS = {"rl2": "recurrent", "import": "import", "varibad": "varibad"}  # name → embedder type
PRESETS = ("default", "paper", "fast")

_CHOICES = {
    ("agent", "type"): ("learned",),
    ("agent", "policy", "type"): ("recurrent",),
    ("agent", "buffer", "type"): ("sequential",),
    ("agent", "policy", "embedder", "state_embedder", "type"): ("grid_instruction",),
}


def load_preset(name: str) -> dict:
    path = resources.files("fastmeta") / "presets" / f"baseline_{name}.json"
    if not path.is_file():
        raise ConfigError(f"no baseline preset file baseline_{name}.json")
    return json.loads(path.read_text())


def method_config(method: str, environment: str | None = None) -> dict:
    """The original's config of `method` before presets and user layers (also the schema)."""
    if method not in METHODS:
        raise ConfigError(f"unknown baseline {method!r}; choose from {', '.join(METHODS)}")
    config = load_preset("rl2")
    if method != "rl2":
        config = deep_merge(config, load_preset(method))
    if environment == "miniworld_sign":
        config = deep_merge(config, load_preset(f"{method}_miniworld"))
    return config


def _get(config: dict, path: tuple):
    for k in path:
        if not isinstance(config, dict) or k not in config:
            return None
        config = config[k]
    return config


def check_method(config: dict, method: str) -> None:
    """Values the baseline learner relies on (beyond the schema's types)."""
    emb = config["agent"]["policy"]["embedder"]
    if emb["type"] != METHODS[method]:
        raise ConfigError(
            f"config key 'agent.policy.embedder.type' = {emb['type']!r} but the "
            f"{method} learner needs {METHODS[method]!r}"
        )
    for path, allowed in _CHOICES.items():
        v = _get(config, path)
        if v is not None and v not in allowed:
            raise ConfigError(
                f"config key {'.'.join(path)!r} = {v!r} is not supported; expected one of {allowed}"
            )
    if method == "rl2":
        return
    hidden = emb["recurrent_embedder"]["embed_dim"]
    if method == "import" and emb["id_embedder"]["embed_dim"] != hidden:
        raise ConfigError(
            "config key 'agent.policy.embedder.id_embedder.embed_dim' must equal "
            f"recurrent_embedder.embed_dim ({hidden}): f(e) replaces h_t"
        )
    if method == "varibad" and emb["z_dim"] != hidden:
        raise ConfigError(
            "config key 'agent.policy.embedder.z_dim' must equal "
            f"recurrent_embedder.embed_dim ({hidden}): h_t is used as the mean of z"
        )


def resolve(
    method: str,
    preset: str = "default",
    files=(),
    bindings=(),
    environment: str | None = None,
    overrides: dict | None = None,
) -> dict:
    """The full config of a baseline run: method config ⊕ preset ⊕ files ⊕ bindings."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; available: {', '.join(PRESETS)}")
    schema = method_config(method)
    presets = [] if preset == "default" else [load_preset(preset)]
    config = layered_config(
        schema,
        lambda env: method_config(method, env),
        presets,
        files,
        bindings,
        environment,
        overrides,
        environments=ENVIRONMENTS,
    )
    check_method(config, method)
    return config
