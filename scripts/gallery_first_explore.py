"""Draws the README gallery's First-Explore GIF: one lifetime of a trained agent in one dark
treasure room, k episodes with the explore head, then the exploit head for the rest.

    .venv/bin/python scripts/gallery_first_explore.py RUN_DIR [--k K] [--seed S]
        [--out docs/gallery/first-explore-treasure.gif]

RUN_DIR is a First-Explore treasure-room run (config.json + checkpoint.pt, as train.py writes).
Actions are greedy and the lifetime is evaluate.py's: the room is task 0 of
`env.sample_tasks(1, seed)`, the episode returns are checked against `evaluate.evaluate` on
the same room. k defaults to the best k of the run's eval_<name>.json (evaluate.py's sweep) if
there is one, else the run's eval_k. Frames are env.render() after each episode start and after
every step, upscaled; a blue border marks explore episodes, an orange one exploit episodes, and
the strip below has one segment per episode (the current one bright).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import fastmeta
from fastmeta.agents.first_explore.evaluate import _greedy, evaluate, load_run
from fastmeta.agents.first_explore.model import KVCache
from fastmeta.agents.first_explore.train import make_env

SCALE, BORDER, STRIP = 3, 6, 14
EXPLORE, EXPLOIT = np.array([70, 140, 255]), np.array([255, 160, 40])
FRAME_MS, EPISODE_END_MS = 150, 600


def default_k(run: Path, args) -> int:
    if args.control != "none":
        return 0  # the always-exploit control is only ever scored with k = 0
    sweep = run / f"eval_{run.name}.json"
    if sweep.exists():
        return int(json.loads(sweep.read_text())[0]["best_k"])
    return args.eval_k


@torch.no_grad()
def play(model, args, k: int, seed: int) -> tuple[list, np.ndarray]:
    """evaluate.evaluate's treasure lifetime for one room; returns [(episode, frame)], returns."""
    model.eval()
    dev = next(model.parameters()).device
    life, t_len = args.eval_lifetime, args.ep_len
    env = make_env(args, 1, life)
    tasks = env.sample_tasks(1, seed)
    env.reset(seed=seed + 1, tasks=tasks)
    # a twin that does not autoreset, so the last step of an episode can be drawn
    view = fastmeta.make(
        "DarkTreasureRoom", minval=args.minval, episode_length=t_len + 1, episodes_per_trial=1
    )
    view.reset(tasks=tasks)
    cache = KVCache(model.cfg, 1, life * (t_len + 1), device=dev)
    frames, returns = [], np.zeros(life)
    for i in range(life):
        if i:
            view.restart_episode()
        frames.append((i, view.render()[0]))
        ep, explore = torch.tensor(i, device=dev), torch.tensor([i < k], device=dev)
        act = torch.full((1,), -1, dtype=torch.long, device=dev)
        field = torch.zeros(1, device=dev)  # the running return, as evaluate's tokens carry
        obs = torch.from_numpy(env.obs.astype(np.float32)).to(dev)
        for t in range(t_len + 1):
            h = model.decode(
                model.embed(act, field, torch.tensor(t, device=dev), ep, obs),
                cache,
                i * (t_len + 1) + t,
            )
            if t == t_len:
                break
            act = _greedy(model, h, explore)
            _, r, term, trunc, _ = env.step(act.cpu().numpy())
            view.step(act.cpu().numpy())
            frames.append((i, view.render()[0]))
            done = bool(term[0] or trunc[0])
            obs = torch.from_numpy((env.final_obs if done else env.obs).astype(np.float32)).to(dev)
            field = field + torch.from_numpy(r.astype(np.float32)).to(dev)
        returns[i] = float(field[0])
    return frames, returns


def decorate(frame: np.ndarray, episode: int, k: int, life: int) -> np.ndarray:
    """Upscale, add the phase border and the per-episode strip below."""
    room = np.repeat(np.repeat(frame, SCALE, axis=0), SCALE, axis=1)
    h, w = room.shape[:2]
    out = np.full((h + 2 * BORDER + STRIP, w + 2 * BORDER, 3), 16, dtype=np.uint8)
    out[: h + 2 * BORDER] = EXPLORE if episode < k else EXPLOIT
    out[BORDER : BORDER + h, BORDER : BORDER + w] = room
    edges = np.linspace(BORDER, w + BORDER, life + 1).round().astype(int)
    top = h + 2 * BORDER + 3
    for j in range(life):
        shade = 1.0 if j == episode else 0.55 if j < episode else 0.22
        colour = (EXPLORE if j < k else EXPLOIT) * shade
        out[top : top + STRIP - 6, edges[j] + 1 : edges[j + 1] - 1] = colour.astype(np.uint8)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path, help="First-Explore treasure-room run directory")
    p.add_argument("--k", type=int, default=None, help="explore episodes (default: see above)")
    p.add_argument("--seed", type=int, default=0, help="seed of the room (evaluate's task seed)")
    p.add_argument("--out", type=Path, default=Path("docs/gallery/first-explore-treasure.gif"))
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    model, args = load_run(a.run)
    if args.env != "treasure":
        p.error(f"{a.run} is a {args.env} run; this script draws the treasure room")
    k = default_k(a.run, args) if a.k is None else a.k
    frames, returns = play(model, args, k, a.seed)
    expected = evaluate(model, args, [k], 1, a.seed)["per_step"][0, 0]
    if not np.allclose(returns, expected, atol=1e-4):
        raise SystemExit(f"episode returns {returns} differ from evaluate's {expected}")
    life = args.eval_lifetime
    images = [Image.fromarray(decorate(f, i, k, life)) for i, f in frames]
    # hold the last frame of every episode a little longer
    durations = [
        EPISODE_END_MS if j + 1 == len(frames) or frames[j + 1][0] != i else FRAME_MS
        for j, (i, _) in enumerate(frames)
    ]
    a.out.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(a.out, save_all=True, append_images=images[1:], duration=durations, loop=0)
    for i, r in enumerate(returns):
        print(f"episode {i} ({'explore' if i < k else 'exploit'}): return {r:+.2f}")
    print(f"lifetime return {returns.sum():+.2f} (k={k}, seed {a.seed})")
    print(f"{a.out}  {len(images)} frames captured, {images[0].size[0]}x{images[0].size[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
