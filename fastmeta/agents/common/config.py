"""Config layering every learner shares: JSON layers deep-merged in order, `-b key.sub=value`
bindings, validation against the learner's full default config, and the `fastmeta` section's one
vocabulary of system keys.

A run's config is the learner's base config ⊕ preset layers ⊕ per-env layers ⊕ `environment` ⊕
user JSON files ⊕ bindings ⊕ overrides (command-line flags). Every key must exist in the base
config: unknown keys, wrong types and unsupported values raise `ConfigError` naming the key.

The `fastmeta` section holds what is not the original's hyperparameters; these keys mean the
same for every learner (`SYSTEM_KEYS`):

    seed, device, torch_threads, precision     what runs and where
    max_env_steps, max_minutes, stop_test_return   budgets (null: no bound)
    eval_every, log_every, checkpoint_every    cadences, in the learner's unit (DREAM meta-episodes,
                                               baseline trials, First-Explore updates)
    tensorboard                                write TensorBoard scalars besides the CSVs
"""

from __future__ import annotations

import ast
import copy
import json
from pathlib import Path

from fastmeta.agents.common.precision import PRECISIONS

SYSTEM_KEYS = (
    "seed",
    "device",
    "torch_threads",
    "precision",
    "max_env_steps",
    "max_minutes",
    "stop_test_return",
    "eval_every",
    "log_every",
    "checkpoint_every",
    "tensorboard",
)
CHOICES = {"fastmeta.precision": PRECISIONS}
POSITIVE = (
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
    "torch_threads",
    "eval_every",
    "log_every",
    "checkpoint_every",
)


_JSON_WORDS = {"true": True, "false": False, "null": None}


SIGNED = ("minval",)  # numbers that may be negative (First-Explore's treasure rho is -4)
NUMBER_OR_NULL = ("max_env_steps", "max_minutes", "stop_test_return")  # budgets: null is no bound


class ConfigError(ValueError):
    pass


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
    raw = raw.strip()
    if raw in _JSON_WORDS:  # JSON's spellings, as the config files use them
        value = _JSON_WORDS[raw]
    else:
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw
    out: dict = {}
    node = out
    parts = key.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value
    return out


def validate(config: dict, schema: dict, prefix: str = "", choices=None, positive=POSITIVE) -> None:
    """Raise ConfigError for keys absent from `schema`, wrong types or bad values. `choices` maps
    dotted keys to their allowed values (the shared ones, `CHOICES`, always apply); keys named in
    `positive` must be > 0."""
    choices = {**CHOICES, **(choices or {})}
    for k, v in config.items():
        name = f"{prefix}{k}"
        if k not in schema:
            near = ", ".join(sorted(schema)) if isinstance(schema, dict) else ""
            raise ConfigError(f"unknown config key {name!r} (known keys here: {near})")
        ref = schema[k]
        if isinstance(ref, dict):
            if not isinstance(v, dict):
                raise ConfigError(f"config key {name!r} must be a dict, got {v!r}")
            validate(v, ref, name + ".", choices, positive)
            continue
        if name in choices and v not in choices[name]:
            raise ConfigError(
                f"config key {name!r} = {v!r} is not supported; expected one of {choices[name]}"
            )
        if ref is None and k in NUMBER_OR_NULL and v is not None:
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise ConfigError(f"config key {name!r} must be a number or null, got {v!r}")
        if ref is None or v is None:
            continue
        if isinstance(ref, bool) != isinstance(v, bool):
            raise ConfigError(f"config key {name!r} must be a bool like {ref!r}, got {v!r}")
        if isinstance(ref, (int, float)) and not isinstance(ref, bool):
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise ConfigError(f"config key {name!r} must be a number, got {v!r}")
            if isinstance(ref, int) and isinstance(v, float) and not v.is_integer():
                raise ConfigError(f"config key {name!r} must be an integer, got {v!r}")
            if k in positive and v <= 0:
                raise ConfigError(f"config key {name!r} must be positive, got {v!r}")
            if v < 0 and k not in SIGNED:
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
    environments: tuple = (),
    choices=None,
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
        validate(layer, schema, choices=choices)
    env = schema["environment"]
    for layer in layers:
        env = layer.get("environment", env)
    if env not in environments:
        raise ConfigError(
            f"config key 'environment' = {env!r} is not supported; expected one of {environments}"
        )
    specific = env_layers(env)
    for layer in specific:
        validate(layer, schema, choices=choices)
    layers[len(preset_layers) : len(preset_layers)] = specific
    config = base(env)
    for layer in layers:
        config = deep_merge(config, layer)
    config["environment"] = env
    validate(config, schema, choices=choices)
    return config
