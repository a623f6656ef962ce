"""DREAM configs: the original's JSON format, deep merge, `-b key=value` bindings, validation.

A run's config is `dream_default.json` (the original's configs/default.json plus fastmeta's
`fastmeta` section), deep-merged with a preset, then user JSON files left to right, then
bindings (spec §3.1). Every key must exist in the default config: unknown keys, wrong types and
unsupported values raise `ConfigError` naming the key. The baselines' configs use the same
layering (`layered_config`) over their own base configs.
"""

from __future__ import annotations

import ast
import copy
import json
from importlib import resources
from pathlib import Path

PRESETS = ("default", "paper", "fast", "miniworld")
ENVIRONMENTS = ("vanilla", "distraction", "map", "cooking", "miniworld_sign")

# Keys whose value selects a component: fastmeta implements the one the DREAM learner uses.
_CHOICES = {
    "instruction_agent.type": ("learned",),
    "instruction_agent.policy.type": ("recurrent",),
    "instruction_agent.policy.embedder.type": ("instruction",),
    "instruction_agent.policy.embedder.trajectory_embedder.type": ("ours",),
    "instruction_agent.buffer.type": ("sequential",),
    "exploration_agent.type": ("learned",),
    "exploration_agent.policy.type": ("recurrent",),
    "exploration_agent.policy.embedder.type": ("recurrent",),
    "exploration_agent.buffer.type": ("sequential",),
    "environment": ENVIRONMENTS,
    "fastmeta.ids_in_updates": ("alternate", "random"),
}
_POSITIVE = (
    "batch_size",
    "update_freq",
    "sync_target_freq",
    "max_buffer_size",
    "total_steps",
    "embed_dim",
    "state_embed_dim",
    "action_embed_dim",
    "num_envs",
    "sequence_length",
)


class ConfigError(ValueError):
    pass


def load_preset(name: str) -> dict:
    path = resources.files("fastmeta") / "presets" / f"dream_{name}.json"
    if not path.is_file():
        raise ConfigError(f"unknown preset {name!r}; available: {', '.join(PRESETS)}")
    return json.loads(path.read_text())


def preset_exists(name: str) -> bool:
    return (resources.files("fastmeta") / "presets" / f"dream_{name}.json").is_file()


def deep_merge(base: dict, override: dict) -> dict:
    """A new dict: nested dicts merge key by key, everything else in `override` replaces."""
    out = copy.deepcopy(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def parse_binding(binding: str) -> dict:
    """`a.b.c=value` → {"a": {"b": {"c": value}}}; values are Python literals (bare words are
    taken as strings, so `environment=map` works as well as `environment="map"`)."""
    if "=" not in binding:
        raise ConfigError(f"binding {binding!r} must look like key.sub=value")
    key, raw = binding.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"binding {binding!r} has an empty key")
    try:
        value = ast.literal_eval(raw.strip())
    except (ValueError, SyntaxError):
        value = raw.strip()
    out: dict = {}
    node = out
    parts = key.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value
    return out


def validate(config: dict, schema: dict, prefix: str = "") -> None:
    """Raise ConfigError for keys absent from `schema`, wrong types or bad values."""
    for k, v in config.items():
        name = f"{prefix}{k}"
        if k not in schema:
            near = ", ".join(sorted(schema)) if isinstance(schema, dict) else ""
            raise ConfigError(f"unknown config key {name!r} (known keys here: {near})")
        ref = schema[k]
        if isinstance(ref, dict):
            if not isinstance(v, dict):
                raise ConfigError(f"config key {name!r} must be a dict, got {v!r}")
            validate(v, ref, name + ".")
            continue
        if name in _CHOICES and v not in _CHOICES[name]:
            raise ConfigError(
                f"config key {name!r} = {v!r} is not supported; expected one of {_CHOICES[name]}"
            )
        if ref is None or v is None:
            continue
        if isinstance(ref, bool) != isinstance(v, bool):
            raise ConfigError(f"config key {name!r} must be a bool like {ref!r}, got {v!r}")
        if isinstance(ref, (int, float)) and not isinstance(ref, bool):
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise ConfigError(f"config key {name!r} must be a number, got {v!r}")
            if isinstance(ref, int) and isinstance(v, float) and not v.is_integer():
                raise ConfigError(f"config key {name!r} must be an integer, got {v!r}")
            if k in _POSITIVE and v <= 0:
                raise ConfigError(f"config key {name!r} must be positive, got {v!r}")
            if v < 0:
                raise ConfigError(f"config key {name!r} must be >= 0, got {v!r}")
        elif isinstance(ref, str) and not isinstance(v, str):
            raise ConfigError(f"config key {name!r} must be a string, got {v!r}")


def layered_config(
    schema: dict,
    base,
    preset_layers: list,
    files=(),
    bindings=(),
    environment: str | None = None,
    overrides: dict | None = None,
    env_layers=lambda env: [],
) -> dict:
    """base(env) ⊕ preset layers ⊕ env_layers(env) ⊕ environment ⊕ files ⊕ bindings ⊕ overrides,
    each layer and the result validated against `schema`. The env is the last one a layer names
    (else the schema's); it is found from the other layers first because it picks `base` and
    `env_layers`."""
    layers = list(preset_layers)
    if environment is not None:
        layers.append({"environment": environment})
    for f in files:
        try:
            layers.append(json.loads(Path(f).read_text()))
        except json.JSONDecodeError as e:
            raise ConfigError(f"config file {f}: invalid JSON ({e})") from None
    layers.extend(parse_binding(b) for b in bindings)
    if overrides:
        layers.append(overrides)
    for layer in layers:
        validate(layer, schema)
    env = schema["environment"]
    for layer in layers:
        env = layer.get("environment", env)
    if env not in ENVIRONMENTS:
        raise ConfigError(
            f"config key 'environment' = {env!r} is not supported; expected one of {ENVIRONMENTS}"
        )
    specific = env_layers(env)
    for layer in specific:
        validate(layer, schema)
    layers[len(preset_layers) : len(preset_layers)] = specific
    config = base(env)
    for layer in layers:
        config = deep_merge(config, layer)
    config["environment"] = env
    validate(config, schema)
    return config


def resolve(
    preset: str = "default",
    files=(),
    bindings=(),
    environment: str | None = None,
    overrides: dict | None = None,
) -> dict:
    """The full config of a run: default ⊕ preset (⊕ preset_<env>) ⊕ files ⊕ bindings."""
    default = load_preset("default")
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; available: {', '.join(PRESETS)}")
    presets = [] if preset == "default" else [load_preset(preset)]

    def base(env):
        # The original's miniworld.json (wider embedders, no exploration penalty) is part of the
        # sign benchmark's definition, so every preset builds on it.
        if env == "miniworld_sign":
            return deep_merge(default, load_preset("miniworld"))
        return default

    def env_layers(env):
        # Per-benchmark tuning of a preset sits between the preset and the user's layers.
        if preset != "default" and preset_exists(f"{preset}_{env}"):
            return [load_preset(f"{preset}_{env}")]
        return []

    return layered_config(
        default, base, presets, files, bindings, environment, overrides, env_layers
    )
