"""Turn pytest-benchmark JSON into the Markdown report and plots users read."""
import json
import os
import platform
from collections import defaultdict
from pathlib import Path


def machine_description(info: dict) -> str:
    cpu = info.get("cpu", {}).get("brand_raw") or platform.processor() or "unknown CPU"
    import numpy
    lines = [f"- CPU: {cpu}, {os.cpu_count()} logical cores",
             f"- Python {platform.python_version()}, numpy {numpy.__version__}"]
    for mod in ("numba", "torch", "gymnasium", "Cython"):
        try:
            lines[-1] += f", {mod} {__import__(mod).__version__}"
        except Exception:
            pass
    return "\n".join(lines)


def _rows(data):
    rows = []
    for b in data["benchmarks"]:
        x = b.get("extra_info", {})
        if "env_steps" not in x:
            continue
        med = b["stats"]["median"]
        rows.append(dict(group=b.get("fullname", b["name"]).split("::")[0].split("/")[-1],
                         env=x.get("env", "?"), impl=x.get("impl", "?"),
                         num_envs=x.get("num_envs", 1), threads=x.get("threads", 1),
                         median_s=med, sps=x["env_steps"] / med))
    return rows


def write_report(json_path, out_dir) -> str:
    data = json.loads(Path(json_path).read_text())
    rows = _rows(data)
    baseline = {(r["group"], r["env"]): r["sps"] for r in rows if r["impl"] == "reference"}
    lines = ["# fastmeta benchmark report", "", "## Machine", machine_description(data.get("machine_info", {})),
             "", "## Env steps per second", "",
             "| suite | env | implementation | num_envs | threads | env-steps/s | × reference |",
             "|---|---|---|---:|---:|---:|---:|"]
    for r in sorted(rows, key=lambda r: (r["group"], r["env"], r["impl"], r["num_envs"], r["threads"])):
        base = baseline.get((r["group"], r["env"]))
        ratio = f"{r['sps'] / base:,.0f}×" if base and r["impl"] != "reference" else "—"
        lines.append(f"| {r['group']} | {r['env']} | {r['impl']} | {r['num_envs']:,} | {r['threads']} "
                     f"| {r['sps']:,.0f} | {ratio} |")
    text = "\n".join(lines) + "\n"
    out_dir = Path(out_dir)
    (out_dir / "report.md").write_text(text)
    _plot(rows, out_dir)
    return text


def _plot(rows, out_dir):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    series = defaultdict(list)
    for r in rows:
        if r["impl"] == "fastmeta":
            series[(r["env"], r["threads"])].append((r["num_envs"], r["sps"]))
    if not series:
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for (env, threads), pts in sorted(series.items()):
        pts.sort()
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=f"{env} ({threads} thr)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("num_envs")
    ax.set_ylabel("env-steps/s")
    ax.set_title("fastmeta env throughput")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out_dir / "throughput.png", dpi=120)
    plt.close(fig)
