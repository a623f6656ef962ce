"""Triangle lists of the sign world for the renderer (sign.md §2-§3, §7.5), built with numpy.

Every vertex is 13 float32: position (3), normal (3), texture uv (2), colour (3), texture slot
(1; see TEX_*) and sign text (1; -1 for geometry every world shares, else the text index it
belongs to). Quads keep the engine's vertex order, so the counter-clockwise front faces and the
back-face culling match.
"""

from __future__ import annotations

import math

import numpy as np

from fastmeta.kernels.sign_physics import WALL_SEGS
from fastmeta.render.assets import GLYPHS, SIGN_TEXTS

WALL_HEIGHT = 2.74
TEX_DENSITY = 512.0  # texels per metre
TEX_NONE, TEX_WALL, TEX_FLOOR, TEX_CEIL, TEX_GLYPH = 0, 1, 2, 3, 4
FLOATS_PER_VERTEX = 13

# Rooms as (min_x, max_x, min_z, max_z), in creation order (the connector is made by the engine).
ROOMS = (
    (0.0, 10.0, 0.0, 6.5),
    (0.0, 6.0, 6.75, 13.0),
    (6.0, 10.0, 6.75, 13.0),
    (0.0, 6.0, 6.5, 6.75),
)
# Texture u at each wall's start corner: wall 4 starts 6 m along its edge, after the opening.
WALL_U0 = (0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0)
SIGN_CENTRE = (10.0, 1.35, 10.25)
SIGN_YAW = math.pi
SIGN_DEPTH = 0.05
BOX_SIZE = 0.8


def _vertex(p, n, uv=(0.0, 0.0), colour=(1.0, 1.0, 1.0), tex=TEX_NONE, sign=-1):
    return [*p, *n, *uv, *colour, float(tex), float(sign)]


def _quad(vs):
    """Two triangles of the quad (v0 v1 v2 v3), keeping its winding."""
    return [vs[0], vs[1], vs[2], vs[0], vs[2], vs[3]]


def _polygon(vs):
    return [v for k in range(1, len(vs) - 1) for v in (vs[0], vs[k], vs[k + 1])]


def room_vertices(floor_size: int, ceil_size: int, wall_size: int) -> list:
    """Floors, ceilings and the 11 walls; `*_size`: the textures' widths (= heights) in texels."""
    out = []
    for x0, x1, z0, z1 in ROOMS:
        outline = [(x1, z1), (x1, z0), (x0, z0), (x0, z1)]
        fc = TEX_DENSITY / floor_size
        out += _polygon(
            [_vertex((x, 0.0, z), (0, 1, 0), (x * fc, z * fc), tex=TEX_FLOOR) for x, z in outline]
        )
        cc = TEX_DENSITY / ceil_size
        out += _polygon(
            [
                _vertex((x, WALL_HEIGHT, z), (0, -1, 0), (x * cc, z * cc), tex=TEX_CEIL)
                for x, z in outline[::-1]
            ]
        )
    wc = TEX_DENSITY / wall_size
    for (end, start), u0 in zip(WALL_SEGS, WALL_U0):
        d = end - start
        length = float(np.hypot(*d))
        n = np.array([d[1], 0.0, -d[0]]) / length  # inward: -(edge x up), normalised
        u_a, u_b = u0 * wc, (u0 + length) * wc
        v_b = WALL_HEIGHT * wc
        sx, sz = start
        ex, ez = end
        out += _quad(
            [
                _vertex((sx, 0.0, sz), n, (u_a, 0.0), tex=TEX_WALL),
                _vertex((sx, WALL_HEIGHT, sz), n, (u_a, v_b), tex=TEX_WALL),
                _vertex((ex, WALL_HEIGHT, ez), n, (u_b, v_b), tex=TEX_WALL),
                _vertex((ex, 0.0, ez), n, (u_b, 0.0), tex=TEX_WALL),
            ]
        )
    return out


def _yaw(p, phi):
    """Rotate (x, y, z) about +y by phi (glRotate's sense)."""
    x, y, z = p
    c, s = math.cos(phi), math.sin(phi)
    return (x * c + z * s, y, -x * s + z * c)


def sign_vertices(text_index: int) -> list:
    """The text frame of SIGN_TEXTS[text_index]: glyph faces and the four black sides."""
    text = SIGN_TEXTS[text_index]
    hz, hy, sx = len(text) / 2, 0.5, SIGN_DEPTH
    cx, cy, cz = SIGN_CENTRE

    def world(p):
        x, y, z = _yaw(p, SIGN_YAW)
        return (cx + x, cy + y, cz + z)

    def v(p, n, uv=(0.0, 0.0), colour=(1.0, 1.0, 1.0), tex=TEX_NONE):
        return _vertex(world(p), _yaw(n, SIGN_YAW), uv, colour, tex, text_index)

    out = []
    for idx, ch in enumerate(text):
        z0 = hz - (idx + 1)
        z1 = z0 + 1
        t = TEX_GLYPH + GLYPHS.index(ch)
        n = (1, 0, 0)
        out += _quad(
            [
                v((sx, hy, z0), n, (1, 1), tex=t),
                v((sx, hy, z1), n, (0, 1), tex=t),
                v((sx, -hy, z1), n, (0, 0), tex=t),
                v((sx, -hy, z0), n, (1, 0), tex=t),
            ]
        )
    black = (0.0, 0.0, 0.0)
    sides = [
        ((0, 0, -1), [(0, hy, -hz), (sx, hy, -hz), (sx, -hy, -hz), (0, -hy, -hz)]),
        ((0, 0, 1), [(sx, hy, hz), (0, hy, hz), (0, -hy, hz), (sx, -hy, hz)]),
        ((0, 1, 0), [(sx, hy, hz), (sx, hy, -hz), (0, hy, -hz), (0, hy, hz)]),
        ((0, -1, 0), [(sx, -hy, -hz), (sx, -hy, hz), (0, -hy, hz), (0, -hy, -hz)]),
    ]
    for n, corners in sides:
        out += _quad([v(c, n, colour=black) for c in corners])
    return out


def static_vertices(floor_size: int, ceil_size: int, wall_size: int) -> np.ndarray:
    """Rooms plus the three sign variants, as a float32 (V, 13) array."""
    verts = room_vertices(floor_size, ceil_size, wall_size)
    for k in range(len(SIGN_TEXTS)):
        verts += sign_vertices(k)
    return np.asarray(verts, dtype=np.float32)


def box_vertices() -> np.ndarray:
    """A 0.8 cube on the floor, centred on x = z = 0, with the engine's face order: (36, 13)."""
    h = BOX_SIZE / 2
    lo, hi, y0, y1 = -h, h, 0.0, BOX_SIZE
    faces = [
        ((0, 0, 1), [(hi, y1, hi), (lo, y1, hi), (lo, y0, hi), (hi, y0, hi)]),
        ((0, 0, -1), [(lo, y1, lo), (hi, y1, lo), (hi, y0, lo), (lo, y0, lo)]),
        ((-1, 0, 0), [(lo, y1, hi), (lo, y1, lo), (lo, y0, lo), (lo, y0, hi)]),
        ((1, 0, 0), [(hi, y1, lo), (hi, y1, hi), (hi, y0, hi), (hi, y0, lo)]),
        ((0, 1, 0), [(hi, y1, hi), (hi, y1, lo), (lo, y1, lo), (lo, y1, hi)]),
        ((0, -1, 0), [(hi, y0, lo), (hi, y0, hi), (lo, y0, hi), (lo, y0, lo)]),
    ]
    out = []
    for n, corners in faces:
        out += _quad([_vertex(c, n) for c in corners])
    return np.asarray(out, dtype=np.float32)


def key_vertices(positions: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """The key mesh triangles (unscaled; the shader scales positions, not normals): (3T, 13)."""
    t = positions.shape[0]
    out = np.zeros((t * 3, FLOATS_PER_VERTEX), dtype=np.float32)
    out[:, 0:3] = positions.reshape(-1, 3)
    out[:, 3:6] = normals.reshape(-1, 3)
    out[:, 8:11] = 1.0
    out[:, 12] = -1.0
    return out
