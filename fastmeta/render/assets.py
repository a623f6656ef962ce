"""The original MiniWorld textures and key mesh, read from the installed `miniworld` package data.

The files are located without importing `miniworld` (its import starts pyglet and opens a
display). Loading follows the 2020 engine: PNGs become RGB with row 0 at the bottom (pyglet's
order, so texture v = 0 is the last PNG row), and the key mesh is re-centred with the engine's
rule, quirk included (see `load_key_mesh`).
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
from pathlib import Path

import numpy as np

# The sign's letters; glyph files are named by the decimal character code (sign.md §3.4).
SIGN_TEXTS = ("BLUE", "RED", "GREEN")
GLYPHS = "BLUERDGN"


class AssetsNotFoundError(FileNotFoundError):
    """The `miniworld` package (which ships the textures and meshes) is not installed."""


@functools.lru_cache(maxsize=1)
def data_dir() -> Path:
    """The folder holding miniworld's `textures/` and `meshes/`."""
    spec = importlib.util.find_spec("miniworld")  # finds the package without running it
    roots = list(spec.submodule_search_locations or []) if spec else []
    if not roots:
        try:
            dist = importlib.metadata.distribution("miniworld")
            roots = [str(dist.locate_file("miniworld"))]
        except importlib.metadata.PackageNotFoundError:
            pass
    for root in roots:
        if (Path(root) / "textures" / "concrete_1.png").is_file():
            return Path(root)
    raise AssetsNotFoundError(
        "the sign renderer uses MiniWorld's original textures and meshes, shipped as package "
        "data of the `miniworld` package: pip install 'fastmeta[render]' (or miniworld==2.1.0)"
    )


def texture_path(name: str) -> Path:
    """Path of variant 1 of texture `name` (randomisation is off, sign.md §2.4)."""
    return data_dir() / "textures" / f"{name}_1.png"


def glyph_name(ch: str) -> str:
    return f"chars/ch_0x{ord(ch)}"


def load_texture(name: str) -> np.ndarray:
    """Texture `name` as uint8 (H, W, 3), row 0 = bottom of the image (texture v = 0)."""
    from PIL import Image

    with Image.open(texture_path(name)) as img:
        rgb = np.asarray(img.convert("RGB"))
    return np.ascontiguousarray(rgb[::-1])


def _floats(tokens):
    return [float(t) for t in tokens]


def load_key_mesh(colour: str = "blue"):
    """Triangles of `meshes/key_<colour>.obj`: (positions, normals) float32 (T, 3, 3) and Kd.

    The engine re-centres with mean = (min + m) / 2 where m takes, per axis, the max over
    triangles and then the *min* over the three corners; the result is kept as is.
    """
    mesh = data_dir() / "meshes" / f"key_{colour}.obj"
    verts, norms, tris = [], [], []
    for line in mesh.read_text().splitlines():
        tok = line.split()
        if not tok or tok[0].startswith("#"):
            continue
        if tok[0] == "v":
            verts.append(_floats(tok[1:4]))
        elif tok[0] == "vn":
            norms.append(_floats(tok[1:4]))
        elif tok[0] == "f":
            if len(tok) != 4:
                raise ValueError(f"{mesh}: only triangles are supported")
            corners = [[int(i) for i in t.split("/") if i] for t in tok[1:]]
            tris.append([(c[0] - 1, c[-1] - 1) for c in corners])
    v, n = np.asarray(verts), np.asarray(norms)
    pos = np.array([[v[a] for a, _ in tri] for tri in tris], dtype=np.float32)
    nrm = np.array([[n[b] for _, b in tri] for tri in tris], dtype=np.float32)
    lo = pos.min(axis=0).min(axis=0)
    mean = (lo + pos.max(axis=0).min(axis=0)) / 2
    pos[:, :, 1] -= lo[1]
    pos[:, :, 0] -= mean[0]
    pos[:, :, 2] -= mean[2]
    # The .mtl next to the .obj (same base name) gives the colour; its mtllib line is ignored.
    kd = np.ones(3)
    mtl = mesh.with_suffix(".mtl")
    if mtl.is_file():
        for line in mtl.read_text().splitlines():
            tok = line.split()
            if tok and tok[0] == "Kd":
                kd = np.array(_floats(tok[1:4]))
    return pos, nrm, kd
