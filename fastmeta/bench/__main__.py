"""Run the benchmark suite and write a report: `fastmeta bench [--quick] [--out DIR] [-k EXPR]`
(the same as `python -m fastmeta.bench ...`), from any directory.

Writes DIR/results.json (pytest-benchmark), DIR/junit.xml (what was skipped or failed, and why),
DIR/report.md (tables) and DIR/*.png (plots), and prints the report. DIR defaults to
./fastmeta-bench/ under the current directory. Benchmarks whose optional peers are missing skip
(so do the policy columns and the learners without torch), and the report says why; a failing
benchmark is reported, and the rest still make a report.

The suite is this package's bench_*.py files, run by pytest in a subprocess that reads no
configuration but its own: an empty ini file, rootdir and confcutdir at the suite's directory,
plugin autoloading off (pytest-benchmark loaded by name), PYTEST_ADDOPTS ignored. So a project's
pytest.ini, pyproject.toml, conftest.py or installed pytest plugins around the current directory
or the installed package play no part, and the suite runs the same from a wheel as from a
checkout."""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from fastmeta.bench import training_curves
from fastmeta.bench.report import write_report

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_OUT = "fastmeta-bench"
NEEDS = {"pytest": "pytest", "pytest_benchmark": "pytest-benchmark"}  # module -> distribution


def bench_files() -> list[Path]:
    """The suite's benchmark modules, wherever the package is installed."""
    return sorted(PACKAGE_DIR.glob("bench_*.py"))


def missing_requirements() -> list[str]:
    return [dist for module, dist in NEEDS.items() if importlib.util.find_spec(module) is None]


def run_suite(
    out,
    *,
    quick: bool = False,
    k: str | None = None,
    env: dict | None = None,
    echo: bool = False,
    **run_kwargs,
) -> subprocess.CompletedProcess:
    """Run the benchmarks under pytest in a subprocess, writing out/results.json and
    out/junit.xml; `env` (default os.environ) is the child's environment before the suite's own
    settings, `run_kwargs` go to subprocess.run. Returns the finished process."""
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    results = out / "results.json"
    results.unlink(missing_ok=True)
    child_env = dict(os.environ if env is None else env)
    for var in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS"):
        child_env.pop(var, None)
    child_env.update(FASTMETA_BENCH_QUICK="1" if quick else "0", PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    with tempfile.TemporaryDirectory(prefix="fastmeta-bench-") as tmp:
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\n")
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            *map(str, bench_files()),
            "-c",
            str(ini),
            f"--rootdir={PACKAGE_DIR}",
            f"--confcutdir={PACKAGE_DIR}",
            "-p",
            "pytest_benchmark.plugin",
            "-p",
            "no:cacheprovider",
            "-o",
            "python_files=bench_*.py",
            "-q",
            "-rs",
            "--benchmark-enable",
            "--benchmark-only",
            f"--benchmark-json={results}",
            f"--junitxml={out / 'junit.xml'}",
            "--benchmark-disable-gc",
            "--benchmark-columns=median",
        ]
        if quick:
            # Benchmarks that let pytest-benchmark calibrate rounds get a short time budget.
            cmd += ["--benchmark-max-time=0.05", "--benchmark-min-rounds=2"]
        if k:
            cmd += ["-k", k]
        if echo:
            print("running:", " ".join(cmd), flush=True)
        # The report directory as the working directory: `python -m` puts the working directory
        # first on sys.path, and the caller's (a checkout, a project) must not shadow anything.
        return subprocess.run(cmd, env=child_env, cwd=out, **run_kwargs)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="fastmeta bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--quick", action="store_true", help="fewer sizes and rounds (about a minute)")
    p.add_argument(
        "--out",
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"report directory (default: ./{DEFAULT_OUT} in the current directory)",
    )
    p.add_argument(
        "-k", default=None, metavar="EXPR", help="only benchmarks matching this pytest expression"
    )
    p.add_argument(
        "--results",
        type=Path,
        default=training_curves.RESULTS,
        metavar="DIR",
        help="the learners' evaluation curves for the time-to-target table (default: "
        "the source checkout's results/ when run from one; skipped otherwise)",
    )
    args = p.parse_args(argv)
    missing = missing_requirements()
    if missing:
        print(
            f"fastmeta bench needs {' and '.join(missing)}: pip install 'fastmeta[bench]'",
            file=sys.stderr,
        )
        return 2
    out = Path(args.out).resolve()
    rc = run_suite(out, quick=args.quick, k=args.k, echo=True).returncode
    results = out / "results.json"
    if not results.exists():
        print(f"benchmark run failed (exit {rc}) before writing {results}", file=sys.stderr)
        return rc or 1
    if rc != 0:
        print(f"some benchmarks failed (exit {rc}); the report lists them", file=sys.stderr)
    print(write_report(results, out, rc, results_dir=args.results))
    print(f"\nreport written to {out / 'report.md'}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
