"""The package's imports run one way: each layer may import only its own layer and those below.

    kernels, render, reference  <-  envs  <-  registry, views, compat  <-  agents  <-  cli, bench

(docs/env_contract.md). `fastmeta.render` sits beside the kernels because the sign env draws its
frames with it. `fastmeta.reference` (the plain-Python references written from the specs) is at
the bottom so that it can never lean on what it checks: it imports nothing from fastmeta but
itself. `fastmeta.bench` (the benchmark suite) sits with the cli, which runs it: it measures
everything below; so does `fastmeta.sweep` (`fastmeta sweep`, which runs the learners' command
lines on Ray). The top-level `fastmeta/__init__.py` is in the registry/views layer: it may
import the registry and the views, nothing above them.

Every `.py` file under fastmeta/ is parsed with `ast`, so imports inside functions count too, as
do `importlib.import_module("...")` calls with a literal name. A new top-level module or package
has to be given a layer below before this test passes.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "fastmeta"

#: layer of each top-level part of the package (higher may import lower, never the reverse)
LAYERS = {
    "fastmeta.kernels": 0,
    "fastmeta.render": 0,
    "fastmeta.reference": 0,
    "fastmeta.envs": 1,
    "fastmeta.registry": 2,
    "fastmeta.views": 2,
    "fastmeta.compat": 2,
    "fastmeta": 2,  # the top-level __init__: may import registry and views
    "fastmeta.agents": 3,
    "fastmeta.cli": 4,
    "fastmeta.__main__": 4,
    "fastmeta.bench": 4,
    "fastmeta.sweep": 4,
}
LAYER_NAMES = ["kernels/render/reference", "envs", "registry/views/compat", "agents", "cli/bench"]


def layer_of(module: str) -> int | None:
    """The layer of a fastmeta module (None: a module no layer covers)."""
    if module == "fastmeta":
        return LAYERS["fastmeta"]
    parts = module.split(".")
    return LAYERS.get(".".join(parts[:2])) if len(parts) >= 2 else None


def module_name(path: Path) -> tuple[str, bool]:
    """(dotted module name, is a package __init__) of a file under fastmeta/."""
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts.pop()
    return ".".join(parts), is_package


def imported_modules(module: str, source: str, is_package: bool = False) -> list[tuple[str, int]]:
    """Every fastmeta module `source` imports, anywhere in the file, as (name, line number)."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            for alias in node.names:  # `from fastmeta import agents` imports fastmeta.agents
                sub = f"{target}.{alias.name}"
                use_sub = target == "fastmeta" and layer_of(sub) is not None
                found.append((sub if use_sub else target, node.lineno))
        elif (
            isinstance(node, ast.Call)
            and node.args
            and getattr(node.func, "attr", getattr(node.func, "id", None))
            in ("import_module", "__import__")
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.args[0].value, node.lineno))
    return [
        (name, line) for name, line in found if name == "fastmeta" or name.startswith("fastmeta.")
    ]


def upward_imports(module: str, source: str, is_package: bool = False) -> list[str]:
    """One line per import in `source` that runs upward (or into a module with no layer)."""
    own = layer_of(module)
    problems = []
    if own is None:
        return [f"{module}: not in any layer (add it to LAYERS in tests/test_layers.py)"]
    for target, line in imported_modules(module, source, is_package):
        layer = layer_of(target)
        if layer is None:
            problems.append(f"{module}:{line} imports {target}, which is in no layer")
        elif layer > own:
            problems.append(
                f"{module}:{line} ({LAYER_NAMES[own]}) imports {target} ({LAYER_NAMES[layer]})"
            )
    return problems


def package_files() -> list[Path]:
    return sorted(PACKAGE_DIR.rglob("*.py"))


# ---- the checker itself can fail ------------------------------------------------------------
def test_checker_flags_upward_imports():
    source = (
        "import numpy as np\n"
        "from fastmeta.kernels import rng\n"
        "from . import base\n"
        "def step():\n"
        "    from fastmeta.agents.dream import learner\n"
        "    import fastmeta.views.gymnasium_views\n"
        "    from ..registry import make\n"
        "    from fastmeta import cli\n"
        "    importlib.import_module('fastmeta.agents.common.run_loop')\n"
    )
    problems = upward_imports("fastmeta.envs.fake", source)
    assert [p.split(":")[1].split()[0] for p in problems] == ["5", "6", "7", "8", "9"], problems
    assert "fastmeta.envs.fake:5 (envs) imports fastmeta.agents.dream (agents)" in problems


def test_checker_resolves_package_relative_imports_and_allows_downward_ones():
    assert (
        upward_imports(
            "fastmeta.agents",
            "from .dream import learner\nfrom ..envs import base\nfrom fastmeta import registry\n",
            is_package=True,
        )
        == []
    )
    assert upward_imports(
        "fastmeta.envs", "from ..views import gymnasium_views\n", is_package=True
    ) == ["fastmeta.envs:1 (envs) imports fastmeta.views (registry/views/compat)"]
    assert upward_imports("fastmeta", "from fastmeta.agents import run_loop\n", is_package=True)
    assert upward_imports("fastmeta.tools", "import os\n")  # a module with no layer


# ---- the real tree --------------------------------------------------------------------------
def test_checker_sees_the_package():
    names = {module_name(p)[0] for p in package_files()}
    for expected in (
        "fastmeta",
        "fastmeta.cli",
        "fastmeta.registry",
        "fastmeta.envs.base",
        "fastmeta.views.gymnasium_views",
        "fastmeta.kernels.rng",
        "fastmeta.reference.grid",
        "fastmeta.bench.report",
    ):
        assert expected in names


def test_imports_only_run_down_the_layers():
    problems = []
    for path in package_files():
        module, is_package = module_name(path)
        problems += upward_imports(module, path.read_text(encoding="utf-8"), is_package)
    assert not problems, (
        "imports against the layer order kernels/render/reference <- envs <- "
        "registry/views/compat <- agents <- cli/bench:\n  " + "\n  ".join(problems)
    )


def test_references_import_nothing_else_from_fastmeta():
    """The references are the yardstick: they may import one another, never the code they check
    (not even the kernels beside them in the bottom layer)."""
    problems = []
    for path in sorted((PACKAGE_DIR / "reference").rglob("*.py")):
        module, is_package = module_name(path)
        problems += [
            f"{module}:{line} imports {target}"
            for target, line in imported_modules(
                module, path.read_text(encoding="utf-8"), is_package
            )
            if target != "fastmeta.reference" and not target.startswith("fastmeta.reference.")
        ]
    assert not problems, "\n  ".join(problems)
