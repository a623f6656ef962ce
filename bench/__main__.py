"""Run the benchmark suite and write a report: `python -m bench [--quick] [--out DIR] [-k EXPR]`.

Writes DIR/results.json (pytest-benchmark), DIR/junit.xml (what was skipped or failed, and why),
DIR/report.md (tables) and DIR/*.png (plots), and prints the report. Benchmarks whose optional
peers are missing skip; a failing benchmark is reported, and the rest still make a report."""
import argparse
import os
import subprocess
import sys
from pathlib import Path

from bench.report import write_report


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="fewer sizes and rounds (about a minute)")
    p.add_argument("--out", default="bench/reports/latest", help="report directory")
    p.add_argument("-k", default=None, help="only benchmarks matching this pytest expression")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = out / "results.json"
    results.unlink(missing_ok=True)
    env = dict(os.environ, FASTMETA_BENCH_QUICK="1" if args.quick else "0")
    cmd = [sys.executable, "-m", "pytest", str(Path(__file__).parent), "-q", "-p", "no:cacheprovider",
           "--benchmark-enable", "--benchmark-only", f"--benchmark-json={results}",
           f"--junitxml={out / 'junit.xml'}", "-rs",
           "--benchmark-disable-gc", "-o", "python_files=bench_*.py", "--benchmark-columns=median"]
    if args.quick:
        # Benchmarks that let pytest-benchmark calibrate rounds get a short time budget.
        cmd += ["--benchmark-max-time=0.05", "--benchmark-min-rounds=2"]
    if args.k:
        cmd += ["-k", args.k]
    print("running:", " ".join(cmd), flush=True)
    rc = subprocess.call(cmd, env=env)
    if not results.exists():
        print(f"benchmark run failed (exit {rc}) before writing {results}", file=sys.stderr)
        return rc or 1
    if rc != 0:
        print(f"some benchmarks failed (exit {rc}); the report lists them", file=sys.stderr)
    print(write_report(results, out, rc))
    print(f"\nreport written to {out}/report.md")
    return rc


if __name__ == "__main__":
    sys.exit(main())
