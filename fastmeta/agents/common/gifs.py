"""GIF export of evaluation episodes (rank 0 writes them; needs Pillow)."""

from __future__ import annotations

import numpy as np


def write_gifs(frames: np.ndarray, directory, prefix: str, duration_ms: int = 250) -> list:
    """One GIF per slot from a list of [time, H, W, 3] uint8 clips; needs Pillow."""
    from pathlib import Path

    from PIL import Image

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, clip in enumerate(frames):
        images = [Image.fromarray(f) for f in clip]
        path = directory / f"{prefix}-{i}.gif"
        images[0].save(path, save_all=True, append_images=images[1:], duration=duration_ms, loop=0)
        paths.append(path)
    return paths
