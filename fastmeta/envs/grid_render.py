"""RGB frames of the grid envs, for videos: `env.render()` -> uint8 (N, H, W, 3).

Buses are drawn in their pair's colour (the original's blue, magenta, yellow, cyan; olive for the
distracting buses), the goal corner of the current instruction as a green frame, the map cell in
grey, drawers in brown with their ingredient, the bowl with its contents, the agent in red with
what it holds. Drawing happens per slot in numpy: rendering is for inspection, not the hot path.
"""

import functools

import numpy as np

from fastmeta.envs.grid_env import BOWL, BUS, DRAWER

CELL = 16
PAIR_COLOURS = [(0, 0, 255), (255, 0, 255), (255, 255, 0), (0, 255, 255)]
DISTRACTOR = (128, 128, 0)
INGREDIENT_COLOURS = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200)]
FLOOR, LINE, AGENT, GOAL, MAP = (
    (240, 240, 240),
    (200, 200, 200),
    (220, 20, 20),
    (0, 170, 0),
    (120, 120, 120),
)


def _fill(img, x, y, colour, inset=0, height=None):
    """Fill cell (x, y) (y up, as the original draws larger y lower) with an inset square."""
    h = img.shape[0] // CELL
    r0 = (h - 1 - y) * CELL
    top = r0 + inset
    bottom = r0 + CELL - inset if height is None else top + height
    img[top:bottom, x * CELL + inset : (x + 1) * CELL - inset] = colour


@functools.lru_cache(maxsize=1024)
def _background(cls, task: int) -> np.ndarray:
    img = np.empty((cls.height * CELL, cls.width * CELL, 3), dtype=np.uint8)
    img[:] = FLOOR
    img[::CELL, :] = LINE
    img[:, ::CELL] = LINE
    if cls.name == "map":
        _fill(img, 7, 3, MAP, inset=2)
    for k, (kind, x, y, arg) in enumerate(cls.objects(task)):
        if kind == BUS:
            colour = PAIR_COLOURS[(k // 2) % 4] if k < 8 else DISTRACTOR
            _fill(img, x, y, colour, inset=3)
        elif kind == DRAWER:
            _fill(img, x, y, (140, 90, 40), inset=1)
            _fill(img, x, y, INGREDIENT_COLOURS[arg], inset=5)
        elif kind == BOWL:
            _fill(img, x, y, (90, 90, 90), inset=1)
    img.setflags(write=False)
    return img


def render_grid(env) -> np.ndarray:
    return render_states(type(env), [env.slot_state(i) for i in range(env.num_envs)])


def render_states(cls, states) -> np.ndarray:
    """Frames of grid env class `cls` for slot states (dicts as GridEnv.slot_state gives)."""
    frames = np.empty((len(states), cls.height * CELL, cls.width * CELL, 3), dtype=np.uint8)
    for st, img in zip(states, frames):
        img[:] = _background(cls, st["task"])
        if cls.name == "cooking":
            for j, item in enumerate(st["bowl"]):  # bowl contents as three stripes
                if item < 4:
                    top = (cls.height - 1 - 1) * CELL + 3 + 4 * j
                    img[top : top + 3, CELL + 3 : 2 * CELL - 3] = INGREDIENT_COLOURS[item]
        else:
            gx, gy = st["i0"], st["i1"]
            _fill(img, gx, gy, GOAL, inset=0)
            _fill(img, gx, gy, FLOOR, inset=2)
        _fill(img, st["x"], st["y"], AGENT, inset=4)
        if st["inv"] < 4:
            _fill(img, st["x"], st["y"], INGREDIENT_COLOURS[st["inv"]], inset=6)
    return frames
