"""DREAM configs: the original's JSON format, deep merge, `-b key=value` bindings, validation.

A run's config is `dream_default.json` (the original's configs/default.json plus fastmeta's
`fastmeta` section), deep-merged with a preset, then user JSON files left to right, then
bindings (spec §3.1). Every key must exist in the default config: unknown keys, wrong types and
unsupported values raise `ConfigError` naming the key. The baselines' configs use the same
layering (`layered_config`) over their own base configs.
"""

from __future__ import annotations

import json
from importlib import resources

from fastmeta.agents.common.config import (  # noqa: F401  (re-exported for callers)
    ConfigError,
    deep_merge,
    layered_config,
    parse_binding,
    validate,
)

PRESETS = ("default", "paper", "fast", "miniworld")
ENVIRONMENTS = ("vanilla", "distraction", "map", "cooking", "miniworld_sign")

# Keys whose value selects a component: fastmeta implements the one the DREAM learner uses.
CHOICES = {
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


def load_preset(name: str) -> dict:
    path = resources.files("fastmeta") / "presets" / f"dream_{name}.json"
    if not path.is_file():
        raise ConfigError(f"unknown preset {name!r}; available: {', '.join(PRESETS)}")
    return json.loads(path.read_text())


def preset_exists(name: str) -> bool:
    return (resources.files("fastmeta") / "presets" / f"dream_{name}.json").is_file()


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
        default,
        base,
        presets,
        files,
        bindings,
        environment,
        overrides,
        env_layers,
        environments=ENVIRONMENTS,
        choices=CHOICES,
    )
