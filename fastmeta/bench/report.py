"""Turn pytest-benchmark JSON into the Markdown report and plots users read.

`write_report(results.json, out_dir)` writes out_dir/report.md and the PNGs and returns the
Markdown. Every number comes from results.json (timings and the exact memory figures recorded
with them) or from the learners' committed curves, so a report can be rebuilt from its JSON.
"""

from __future__ import annotations

import ast
import json
import math
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from fastmeta.bench import cost_model, plots, training_curves
from fastmeta.bench.conftest import PEERS

SCALING = "bench_env_scaling.py"
PEERS_FILE = "bench_peers.py"
VIEWS = "bench_views.py"
KEY_SIZES = (1, 64, 4096, 65536)
SIGN = "miniworld_sign"
# The same-run baselines of the summary: plain-Python references stepping one object per slot
# (the grid and First-Explore envs) and the miniworld package rendering the sign world.
REFERENCE_TESTS = {"test_grid_reference", "test_fe_reference", "test_sign_frames_miniworld"}
REFERENCE_ENV = {"sign frames": SIGN}


# -- rows ----------------------------------------------------------------------------------------
def rows_of(data: dict) -> list[dict]:
    rows = []
    for b in data["benchmarks"]:
        x = dict(b.get("extra_info", {}))
        parts = b.get("fullname", b["name"]).split("::")
        med = b["stats"]["median"]
        r = dict(
            x,
            file=parts[0].split("/")[-1],
            test=b["name"].split("[")[0],
            name=b["name"],
            median_s=med,
            env=x.get("env", "?"),
            impl=x.get("impl", "?"),
            mode=x.get("mode", "random"),
            num_envs=x.get("num_envs"),
            threads=x.get("threads"),
        )
        if "env_steps" in x and med > 0:
            r["sps"] = x["env_steps"] / med
        if "calls" in x and med > 0:
            r["per_call_s"] = med / x["calls"]
        rows.append(r)
    return rows


def si(x: float | None) -> str:
    """12,345,678 -> '12.3M' (3 significant digits)."""
    if x is None or not math.isfinite(x):
        return "—"
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.3g}{suffix}"
    return f"{x:.3g}"


def ratio(x: float) -> str:
    return f"{x:,.0f}×" if x >= 10 else f"{x:.1f}×" if x >= 1 else f"{x:.2g}×"


def _bytes(x: float) -> str:
    for div, suffix in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if x >= div:
            return f"{x / div:.3g} {suffix}"
    return f"{x:.0f} B"


def _cache_bytes(text: str) -> int | None:
    text = text.strip().upper()
    mult = {"K": 2**10, "M": 2**20, "G": 2**30}
    try:
        return int(float(text[:-1]) * mult[text[-1]]) if text[-1] in mult else int(text)
    except (ValueError, IndexError):
        return None


def _table(header: list[str], body: list[list], align: str | None = None) -> list[str]:
    align = align or "l" + "r" * (len(header) - 1)
    sep = ["---:" if a == "r" else "---" for a in align]
    return ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"] + [
        "| " + " | ".join(str(c) for c in row) + " |" for row in body
    ]


# -- sections ------------------------------------------------------------------------------------
def machine_section(data: dict, rc: int | None) -> list[str]:
    mi = data.get("machine_info", {})
    fm = mi.get("fastmeta", {})
    cpu = fm.get("cpu_model") or mi.get("cpu", {}).get("brand_raw") or "unknown CPU"
    libs = fm.get("libraries", {})
    load = [fm.get("loadavg_start"), fm.get("loadavg_end")]
    lines = [
        "## Machine",
        "",
        f"- CPU: {cpu}, {fm.get('logical_cores', '?')} logical cores; caches "
        + (", ".join(f"{k} {v}" for k, v in fm.get("caches", {}).items()) or "unknown")
        + " (per cache instance)",
        f"- Load average (1/5/15 min) at start: {_load(load[0])}, at end: {_load(load[1])}"
        + (
            " — the machine was shared while this ran: treat ratios as more reliable than "
            "absolute numbers"
            if _busy(load, fm.get("logical_cores"))
            else ""
        ),
        f"- Python {fm.get('python', mi.get('python_version', '?'))}; "
        + ", ".join(f"{k} {v}" for k, v in libs.items() if k not in PEERS),
        "- Peers: " + ", ".join(f"{k} {libs.get(k, '?')}" for k in PEERS),
        f"- Mode: {fm.get('mode', '?')}, run {fm.get('date_utc', data.get('datetime', '?'))}; "
        f"env and policy on one thread unless a table says otherwise",
    ]
    if rc:
        lines.append(f"- **Some benchmarks failed** (pytest exit {rc}); see the last section")
    return lines


def _load(v) -> str:
    return "/".join(f"{x:.2f}" for x in v) if v else "?"


def _busy(load, cores) -> bool:
    return bool(cores) and any(v and v[0] > 0.5 * cores for v in load)


def summary_section(rows: list[dict]) -> list[str]:
    """R/N env-steps/s per env at the key sizes, and the speed-up over the plain-Python reference."""
    sweep = [
        r
        for r in rows
        if r["file"] == SCALING and r["test"] in ("test_steps_random", "test_steps_policy")
    ]
    cell = {(r["env"], r["mode"], r["num_envs"]): r["sps"] for r in sweep}
    envs = sorted({r["env"] for r in sweep})
    sizes = [n for n in KEY_SIZES if any(k[2] == n for k in cell)]
    refs = {
        REFERENCE_ENV.get(r["env"], r["env"]): r["sps"]
        for r in rows
        if r["test"] in REFERENCE_TESTS and r["impl"] == "reference" and "sps" in r
    }
    body = []
    for env in envs:
        cells = []
        for n in sizes:
            rv, nv = cell.get((env, "random", n)), cell.get((env, "policy", n))
            cells.append(f"{si(rv)} / {si(nv)}" if rv or nv else "—")
        best = max((v for (e, m, _), v in cell.items() if e == env and m == "random"), default=None)
        ref = refs.get(env)
        cells += [si(ref), ratio(best / ref) if best and ref else "—"]
        body.append([f"`{env}`"] + cells)
    lines = [
        "## Env steps per second",
        "",
        "R = random actions, N = a 2×64 tanh MLP on (observation, last reward) choosing them, "
        "batched, one torch thread (like gymnax's R:/N: columns). "
        "Reference = the plain-Python reference stepping one object per slot "
        "(miniworld's own renderer for the sign world); × reference compares fastmeta's best R "
        "with it.",
        "",
    ]
    lines += _table(
        ["env"] + [f"N={n:,} (R / N)" for n in sizes] + ["reference", "× reference"], body
    )
    lines += ["", "![env-steps/s against num_envs](throughput.png)"]
    return lines


def sweep_section(rows: list[dict]) -> list[str]:
    sweep = [
        r
        for r in rows
        if r["file"] == SCALING and r["test"] in ("test_steps_random", "test_steps_policy")
    ]
    sizes = sorted({r["num_envs"] for r in sweep})
    envs = sorted({r["env"] for r in sweep})
    cell = {(r["env"], r["mode"], r["num_envs"]): r["sps"] for r in sweep}
    body = [
        [f"`{e}`", m] + [si(cell.get((e, m, n))) for n in sizes]
        for e in envs
        for m in ("random", "policy")
        if any(k[:2] == (e, m) for k in cell)
    ]
    return ["### Every batch size", ""] + _table(
        ["env", "actions"] + [f"{n:,}" for n in sizes], body, "ll" + "r" * len(sizes)
    )


def threads_section(rows: list[dict]) -> list[str]:
    two = [r for r in rows if r["file"] == SCALING and r["test"] == "test_steps_threads"]
    if not two:
        return []
    one = {
        (r["env"], r["num_envs"]): r
        for r in rows
        if r["file"] == SCALING and r["test"] == "test_steps_random"
    }
    body = []
    for r in sorted(two, key=lambda r: (r["env"], r["num_envs"])):
        r1 = one.get((r["env"], r["num_envs"]))
        s1 = r1["sps"] if r1 else None
        body.append(
            [
                f"`{r['env']}`",
                f"{r['num_envs']:,}",
                si(s1),
                si(r["sps"]),
                ratio(r["sps"] / s1) if s1 else "—",
                f"{r1['per_call_s'] * 1e3:.3g}" if r1 else "—",
                f"{r['per_call_s'] * 1e3:.3g}",
            ]
        )
    return [
        "## Scaling with threads",
        "",
        "Envs that take `num_threads` (the grid envs, DarkTreasureRoom and RayMaze: slots "
        "split across threads inside the kernel). On a machine whose cores are busy with other "
        "work a second thread mostly waits for a core: when the time per call with 2 threads "
        "stays near the same number of milliseconds whatever the batch, that is the wait for "
        "the second thread to be scheduled, not the work, and a speed-up below 1 says more "
        "about the load than the kernel.",
        "",
    ] + _table(
        [
            "env",
            "num_envs",
            "1 thread",
            "2 threads",
            "speed-up",
            "ms / call, 1 thread",
            "ms / call, 2 threads",
        ],
        body,
    )


def reset_section(rows: list[dict]) -> list[str]:
    rs = [r for r in rows if r["file"] == SCALING and r["test"] == "test_meta_reset"]
    if not rs:
        return []
    body = [
        [f"`{r['env']}`", f"{r['num_envs']:,}", si(r["sps"]), f"{r['per_call_s'] * 1e3:.3g}"]
        for r in sorted(rs, key=lambda r: r["env"])
    ]
    return [
        "## Meta-reset throughput",
        "",
        "`reset()`: a new task in every slot (mazes and treasure layouts generated, the sign's "
        "first frame rendered) and its first observation.",
        "",
    ] + _table(["env", "num_envs", "slot resets/s", "ms per reset()"], body)


def views_section(rows: list[dict]) -> list[str]:
    """The Gymnasium view's cost over the native step it wraps (bench_views.py)."""
    vs = [r for r in rows if r["file"] == VIEWS and "per_call_s" in r]
    if not vs:
        return []
    cell = {(r["env"], r["num_envs"], r["view"]): r for r in vs}
    body = []
    for env, n in sorted({(r["env"], r["num_envs"]) for r in vs}):
        native = cell.get((env, n, "native"))
        row = [f"`{env}`", f"{n:,}"]
        for view in ("native", "view-nocopy", "view-copy"):
            r = cell.get((env, n, view))
            row.append(f"{si(r['sps'])} ({r['per_call_s'] * 1e6:,.0f} µs)" if r else "—")
        for view in ("view-nocopy", "view-copy"):
            r = cell.get((env, n, view))
            row.append(
                f"+{(r['per_call_s'] - native['per_call_s']) * 1e6:,.0f} µs, "
                f"{native['per_call_s'] / r['per_call_s']:.0%}"
                if r and native
                else "—"
            )
        body.append(row)
    return [
        "## Gymnasium view overhead",
        "",
        "`MetaVectorEnv.step` (`fastmeta.registry.make_vector`, NEXT_STEP autoreset) against the "
        "bare native `step()` it wraps, random actions, one thread. The view builds the meta-RL "
        "Dict observation and the info dict; after a call that ended some slot's trial, that "
        "slot starts its next trial without moving and the native env steps the others through "
        "`step_slots`. `copy=True` (the default) returns fresh arrays, `copy=False` the view's "
        "own buffers. Cells: env-steps/s (time per call); the last two columns: time the view "
        "adds per call, and its throughput as a share of the native step's.",
        "",
    ] + _table(
        [
            "env",
            "num_envs",
            "native",
            "view copy=False",
            "view copy=True",
            "copy=False adds",
            "copy=True adds",
        ],
        body,
    )


def _footprints(rows):
    return {r["env"]: r for r in rows if r["file"] == SCALING and r["test"] == "test_footprint"}


def memory_section(rows: list[dict]) -> list[str]:
    fp = _footprints(rows)
    if not fp:
        return []
    body = [
        [
            f"`{e}`",
            f"{r['bytes_per_slot']:,.0f}",
            _bytes(r["fixed_bytes"]),
            _bytes(r["bytes_per_slot"] * 65536),
            f"{r['bytes_written_per_step']:,}",
        ]
        for e, r in sorted(fp.items())
    ]
    return [
        "## Memory per env slot",
        "",
        "Bytes of every numpy buffer the env object holds (observations, rewards, flags, final "
        "observations, state, tasks, RNG streams, frame buffers), measured at two batch sizes: "
        "the difference per slot, the rest fixed (lookup tables). Written per step: per-slot "
        "bytes of the arrays a step changed over 64 random steps plus the int64 action read "
        "(rows written only when an episode ends count in full). The sign's GPU-side buffers "
        "are not numpy and not counted.",
        "",
    ] + _table(["env", "bytes / slot", "fixed", "at 65,536 envs", "bytes written / step"], body)


def _bandwidth(rows):
    return {
        r["level"]: r["bytes_copied"] / r["median_s"]
        for r in rows
        if r.get("mode") == "bandwidth" and r["median_s"] > 0
    }


def limit_section(rows: list[dict], data: dict) -> list[str]:
    bw = _bandwidth(rows)
    fp = _footprints(rows)
    if not bw or not fp:
        return []
    caches = {
        k: _cache_bytes(v)
        for k, v in data.get("machine_info", {}).get("fastmeta", {}).get("caches", {}).items()
    }
    steps = {
        (r["env"], r["num_envs"]): r["sps"]
        for r in rows
        if r["file"] == SCALING and r["test"] == "test_steps_random"
    }
    lines = [
        "## Physical limit: bytes per step against memory bandwidth",
        "",
        "Streaming copy rate of this machine (numpy, bytes copied per second; each byte is "
        "read once and written once):",
        "",
    ]
    lines += _table(
        ["working set", "copy rate"], [[lvl, f"{v / 1e9:.1f} GB/s"] for lvl, v in bw.items()]
    )
    lines += [
        "",
        "A step that reads and rewrites W bytes per env cannot run faster than copy rate / W "
        "env-steps/s once the batch's buffers live at that level. The level below is where the "
        "largest measured batch's per-slot buffers (bytes/slot × N) fit.",
        "",
    ]
    body = []
    for env, r in sorted(fp.items(), key=lambda kv: (kv[0] == SIGN, kv[0])):
        ns = [n for (e, n) in steps if e == env]
        if not ns or env == SIGN:
            continue
        n = max(ns)
        w = r["bytes_written_per_step"]
        ws = r["bytes_per_slot"] * n
        level = next(
            (lvl for lvl in ("L2", "L3") if caches.get(lvl) and ws <= caches[lvl] and lvl in bw),
            "DRAM",
        )
        rate = bw.get(level, bw.get("DRAM"))
        if rate is None:
            continue
        lim = rate / w
        dram = bw.get("DRAM")
        body.append(
            [
                f"`{env}`",
                f"{w:,}",
                f"{n:,}",
                _bytes(ws),
                level,
                si(lim),
                si(steps[(env, n)]),
                f"{steps[(env, n)] / lim:.0%}",
                si(dram / w) if dram else "—",
            ]
        )
    lines += _table(
        [
            "env",
            "bytes written / step",
            "num_envs",
            "working set",
            "fits in",
            "limit steps/s",
            "measured",
            "of limit",
            "DRAM limit",
        ],
        body,
    )
    lines += [
        "",
        "Kernels far below the line are compute-bound (RNG draws, branches, ray casts), not "
        "memory-bound: more bandwidth would not make them faster.",
    ]
    return lines


def cost_section(rows: list[dict], data: dict) -> tuple[list[str], dict]:
    sweep = [
        r
        for r in rows
        if r["file"] == SCALING and r["test"] == "test_steps_random" and "per_call_s" in r
    ]
    by_env = defaultdict(list)
    for r in sweep:
        by_env[r["env"]].append((r["num_envs"], r["per_call_s"]))
    fp = _footprints(rows)
    caches = {
        k: _cache_bytes(v)
        for k, v in data.get("machine_info", {}).get("fastmeta", {}).get("caches", {}).items()
    }
    fits, body = {}, []
    for env, pts in sorted(by_env.items()):
        d = cost_model.describe(*zip(*pts))
        if d is None:
            continue
        d["peak_n"] = max(pts, key=lambda p: p[0] / p[1])[0]  # batch with the highest steps/s
        fits[env] = d
        why = ""
        if d["large_n_ratio"] is not None and env in fp:
            ws = fp[env]["bytes_per_slot"] * d["largest_n"]
            where = next(
                (f"fits {lvl}" for lvl in ("L2", "L3") if caches.get(lvl) and ws <= caches[lvl]),
                "exceeds L3",
            )
            why = f"{d['large_n_ratio']:.2f}× the fit at {d['largest_n']:,} ({_bytes(ws)} of buffers, {where})"
        elif d["large_n_ratio"] is not None:
            why = f"{d['large_n_ratio']:.2f}× the fit at {d['largest_n']:,}"
        body.append(
            [
                f"`{env}`",
                f"{d['a_s'] * 1e6:.2f}",
                f"{d['b_s'] * 1e9:.1f}",
                si(d["asymptote_sps"]),
                f"{d['n_half']:,.0f}",
                f"{d['n_90']:,.0f}",
                why or "—",
            ]
        )
    if not body:
        return [], fits
    lines = [
        "## How cost grows with num_envs",
        "",
        f"Per-call time fitted as t(N) = a + b·N on the batches up to {cost_model.FIT_MAX_N:,} envs "
        "(least squares on relative error). a is paid once per `step()` whatever the batch (the "
        "Python call, argument checks, kernel dispatch); b is each env's own work. Throughput is "
        "half its asymptote 1/b at N½ = a/b and 90% at N = 9a/b: that is where the curve "
        "flattens. The last column compares the largest batch with the fit: above 1 the buffers "
        "no longer fit a cache level and each env pays for memory traffic.",
        "",
    ]
    lines += _table(
        [
            "env",
            "a (µs / call)",
            "b (ns / env-step)",
            "asymptote steps/s",
            "N½",
            "N at 90%",
            "largest batch vs fit",
        ],
        body,
    )
    lines += ["", _cost_summary(fits)]
    lines += ["", "![nanoseconds per env-step against num_envs, with the fits](cost_per_step.png)"]
    return lines, fits


def _cost_summary(fits: dict) -> str:
    """The table in two sentences: where the non-rendering envs flatten, and what large batches cost."""
    sim = {e: f for e, f in fits.items() if e != SIGN}
    if not sim:
        return ""
    a = sorted(f["a_s"] * 1e6 for f in sim.values())
    n90 = sorted(f["n_90"] for f in sim.values())
    text = (
        f"Across the simulated envs the fixed cost per call is {a[0]:.1f}–{a[-1]:.1f} µs, so a "
        f"batch of 1 spends most of its time on it; throughput flattens between "
        f"{n90[0]:,.0f} and {n90[-1]:,.0f} envs (90% of the asymptote)."
    )
    big = {e: f["large_n_ratio"] for e, f in sim.items() if f["large_n_ratio"]}
    slow = sorted(e for e, r in big.items() if r > 1.2)
    if slow:
        n = max(f["largest_n"] for f in sim.values())
        text += (
            f" At {n:,} envs {', '.join(f'`{e}`' for e in slow)} run {min(big[e] for e in slow):.1f}–"
            f"{max(big[e] for e in slow):.1f}× slower per env than the fit: their buffers "
            "outgrow the per-core L2 cache and each step streams them from L3 or memory, which "
            "is why their throughput peaks at "
            + ", ".join(f"{n:,}" for n in sorted({sim[e]["peak_n"] for e in slow}))
            + " envs and falls after."
        )
    return text


def sign_section(rows: list[dict]) -> list[str]:
    fr = [r for r in rows if r["file"] == "bench_sign.py" and "sps" in r]
    if not fr:
        return []
    body = [
        [r["env"], r["impl"], f"{r['num_envs']:,}", si(r["sps"])]
        for r in sorted(fr, key=lambda r: (r["env"], r["impl"], r["num_envs"]))
    ]
    lines = [
        "## Sign world: physics and rendered frames",
        "",
        "Frames/s = env-steps/s with an 80×60 RGB observation rendered per step (plus the final "
        "frame of slots whose episode ended). `reference` is the miniworld package stepping "
        "the same world with its own renderer, one env, headless.",
        "",
    ]
    lines += _table(["what", "implementation", "num_envs", "steps/s"], body, "llrr")
    frames = [r for r in fr if r["env"] == "sign frames" and r["impl"].startswith("fastmeta ")]
    msaa = defaultdict(dict)  # impl label -> num_envs -> frames/s
    for r in frames:
        msaa[r["impl"]][r["num_envs"]] = r["sps"]
    plain = msaa.get("fastmeta no msaa", {})
    for impl, by_n in sorted(msaa.items()):
        ratio = [f"{n:,} envs {plain[n] / v:.2f}×" for n, v in sorted(by_n.items()) if n in plain]
        if impl != "fastmeta no msaa" and ratio:
            lines += [
                "",
                f"No MSAA against {impl.removeprefix('fastmeta ')}: " + ", ".join(ratio) + ".",
            ]
    ref = next(
        (r["sps"] for r in fr if r["impl"] == "reference" and r["env"] == "sign frames"), None
    )
    if ref:
        parts = []
        for impl, by_n in sorted(msaa.items()):
            top_n = max(by_n, key=by_n.get)
            one = f"1 env {by_n[1] / ref:.1f}×, " if 1 in by_n else ""
            parts.append(
                f"{impl.removeprefix('fastmeta ')}: {one}best {by_n[top_n] / ref:.1f}× "
                f"({top_n:,} envs)"
            )
        lines += [
            "",
            "Against miniworld in the same run (steps/s with frames): " + "; ".join(parts) + ".",
        ]
    else:
        lines += [
            "",
            "The miniworld package did not run here (not installed, or no headless GL), "
            "so there is no same-run miniworld number.",
        ]
    return lines


def learners_section(
    rows: list[dict], results_dir: Path | None = training_curves.RESULTS
) -> list[str]:
    lr = [r for r in rows if r.get("mode") == "training"]
    lines = ["## Learners", ""]
    if lr:
        body = [
            [
                r["impl"],
                f"`{r['env']}`",
                f"{r['num_envs']:,}",
                si(r["sps"]),
                f"{r['updates'] / r['median_s']:.3g}",
            ]
            for r in sorted(lr, key=lambda r: (r["impl"], r["env"]))
        ]
        lines += [
            "In their training loops, one torch thread, `fast` presets. DREAM: a vector step of "
            "N slots plus the gradient steps its cadence implies (both agents); First-Explore: "
            "one update = a batch of N trials rolled out and one gradient step.",
            "",
        ]
        lines += _table(
            ["learner", "env", "slots / batch", "env steps/s", "updates/s"], body, "llrrr"
        )
    else:
        lines += ["No learner benchmark ran."]
    lines += ["", "### Time to target return (committed results)", ""]
    if results_dir is None or not Path(results_dir).is_dir():
        return lines + [
            "Skipped: no results directory here. The learners' evaluation curves are "
            "committed to the source repository (results/), not shipped with the "
            "package; `fastmeta bench --results DIR` reads them from a checkout."
        ]
    runs = training_curves.time_to_target(Path(results_dir))
    if runs:

        def hit(minutes, steps, target=True):
            if not target:
                return "—"
            return "not reached" if minutes is None else f"{minutes:.1f} min, {si(steps)} steps"

        body = [
            [
                r["learner"],
                f"`{r['run']}`",
                f"{r['best']:.3g}",
                f"{r['final']:.3g}",
                r["evals"],
                f"{r['total_minutes']:.1f}",
                "—"
                if r["target"] is None
                else f"≥ {r['target']:g}: " + hit(r["minutes"], r["env_steps"]),
                hit(r["minutes_rel"], r["env_steps_rel"]),
            ]
            for r in runs
        ]
        lines += _table(
            [
                "learner",
                "curve",
                "best return",
                "final",
                "evals",
                "minutes run",
                "to target return",
                f"to {training_curves.RELATIVE_TARGET:.0%} of best",
            ],
            body,
            "llrrrrll",
        )
    else:
        lines += [f"No evaluation curves under {results_dir} yet."]
    return lines


def peers_section(rows: list[dict], data: dict, skips: dict) -> list[str]:
    libs = data.get("machine_info", {}).get("fastmeta", {}).get("libraries", {})
    ran = {r["impl"].split()[0] for r in rows if r["file"] == PEERS_FILE}
    if any(
        r["file"] == "bench_sign.py" and r["impl"] == "reference" and r["env"] == "sign frames"
        for r in rows
    ):
        ran.add("miniworld")
    lines = ["## Peers, side by side", ""]
    status = []
    for peer in ("gymnax", "xminigrid", "envpool", "gymnasium", "miniworld"):
        version = libs.get(peer, "?")
        if peer in ran:
            status.append(f"- {peer} {version}: measured")
        else:
            reason = skips.get(peer) or (
                "not installed (install the `peers` extra)"
                if version == "not installed"
                else "did not run"
            )
            status.append(f"- {peer}: **skipped** — {reason}")
    lines += status + [""]
    fm = {
        (r["env"], r["mode"], r["num_envs"]): r["sps"]
        for r in rows
        if r["file"] == SCALING and r["test"] in ("test_steps_random", "test_steps_policy")
    }
    body = []
    for r in sorted(
        (r for r in rows if r["file"] == PEERS_FILE and r.get("pair") not in (None, "calibration")),
        key=lambda r: (r["impl"], r["env"], r["mode"], r["num_envs"]),
    ):
        mine = fm.get((r["pair"], r["mode"], r["num_envs"]))
        body.append(
            [
                r["impl"],
                r["env"],
                f"`{r['pair']}`",
                r["mode"],
                f"{r['num_envs']:,}",
                si(r["sps"]),
                si(mine),
                ratio(mine / r["sps"]) if mine else "—",
            ]
        )
    if body:
        lines += [
            "Each peer paired with the fastmeta env of the same kind, both measured in this run at "
            "the same batch size and action source (the policy is the same MLP, in JAX for JAX "
            "peers). JAX peers: jit(vmap(step)) in lax.scan over 100 steps, compilation excluded, "
            "XLA's default threading. The pairs are not the same task: the ratio compares "
            "backends on envs of the same family.",
            "",
        ]
        lines += _table(
            [
                "peer",
                "peer env",
                "fastmeta env",
                "actions",
                "num_envs",
                "peer steps/s",
                "fastmeta steps/s",
                "fastmeta / peer",
            ],
            body,
            "llllrrrr",
        )
        lines += ["", "![fastmeta against its peers](peers.png)"]
    cal = [r for r in rows if r["file"] == PEERS_FILE and r.get("pair") == "calibration"]
    if cal:
        grid = {
            (r["mode"], r["num_envs"]): r["sps"]
            for r in rows
            if r["file"] == SCALING
            and r["env"] == "vanilla"
            and r["test"] in ("test_steps_random", "test_steps_policy")
        }
        impls = sorted({r["impl"] for r in cal})
        cell = {(r["impl"], r["mode"], r["num_envs"]): r["sps"] for r in cal}
        body = []
        for mode in ("random", "policy"):
            for n in sorted({r["num_envs"] for r in cal}):
                vals = [cell.get((i, mode, n)) for i in impls]
                if not any(vals):
                    continue
                g = grid.get((mode, n))
                body.append(
                    [mode, f"{n:,}"]
                    + [si(v) for v in vals]
                    + [si(g)]
                    + [ratio(g / v) if g and v else "—" for v in vals]
                )
        lines += [
            "",
            "### Calibration: CartPole-v1",
            "",
            "A point of comparison for the machine, not a pair: envpool (C++ thread pool, one "
            "thread) and gymnasium's numpy vector env stepping CartPole, next to fastmeta's "
            "`vanilla` grid at the same batch size. envpool's worker thread is not the caller's, "
            "so every step is a hand-off between threads, which a busy machine makes slow.",
            "",
        ]
        lines += _table(
            ["actions", "num_envs"]
            + impls
            + ["fastmeta `vanilla`"]
            + [f"vanilla / {i.split()[0]}" for i in impls],
            body,
            "ll" + "r" * (2 * len(impls) + 1),
        )
    return lines


def all_rows_section(rows: list[dict]) -> list[str]:
    body = []
    for r in sorted(rows, key=lambda r: (r["file"], r["name"])):
        rate = si(r["sps"]) if "sps" in r else "—"
        body.append(
            [
                r["file"],
                r["name"],
                r["impl"],
                r["num_envs"] if isinstance(r["num_envs"], int) else "—",
                "—" if r["threads"] is None else r["threads"],
                f"{r['median_s'] * 1e3:.3g}",
                rate,
            ]
        )
    return ["## Every measurement", ""] + _table(
        [
            "file",
            "benchmark",
            "implementation",
            "num_envs",
            "threads",
            "median ms / round",
            "env-steps/s",
        ],
        body,
        "lllrrrr",
    )


def problems_section(skips_all: list, failures: list) -> list[str]:
    if not skips_all and not failures:
        return []
    lines = ["## Skipped and failed", ""]
    lines += [f"- failed: `{n}` — {m}" for n, m in failures]
    seen = set()
    for name, msg in skips_all:
        if msg not in seen:
            seen.add(msg)
            lines.append(f"- skipped (e.g. `{name}`): {msg}")
    return lines


def read_junit(path: Path) -> tuple[list, list]:
    skips, failures = [], []
    if not path.exists():
        return skips, failures
    for case in ET.parse(path).getroot().iter("testcase"):
        for tag, dest in (("skipped", skips), ("failure", failures), ("error", failures)):
            el = case.find(tag)
            if el is not None:
                dest.append((case.get("name"), _message(el, tag).splitlines()[0][:200]))
    return skips, failures


def _message(el, tag: str) -> str:
    """A junit entry's message; a module skipped at collection (e.g. an optional import missing)
    says only "collection skipped" there, and its reason sits in the text as (path, line, reason)."""
    message = el.get("message") or tag
    if message == "collection skipped" and el.text:
        try:
            reason = ast.literal_eval(el.text.strip())[-1]
        except (ValueError, SyntaxError, IndexError, TypeError):
            return message
        if isinstance(reason, str):
            return reason.removeprefix("Skipped: ")
    return message


def _peer_skips(skips: list) -> dict:
    out = {}
    for _, msg in skips:
        for peer in PEERS:
            if f"'{peer}'" in msg or f"{peer} " in msg.lower():
                out.setdefault(peer, msg.replace("Skipped: ", ""))
    return out


def write_report(
    json_path, out_dir, rc: int | None = None, results_dir: Path | None = training_curves.RESULTS
) -> str:
    """results_dir: the learners' evaluation curves (by default the source checkout's results/,
    None when the package is installed: that table is then skipped with the reason)."""
    data = json.loads(Path(json_path).read_text())
    out_dir = Path(out_dir)
    rows = rows_of(data)
    skips, failures = read_junit(out_dir / "junit.xml")
    cost_lines, fits = cost_section(rows, data)
    sections = [
        [
            "# fastmeta benchmark report",
            "",
            "Env-steps/s of every fastmeta env against batch size, with random actions and with a "
            "policy network, threads, meta-resets, the Gymnasium view's overhead, memory, the "
            "machine's bandwidth limit, how cost grows, the learners, and peers measured in the "
            "same run. Regenerate with `fastmeta bench` (`--quick` for a one-minute version).",
        ],
        machine_section(data, rc),
        summary_section(rows),
        sweep_section(rows),
        threads_section(rows),
        reset_section(rows),
        views_section(rows),
        memory_section(rows),
        limit_section(rows, data),
        cost_lines,
        sign_section(rows),
        learners_section(rows, results_dir),
        peers_section(rows, data, _peer_skips(skips)),
        all_rows_section(rows),
        problems_section(skips, failures),
    ]
    text = "\n\n".join("\n".join(s) for s in sections if s) + "\n"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.md").write_text(text)
    plots.write_plots(rows, fits, out_dir)
    return text
