"""Sweep files: TOML parsing, validation and the list of trials (no Ray here).

    name = "dream_paper"            # the sweep directory is <out>/<name>
    out = "sweeps-out"              # optional (also `fastmeta sweep --out DIR`)

    [grid]                          # or several [[grid]] tables, their trials concatenated
    learner = ["dream", "rl2", "import", "varibad"]   # also "first-explore"
    env = ["distraction", "map"]
    seed = [0, 1, 2]
    preset = ["fast"]               # optional: the learner's own default
    control = ["none", "always-exploit"]              # first-explore only (optional)
    bindings = { "fastmeta.num_envs" = 32 }           # optional: this grid's trials only
    [grid.variants]                 # optional: named binding sets, one more grid axis
    base = {}
    lr3 = { "instruction_agent.learning_rate" = 3e-4 }

    [bindings]                      # `-b key=value` for every trial
    "fastmeta.max_env_steps" = 2700000
    [bindings.learner.dream]        # only for this learner's trials
    [bindings.env.cooking]          # only for this env's trials

    [resources]                     # per trial
    cpus = 1                        # Ray CPUs (default: nproc)
    gpus = 0                        # Ray GPUs (> 0 also passes --device cuda)
    nproc = 1                       # data-parallel ranks (--nproc N; needs N cpus)
    threads = 1                     # --threads (default: cpus // nproc)
    max_failures = 2                # restarts of a trial whose process dies
    max_concurrent = 4              # optional cap on trials running at once
    [resources.env.miniworld_sign]  # per-learner / per-env cpus, gpus, nproc, threads
    gpus = 1

Binding values are written as on the command line: a TOML string is passed as it is (so
"null" is a JSON null, e.g. `"fastmeta.max_minutes" = "null"` lifts a preset's time limit),
numbers, booleans and arrays as literals; nested tables are dotted keys. The order is the file's
bindings, the learner's, the env's, the grid's, the variant's, then `fastmeta sweep -b` (last
wins).

`load()` checks everything before a trial starts: unknown keys, learners, envs a learner does not
have, presets, controls, seeds, resources, and every trial's resolved config (the learner's own
`resolve`, so a bad binding fails here, naming the trial and the key).
"""

from __future__ import annotations

import itertools
import re
import shlex
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fastmeta.agents.baselines import config as baseline_cfg
from fastmeta.agents.common.config import ConfigError
from fastmeta.agents.dream import config as dream_cfg
from fastmeta.agents.first_explore import config as fe_cfg

try:
    import tomllib
except ImportError:  # Python 3.10: the same parser as a package (the cluster extra installs it)
    import tomli as tomllib

DEFAULT_OUT = "sweeps-out"
FIRST_EXPLORE = "first-explore"
BASELINES = tuple(baseline_cfg.METHODS)  # rl2, import, varibad
LEARNERS = ("dream", *BASELINES, FIRST_EXPLORE)
ENVS = {
    "dream": dream_cfg.ENVIRONMENTS,
    **dict.fromkeys(BASELINES, dream_cfg.ENVIRONMENTS),
    FIRST_EXPLORE: fe_cfg.ENVIRONMENTS,
}
PRESETS = {
    "dream": dream_cfg.PRESETS,
    **dict.fromkeys(BASELINES, baseline_cfg.PRESETS),
    FIRST_EXPLORE: fe_cfg.PRESETS,
}
# the preset `fastmeta train <learner>` uses without --preset
DEFAULT_PRESET = {"dream": "default", **dict.fromkeys(BASELINES, "default"), FIRST_EXPLORE: "paper"}
CONTROLS = fe_cfg.CONTROLS

TOP_KEYS = ("name", "out", "grid", "bindings", "resources")
GRID_KEYS = ("learner", "env", "seed", "preset", "control", "bindings", "variants")
TRIAL_RESOURCES = ("cpus", "gpus", "nproc", "threads")
RESOURCE_KEYS = (*TRIAL_RESOURCES, "max_failures", "max_concurrent", "learner", "env")
DEFAULT_MAX_FAILURES = 2
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class SweepError(ValueError):
    """A sweep file (or a command-line override) that cannot run; the message names the key."""


@dataclass(frozen=True)
class Trial:
    """One run of the grid: an ordinary `fastmeta train` experiment in `run_dir`."""

    name: str
    learner: str
    env: str
    seed: int
    preset: str
    control: str  # first-explore's control ("none" for every other learner)
    variant: str  # "" when the grid has no variants
    bindings: tuple  # "key=value" strings, in order
    cpus: float
    gpus: float
    nproc: int
    threads: int
    run_dir: str  # absolute: <sweep_dir>/runs/<name> (stored relative in trials.json)
    max_env_steps: int | None = None  # the resolved budget (None: the learner's own schedule)

    @property
    def method(self) -> str:
        """The method the comparison groups seeds under."""
        m = (
            self.control
            if self.learner == FIRST_EXPLORE and self.control != "none"
            else self.learner
        )
        parts = [m, self.preset] + ([self.variant] if self.variant else [])
        return "/".join(parts)

    def argv(self) -> list:
        """The command after the interpreter: `python <argv>` runs (or resumes) the trial."""
        run_dir = Path(self.run_dir)
        args = ["-m", "fastmeta", "train", self.learner, "--env", self.env]
        if self.learner == FIRST_EXPLORE and self.control != "none":
            args += ["--control", self.control]
        args += ["-s", str(self.seed), "--preset", self.preset]
        for b in self.bindings:
            args += ["-b", b]
        args += ["--threads", str(self.threads)]
        if self.gpus > 0 and not _binds(self.bindings, "device"):
            args += ["--device", "cuda"]
        if self.nproc != 1:
            args += ["--nproc", str(self.nproc)]
        # relative to the sweep directory, where trials run: the command is the same on every
        # machine and in every clone, so a committed sweep directory resumes anywhere
        args += ["--out", run_dir.parent.name, run_dir.name, "--resume", "--no-progress"]
        return args

    def command(self) -> str:
        return "python " + " ".join(shlex.quote(a) for a in self.argv())

    def to_dict(self) -> dict:
        d = asdict(self)
        d["bindings"] = list(self.bindings)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Trial:
        return cls(**{**d, "bindings": tuple(d["bindings"])})


@dataclass
class Sweep:
    name: str
    file: Path
    directory: Path  # absolute
    trials: list
    max_failures: int = DEFAULT_MAX_FAILURES
    max_concurrent: int | None = None
    cli_bindings: tuple = field(default_factory=tuple)

    @property
    def runs_dir(self) -> Path:
        return self.directory / "runs"


def _binds(bindings, key: str) -> bool:
    """Whether a binding sets fastmeta.<key> (or the bare key First-Explore accepts)."""
    return any(b.split("=", 1)[0].strip() in (key, f"fastmeta.{key}") for b in bindings)


def _list_of(value, what: str, kind, allowed=None) -> list:
    """`value` as a non-empty list of `kind` (a lone value is a list of one)."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise SweepError(f"{what} is empty")
    for v in items:
        if not isinstance(v, kind) or (isinstance(v, bool) and kind is not bool):
            raise SweepError(f"{what}: {v!r} is not a {kind.__name__}")
        if allowed is not None and v not in allowed:
            raise SweepError(f"{what}: unknown value {v!r}; allowed: {', '.join(allowed)}")
    if len(set(items)) != len(items):
        raise SweepError(f"{what} repeats a value: {items!r}")
    return items


def _check_keys(table, allowed, what: str) -> None:
    if not isinstance(table, dict):
        raise SweepError(f"{what} must be a table, got {table!r}")
    for k in table:
        if k not in allowed:
            raise SweepError(f"unknown key {k!r} in {what}; allowed: {', '.join(allowed)}")


def _binding_value(value, key: str) -> str:
    """A TOML value as the text of `-b key=value` (strings as they are: see the module doc)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float, list)):
        return repr(value)
    raise SweepError(f"binding {key!r}: unsupported value {value!r} (use a string or a number)")


def flatten_bindings(table: dict, what: str, prefix: str = "") -> list:
    """A TOML table of bindings (dotted keys or nested tables) as "key=value" strings."""
    if not isinstance(table, dict):
        raise SweepError(f"{what} must be a table of key = value, got {table!r}")
    out = []
    for k, v in table.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out += flatten_bindings(v, what, key + ".")
        else:
            out.append(f"{key}={_binding_value(v, key)}")
    return out


def check_binding(b: str, what: str) -> str:
    key, eq, _ = b.partition("=")
    if not eq or not key.strip():
        raise SweepError(f"{what}: {b!r} must look like key.sub=value")
    return b


def _scoped(table: dict, scope: str, allowed, what: str) -> dict:
    """bindings.<scope> / resources.<scope>: {name: table} with names from `allowed`."""
    sub = table.get(scope, {})
    _check_keys(sub, allowed, f"{what}.{scope}")
    return sub


def _resources(table: dict, what: str) -> dict:
    """The per-trial resource keys of one table, checked."""
    out = {}
    for k in TRIAL_RESOURCES:
        if k not in table:
            continue
        v = table[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise SweepError(f"{what}.{k} must be a number, got {v!r}")
        if k in ("nproc", "threads") and (not isinstance(v, int) or v < 1):
            raise SweepError(f"{what}.{k} must be an integer >= 1, got {v!r}")
        if k == "cpus" and v <= 0:
            raise SweepError(f"{what}.cpus must be > 0, got {v!r}")
        if k == "gpus" and v < 0:
            raise SweepError(f"{what}.gpus must be >= 0, got {v!r}")
        out[k] = v
    return out


def _trial_resources(base: dict, per_learner: dict, per_env: dict, name: str) -> dict:
    r = {**base, **per_learner, **per_env}
    nproc = int(r.get("nproc", 1))
    cpus = r.get("cpus", nproc)
    if cpus < nproc:
        raise SweepError(
            f"trial {name}: resources.cpus ({cpus}) must be at least resources.nproc ({nproc}): "
            "each data-parallel rank needs a CPU"
        )
    threads = int(r.get("threads", max(1, int(cpus // nproc))))
    return {"cpus": cpus, "gpus": r.get("gpus", 0), "nproc": nproc, "threads": threads}


def _grids(data: dict) -> list:
    if "grid" not in data:
        raise SweepError("the sweep file has no [grid] table (learner, env, seed)")
    grids = data["grid"] if isinstance(data["grid"], list) else [data["grid"]]
    if not grids:
        raise SweepError("grid is empty")
    return grids


def resolve_trial_config(trial: Trial) -> dict:
    """The trial's full config, resolved as `fastmeta train` will (raises ConfigError)."""
    fm = {"seed": trial.seed, "torch_threads": trial.threads}
    if trial.gpus > 0 and not _binds(trial.bindings, "device"):
        fm["device"] = "cuda"
    overrides = {"fastmeta": fm}
    if trial.learner == "dream":
        return dream_cfg.resolve(trial.preset, (), trial.bindings, trial.env, overrides)
    if trial.learner == FIRST_EXPLORE:
        return fe_cfg.resolve(trial.env, trial.preset, (), trial.bindings, trial.control, overrides)
    return baseline_cfg.resolve(
        trial.learner, trial.preset, (), trial.bindings, trial.env, overrides
    )


def load(path, bindings=(), out=None, resolve: bool = True) -> Sweep:
    """Read and check the sweep file at `path`; `bindings` (-b) apply to every trial, `out`
    replaces the file's `out`. Raises SweepError naming the key (or the trial and config key)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SweepError(f"no sweep file {path}") from None
    except tomllib.TOMLDecodeError as e:
        raise SweepError(f"{path}: invalid TOML ({e})") from None
    _check_keys(data, TOP_KEYS, f"{path.name} (top level)")

    name = data.get("name", path.stem)
    if not isinstance(name, str) or not _NAME.match(name):
        raise SweepError(
            f"name {name!r} must be a plain directory name (letters, digits, '_', '.', '-')"
        )
    out_dir = out if out is not None else data.get("out", DEFAULT_OUT)
    if not isinstance(out_dir, str) or not out_dir:
        raise SweepError(f"out must be a directory path, got {out_dir!r}")
    directory = Path(out_dir).expanduser().resolve() / name

    # bindings: the file's own, per learner, per env; then the command line's
    btable = data.get("bindings", {})
    if not isinstance(btable, dict):
        raise SweepError(f"bindings must be a table, got {btable!r}")
    common = flatten_bindings(
        {k: v for k, v in btable.items() if k not in ("learner", "env")}, "bindings"
    )
    by_learner = {
        k: flatten_bindings(v, f"bindings.learner.{k}")
        for k, v in _scoped(btable, "learner", LEARNERS, "bindings").items()
    }
    all_envs = tuple(dict.fromkeys(e for envs in ENVS.values() for e in envs))
    by_env = {
        k: flatten_bindings(v, f"bindings.env.{k}")
        for k, v in _scoped(btable, "env", all_envs, "bindings").items()
    }
    cli = [check_binding(b, "-b") for b in bindings]

    # resources
    rtable = data.get("resources", {})
    _check_keys(rtable, RESOURCE_KEYS, "resources")
    base_res = _resources(rtable, "resources")
    res_learner = {}
    for k, v in _scoped(rtable, "learner", LEARNERS, "resources").items():
        _check_keys(v, TRIAL_RESOURCES, f"resources.learner.{k}")
        res_learner[k] = _resources(v, f"resources.learner.{k}")
    res_env = {}
    for k, v in _scoped(rtable, "env", all_envs, "resources").items():
        _check_keys(v, TRIAL_RESOURCES, f"resources.env.{k}")
        res_env[k] = _resources(v, f"resources.env.{k}")
    max_failures = rtable.get("max_failures", DEFAULT_MAX_FAILURES)
    if isinstance(max_failures, bool) or not isinstance(max_failures, int) or max_failures < -1:
        raise SweepError(
            f"resources.max_failures must be an integer >= 0 (or -1: no limit), got {max_failures!r}"
        )
    max_concurrent = rtable.get("max_concurrent")
    if max_concurrent is not None and (
        isinstance(max_concurrent, bool)
        or not isinstance(max_concurrent, int)
        or max_concurrent < 1
    ):
        raise SweepError(
            f"resources.max_concurrent must be an integer >= 1, got {max_concurrent!r}"
        )

    trials, seen = [], {}
    for gi, grid in enumerate(_grids(data)):
        what = "grid" if not isinstance(data["grid"], list) else f"grid[{gi}]"
        _check_keys(grid, GRID_KEYS, what)
        for key in ("learner", "env", "seed"):
            if key not in grid:
                raise SweepError(f"{what} has no {key!r} (a list of {key}s)")
        learners = _list_of(grid["learner"], f"{what}.learner", str, LEARNERS)
        envs = _list_of(grid["env"], f"{what}.env", str)
        for learner in learners:
            for env in envs:
                if env not in ENVS[learner]:
                    raise SweepError(
                        f"{what}.env: {env!r} is not an env of learner {learner!r}; "
                        f"allowed: {', '.join(ENVS[learner])} (put other learners in their own "
                        "[[grid]] table)"
                    )
        seeds = _list_of(grid["seed"], f"{what}.seed", int)
        if any(s < 0 for s in seeds):
            raise SweepError(f"{what}.seed: seeds must be >= 0, got {seeds!r}")
        presets = None
        if "preset" in grid:
            presets = _list_of(grid["preset"], f"{what}.preset", str)
            for learner in learners:
                for p in presets:
                    if p not in PRESETS[learner]:
                        raise SweepError(
                            f"{what}.preset: unknown preset {p!r} for learner {learner!r}; "
                            f"allowed: {', '.join(PRESETS[learner])}"
                        )
        controls = ["none"]
        if "control" in grid:
            if FIRST_EXPLORE not in learners:
                raise SweepError(
                    f"{what}.control applies to learner {FIRST_EXPLORE!r} only, which this grid "
                    "does not have"
                )
            controls = _list_of(grid["control"], f"{what}.control", str, CONTROLS)
        grid_bindings = flatten_bindings(grid.get("bindings", {}), f"{what}.bindings")
        variants = {"": []}
        if "variants" in grid:
            vt = grid["variants"]
            if not isinstance(vt, dict) or not vt:
                raise SweepError(
                    f"{what}.variants must be a non-empty table of name = {{ bindings }}"
                )
            variants = {}
            for vname, vb in vt.items():
                if not _NAME.match(vname):
                    raise SweepError(f"{what}.variants: {vname!r} must be a plain name")
                variants[vname] = flatten_bindings(vb, f"{what}.variants.{vname}")

        for learner, env in itertools.product(learners, envs):
            own_controls = controls if learner == FIRST_EXPLORE else ["none"]
            for preset, control, (vname, vb), seed in itertools.product(
                presets or [DEFAULT_PRESET[learner]], own_controls, variants.items(), seeds
            ):
                ctl = "" if control == "none" else f"-{control}"
                tname = f"{learner}-{env}{ctl}-{preset}-s{seed}" + (f"-{vname}" if vname else "")
                if tname in seen:
                    raise SweepError(f"trial {tname} appears twice ({seen[tname]} and {what})")
                seen[tname] = what
                res = _trial_resources(
                    base_res, res_learner.get(learner, {}), res_env.get(env, {}), tname
                )
                scoped = by_learner.get(learner, []) + by_env.get(env, []) + grid_bindings
                trials.append(
                    Trial(
                        name=tname,
                        learner=learner,
                        env=env,
                        seed=seed,
                        preset=preset,
                        control=control,
                        variant=vname,
                        bindings=tuple(common + scoped + vb + cli),
                        run_dir=str(directory / "runs" / tname),
                        **res,
                    )
                )
    if resolve:
        trials = [_with_config(t) for t in trials]
    return Sweep(
        name=name,
        file=path,
        directory=directory,
        trials=trials,
        max_failures=max_failures,
        max_concurrent=max_concurrent,
        cli_bindings=tuple(cli),
    )


def _with_config(trial: Trial) -> Trial:
    try:
        config = resolve_trial_config(trial)
    except (ConfigError, ValueError) as e:
        raise SweepError(f"trial {trial.name}: {e}") from None
    budget = config["fastmeta"].get("max_env_steps")
    return Trial(**{**asdict(trial), "max_env_steps": None if budget is None else int(budget)})
