"""Draws the README's gallery: one picture of every registered env, made by its own render().

    .venv/bin/python scripts/gallery.py            # writes docs/gallery/<name>.png

Each env is reset with seed 0 and stepped a few random actions, so the pictures show an agent
mid-episode. The sign world's picture is its first-person frame beside its top-down map.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

import fastmeta

STEPS = 3
HEIGHT = 192  # every picture is scaled to this height (nearest neighbour, pixels stay sharp)


def _colourfulness(env, x, z, theta) -> float:
    env.set_pose(0, x, z, theta)
    frame = env.render("first_person")[0].astype(float)
    return float((frame.max(axis=2) - frame.min(axis=2)).mean())


def picture(name: str) -> np.ndarray:
    env = fastmeta.make(name, num_envs=1, seed=0)
    env.reset()
    rng = np.random.default_rng(0)
    for _ in range(STEPS):
        env.step(rng.integers(0, env.single_action_space.n, size=1))
    if name == "miniworld_sign":
        # of eight headings from where the agent stands, show the one that sees the most colour
        x, z = env.pos[0]
        best = max(np.arange(8) * np.pi / 4, key=lambda th: _colourfulness(env, x, z, th))
        env.set_pose(0, x, z, best)
        first = env.render("first_person")[0]
        top = env.render("top")[0]
        first = np.asarray(
            Image.fromarray(first).resize((top.shape[0] * 4 // 3, top.shape[0]), Image.NEAREST)
        )
        gap = np.full((top.shape[0], 8, 3), 255, dtype=np.uint8)
        frame = np.concatenate([first, gap, top], axis=1)
    else:
        frame = env.render()[0]
    env.close()
    return frame


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/gallery"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in fastmeta.list_envs():
        frame = picture(name)
        h, w = frame.shape[:2]
        image = Image.fromarray(frame).resize(
            (max(1, round(w * HEIGHT / h)), HEIGHT), Image.NEAREST
        )
        path = args.out / f"{name}.png"
        image.save(path, optimize=True)
        print(f"{path}  {image.size[0]}x{image.size[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
