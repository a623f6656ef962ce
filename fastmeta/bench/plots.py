"""The report's figures: throughput against num_envs, cost per env-step with its fit, and
fastmeta against its peers. Skipped quietly when matplotlib is missing (the tables carry the
same numbers)."""

from __future__ import annotations

from collections import defaultdict

SCALING = "bench_env_scaling.py"


def write_plots(rows: list[dict], fits: dict, out_dir) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    written = []
    sweep = [
        r
        for r in rows
        if r["file"] == SCALING and r["test"] in ("test_steps_random", "test_steps_policy")
    ]
    if sweep:
        series = defaultdict(list)
        for r in sweep:
            series[(r["env"], r["mode"])].append((r["num_envs"], r["sps"]))
        fig, ax = plt.subplots(figsize=(8, 5))
        colors = {}
        for (env, mode), pts in sorted(series.items()):
            pts.sort()
            color = colors.setdefault(env, f"C{len(colors) % 10}")
            ax.plot(
                *zip(*pts),
                marker="o" if mode == "random" else "x",
                color=color,
                linestyle="-" if mode == "random" else "--",
                label=env if mode == "random" else None,
                markersize=4,
            )
        _log_axes(
            ax, "env-steps/s", "fastmeta env-steps/s (solid: random actions, dashed: MLP policy)"
        )
        ax.legend(fontsize=7, ncol=2)
        written.append(_save(fig, plt, out_dir / "throughput.png"))
    by_env = defaultdict(list)
    for r in sweep:
        if (
            r["mode"] == "random" and "per_call_s" in r and r["env"] != "miniworld_sign"
        ):  # rendering: 1000x off scale
            by_env[r["env"]].append((r["num_envs"], r["per_call_s"] / r["num_envs"] * 1e9))
    if by_env:
        fig, ax = plt.subplots(figsize=(8, 5))
        for i, (env, pts) in enumerate(sorted(by_env.items())):
            pts.sort()
            ax.plot(
                *zip(*pts),
                marker="o",
                linestyle="none",
                color=f"C{i % 10}",
                label=env,
                markersize=4,
            )
            if env in fits:
                f = fits[env]
                ns = [2 ** (k / 4) for k in range(4 * max(p[0] for p in pts).bit_length() - 3)]
                ax.plot(
                    ns, [(f["a_s"] / n + f["b_s"]) * 1e9 for n in ns], color=f"C{i % 10}", alpha=0.6
                )
        _log_axes(ax, "ns per env-step", "cost per env-step: points measured, lines a/N + b fitted")
        ax.legend(fontsize=7, ncol=2)
        written.append(_save(fig, plt, out_dir / "cost_per_step.png"))
    peers = [
        r for r in rows if r["file"] == "bench_peers.py" and r.get("pair") and r["mode"] == "random"
    ]
    if peers:
        fig, ax = plt.subplots(figsize=(8, 5))
        envs = sorted({r["pair"] for r in peers if r["pair"] != "calibration"} | {"vanilla"})
        for i, env in enumerate(envs):
            pts = sorted(
                (r["num_envs"], r["sps"])
                for r in sweep
                if r["env"] == env and r["mode"] == "random"
            )
            if pts:
                ax.plot(*zip(*pts), marker="o", color=f"C{i % 10}", label=f"fastmeta {env}")
        impls = defaultdict(list)
        for r in peers:
            impls[(r["impl"], r["env"], r["pair"])].append((r["num_envs"], r["sps"]))
        calibration = iter(["gray", "black", "silver"])
        for (impl, env, pair), pts in sorted(impls.items()):
            color = f"C{envs.index(pair) % 10}" if pair in envs else next(calibration, "gray")
            ax.plot(
                *zip(*sorted(pts)), marker="s", linestyle=":", color=color, label=f"{impl} {env}"
            )
        _log_axes(ax, "env-steps/s", "fastmeta (solid) against peers (dotted), random actions")
        ax.legend(fontsize=6, ncol=2)
        written.append(_save(fig, plt, out_dir / "peers.png"))
    return written


def _log_axes(ax, ylabel, title):
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("num_envs")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)


def _save(fig, plt, path):
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name
