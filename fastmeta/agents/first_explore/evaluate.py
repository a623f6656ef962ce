"""First-Explore's evaluation protocol (spec §2.7): k explore pulls/episodes, then exploit for the
rest of the lifetime, greedy actions, every pull/episode appended to the context (ep_no keeps
counting); the metric is the cumulative reward over the whole lifetime, explore part included.

    python -m fastmeta.agents.first_explore.evaluate experiments/<run> [--control experiments/<ctl>]
        [--k 0,1,2,5,10] [--lifetimes 1000] [--out results/first_explore/bandit]

sweeps k (one batched rollout for all k: every k gets the same fixed evaluation tasks), reports
the best, and plots cumulative reward per pull/episode against the oracle (bandit), uniform-random
play and the control run. Writes <out>/eval_<name>.json, <out>/eval_<name>.png and
<out>/training_<name>.png (periodic evaluations during training against wall-clock).

With --holdout N the k chosen on the sweep's tasks is scored again on N fresh tasks (drawn from
--holdout-seed), so the reported return carries no selection bias; the control is scored on the
same fresh tasks and the per-task difference gives a paired standard error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from fastmeta.agents.first_explore.model import KVCache


def _greedy(model, h: torch.Tensor, explore: torch.Tensor) -> torch.Tensor:
    return torch.where(explore.unsqueeze(-1), model.head("exp", h), model.head("max", h)).argmax(-1)


@torch.no_grad()
def evaluate(model, args, k_values, num: int, seed: int) -> dict:
    """Greedy lifetimes on `num` fixed tasks (drawn from `seed`) for every k in `k_values`.

    Returns mean_return (K,), returns (K, num) and per_step (K, num, L): rewards per pull
    (bandit) or returns per episode (treasure, maze), plus the reference values."""
    from fastmeta.agents.first_explore.train import make_env

    model.eval()
    dev = next(model.parameters()).device
    k_values = [int(k) for k in k_values]
    nk, life = len(k_values), args.eval_lifetime
    n = num * nk
    env = make_env(args, n, life)
    tasks = env.sample_tasks(num, seed)
    env.reset(seed=seed + 1, tasks=tasks[np.tile(np.arange(num), nk)])
    kslot = torch.tensor(np.repeat(k_values, num), device=dev)
    per_step = np.zeros((n, life), dtype=np.float64)
    if args.env == "bandit":
        cache = KVCache(model.cfg, n, life, device=dev)
        act = torch.full((n,), -1, dtype=torch.long, device=dev)
        rew = torch.zeros(n, device=dev)
        for t in range(life):
            h = model.decode(model.embed(act, rew, torch.tensor(t, device=dev)), cache, t)
            act = _greedy(model, h, t < kslot)
            r = env.step(act.cpu().numpy())[1]
            per_step[:, t] = r
            rew = torch.from_numpy(np.asarray(r, dtype=np.float32)).to(dev)
        means = tasks.means.astype(np.float64)
        refs = {
            "oracle": float(means.max(1).mean() * life),
            "uniform_random": float(means.mean(1).mean() * life),
            "always_arm_0": float(means[:, 0].mean() * life),
        }
    else:
        t_len = args.ep_len
        cache = KVCache(model.cfg, n, life * (t_len + 1), device=dev)
        for i in range(life):
            explore = i < kslot
            ep = torch.tensor(i, device=dev)
            act = torch.full((n,), -1, dtype=torch.long, device=dev)
            field = torch.zeros(n, device=dev)
            ret = torch.zeros(n, device=dev)
            obs = torch.from_numpy(np.asarray(env.obs, dtype=np.float32)).to(dev)
            for t in range(t_len + 1):
                x = model.embed(act, field, torch.tensor(t, device=dev), ep, obs)
                h = model.decode(x, cache, i * (t_len + 1) + t)
                if t == t_len:
                    break
                act = _greedy(model, h, explore)
                _, r, term, trunc, _ = env.step(act.cpu().numpy())
                done = (term | trunc).reshape(-1, *([1] * (env.obs.ndim - 1)))
                obs = torch.from_numpy(
                    np.asarray(np.where(done, env.final_obs, env.obs), dtype=np.float32)
                ).to(dev)
                r = torch.from_numpy(np.asarray(r, dtype=np.float32)).to(dev)
                ret = ret + r
                field = ret if args.env == "treasure" else r
            per_step[:, i] = ret.cpu().numpy()
        refs = {"uniform_random": uniform_random_return(args, num, seed)}
    model.train()
    returns = per_step.sum(1).reshape(nk, num)
    return {
        "k": k_values,
        "mean_return": returns.mean(1),
        "returns": returns,
        "per_step": per_step.reshape(nk, num, life),
        "references": refs,
    }


def uniform_random_return(args, num: int, seed: int) -> float:
    """Mean lifetime return of uniform-random actions on the same evaluation tasks."""
    from fastmeta.agents.first_explore.train import make_env

    life = args.eval_lifetime
    env = make_env(args, num, life)
    env.reset(seed=seed + 1, tasks=env.sample_tasks(num, seed))
    rng = np.random.default_rng(seed)
    total = np.zeros(num)
    n_act = int(env.single_action_space.n)
    for _ in range(life * args.ep_len):
        total += env.step(rng.integers(0, n_act, num))[1]
    return float(total.mean())


def default_k_values(args) -> list[int]:
    if args.env == "bandit":
        return [0, 1, 2, 3, 5, 7, 9, 10, 12, 15, 20, 30, 50]
    return list(range(args.eval_lifetime))


def load_run(run_dir):
    """(model, args) of a run directory (config.json + checkpoint.pt)."""
    from fastmeta.agents.first_explore.config import args_from_config
    from fastmeta.agents.first_explore.learner import Learner

    run_dir = Path(run_dir)
    config = json.loads((run_dir / "config.json").read_text())
    learner = Learner(config, device="cpu")
    learner.load(run_dir / "checkpoint.pt")
    return learner.model, args_from_config(config)


def sweep(run_dir, k_values=None, num: int = 1000, seed: int = 12345) -> dict:
    model, args = load_run(run_dir)
    if k_values is None:
        k_values = [0] if args.control != "none" else default_k_values(args)
    res = evaluate(model, args, k_values, num, seed)
    best = int(np.argmax(res["mean_return"]))
    stderr = res["returns"].std(1, ddof=1) / np.sqrt(num)
    return {
        "run": str(run_dir),
        "env": args.env,
        "control": args.control,
        "lifetimes": num,
        "seed": seed,
        "k": res["k"],
        "mean_return": res["mean_return"].tolist(),
        "stderr": stderr.tolist(),
        "best_k": res["k"][best],
        "best_return": float(res["mean_return"][best]),
        "best_curve": res["per_step"][best].mean(0).tolist(),
        "references": res["references"],
    }


def holdout(run_dir, k: int, num: int, seed: int) -> tuple[np.ndarray, dict]:
    """Lifetime returns (num,) of one k on `num` tasks drawn from `seed`, and the references on
    those tasks; runs scored with the same (num, seed) see the same tasks in the same order, so
    their returns pair up."""
    model, args = load_run(run_dir)
    res = evaluate(model, args, [k], num, seed)
    return res["returns"][0], res["references"]


def paired_summary(fe: np.ndarray, ctl: np.ndarray | None, k: int, seed: int, refs: dict) -> dict:
    def mean_se(x):
        return float(x.mean()), float(x.std(ddof=1) / np.sqrt(len(x)))

    out = {"seed": seed, "lifetimes": len(fe), "k": k, "references": refs}
    out["mean_return"], out["stderr"] = mean_se(fe)
    if ctl is not None:
        out["control_mean_return"], out["control_stderr"] = mean_se(ctl)
        out["paired_difference"], out["paired_stderr"] = mean_se(fe - ctl)
    return out


def plot(summaries: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    life = len(summaries[0]["best_curve"])
    xs = np.arange(1, life + 1)
    for s in summaries:
        label = "always-exploit" if s["control"] != "none" else f"First-Explore (k={s['best_k']})"
        ax.plot(xs, np.cumsum(s["best_curve"]), label=f"{label}: {s['best_return']:.1f}")
    for name, v in summaries[0]["references"].items():
        ax.plot(xs, xs * v / life, "--", label=f"{name.replace('_', ' ')}: {v:.1f}")
    unit = "pull" if summaries[0]["env"] == "bandit" else "episode"
    ax.set_xlabel(unit)
    ax.set_ylabel("cumulative reward")
    ax.set_title(f"{summaries[0]['env']}: cumulative reward per {unit} (greedy)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_training(run_dirs: list, path: Path) -> None:
    """Periodic greedy evaluation (evaluations.csv) of each run against wall-clock minutes."""
    import csv

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for d in run_dirs:
        rows = list(csv.DictReader(open(Path(d) / "evaluations.csv")))
        if not rows:
            continue
        cfg = json.loads((Path(d) / "config.json").read_text())
        control = cfg["first_explore"]["control"]
        label = "always-exploit" if control != "none" else "First-Explore"
        ax.plot(
            [float(r["elapsed_s"]) / 60 for r in rows],
            [float(r["eval_return"]) for r in rows],
            marker=".",
            label=f"{label} (k={rows[0]['k']})",
        )
    ax.set_xlabel("training wall-clock (min)")
    ax.set_ylabel("greedy lifetime return")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m fastmeta.agents.first_explore.evaluate")
    p.add_argument("run", help="First-Explore run directory")
    p.add_argument("--control", default=None, help="always-exploit run directory to compare")
    p.add_argument("--k", default=None, help="comma-separated k values (default: a sweep)")
    p.add_argument("--lifetimes", type=int, default=1000)
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument(
        "--holdout",
        type=int,
        default=0,
        help="score the chosen k (and the control) again on this many fresh tasks",
    )
    p.add_argument("--holdout-seed", type=int, default=54321)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=None, help="output directory (default: the run directory)")
    a = p.parse_args(argv)
    if a.holdout and a.holdout_seed == a.seed:
        p.error("--holdout-seed must differ from --seed: the held-out tasks must be fresh")
    torch.set_num_threads(a.threads)
    ks = [int(x) for x in a.k.split(",")] if a.k else None
    summaries = [sweep(a.run, ks, a.lifetimes, a.seed)]
    if a.control:
        summaries.append(sweep(a.control, None, a.lifetimes, a.seed))
    if a.holdout:
        k = summaries[0]["best_k"]
        fe, refs = holdout(a.run, k, a.holdout, a.holdout_seed)
        ctl = holdout(a.control, 0, a.holdout, a.holdout_seed)[0] if a.control else None
        summaries[0]["holdout"] = paired_summary(fe, ctl, k, a.holdout_seed, refs)
    out = Path(a.out or a.run)
    out.mkdir(parents=True, exist_ok=True)
    name = Path(a.run).name
    (out / f"eval_{name}.json").write_text(json.dumps(summaries, indent=1) + "\n")
    plot(summaries, out / f"eval_{name}.png")
    plot_training([a.run] + ([a.control] if a.control else []), out / f"training_{name}.png")
    for s in summaries:
        print(
            f"{s['run']}: best k={s['best_k']} return={s['best_return']:.2f} "
            f"(refs {', '.join(f'{k} {v:.1f}' for k, v in s['references'].items())})"
        )
    if "holdout" in summaries[0]:
        h = summaries[0]["holdout"]
        line = (
            f"held-out ({h['lifetimes']} tasks, seed {h['seed']}): k={h['k']} "
            f"return={h['mean_return']:.2f} ± {h['stderr']:.2f}"
        )
        if "paired_difference" in h:
            line += (
                f"; control {h['control_mean_return']:.2f} ± {h['control_stderr']:.2f}; "
                f"difference {h['paired_difference']:.2f} ± {h['paired_stderr']:.2f} (paired)"
            )
        line += f"; refs {', '.join(f'{k} {v:.1f}' for k, v in h['references'].items())}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
