"""The original's render object: `write_text(str)` appends a banner line, `image()` gives PIL."""

import numpy as np


class GridRender:
    def __init__(self, frame: np.ndarray):
        self._frame = frame
        self._lines: list[str] = []

    @classmethod
    def of(cls, env):
        from fastmeta.envs.grid_render import render_states

        core = env._core
        state = {k: core.get(k) for k in ("x", "y", "inv", "bowl", "i0", "i1", "task")}
        return cls(render_states(env.native, [state])[0])

    def write_text(self, text: str) -> None:
        self._lines.append(str(text))

    def image(self):
        from PIL import Image, ImageDraw

        w = max(self._frame.shape[1], 240)
        banner = 12 * len(self._lines)
        canvas = Image.new("RGB", (w, self._frame.shape[0] + banner), (255, 255, 255))
        canvas.paste(Image.fromarray(self._frame), (0, 0))
        draw = ImageDraw.Draw(canvas)
        for k, line in enumerate(self._lines):
            draw.text((2, self._frame.shape[0] + 12 * k), line, fill=(0, 0, 0))
        return canvas
