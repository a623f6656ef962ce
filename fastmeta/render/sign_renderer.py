"""Batched first-person and top-down frames of the sign world on one headless GL context.

All views of a batch are drawn in one pass: each draw call is instanced over the views and the
vertex shader sends every instance to its own viewport of a layered multisampled target
(layers.py); boxes and keys are drawn only for the views whose frustum they can touch. One more
instanced draw averages each view's samples into its tile of an 8-bit atlas (the engine's
multisample -> RGBA8 resolve), and the atlas is read back once. Lighting reproduces the engine's
fixed-function look (sign.md §7): a directional light along (1, 3.5, 1), per-vertex factor
0.65 + 0.7 max(0, n.L) clamped, key normals left 1/0.3 too long, texel modulation with
trilinear mipmaps.
"""

from __future__ import annotations

import math

import numpy as np

from fastmeta.kernels.sign_physics import OBJ_POS
from fastmeta.render import assets
from fastmeta.render.egl import create_context
from fastmeta.render.layers import LayeredTarget
from fastmeta.render.sign_scene import (
    FLOATS_PER_VERTEX,
    TEX_CEIL,
    TEX_FLOOR,
    TEX_NONE,
    TEX_WALL,
    box_vertices,
    key_vertices,
    static_vertices,
)

WIDTH, HEIGHT = 80, 60
TOP_WIDTH, TOP_HEIGHT = 160, 120
SKY = (0.25, 0.82, 1.0)
CAM_HEIGHT = 1.5
FOV_Y, Z_NEAR, Z_FAR = 60.0, 0.04, 100.0
KEY_HEIGHT = 0.6
# The engine hands GL (1, 3.5, 1, 0): light_pos + [1] broadcasts, so the light is directional.
LIGHT_DIR = np.array([1.0, 3.5, 1.0]) / math.sqrt(1 + 3.5**2 + 1)
# Views per pass: larger passes amortise the per-pass work (measured best at 128 on llvmpipe
# with 2 threads, once views share layers; see layers.py).
VIEWS_PER_PASS = {"msaa": 128, "single": 128, "top-msaa": 32, "top": 32}
MSAA_STORAGE = ("f32", "u8")
RESOLVE_UNIT = 5

_VERTEX = """
#version 330
#extension GL_ARB_shader_viewport_layer_array : require
uniform sampler2D views;      // per view: (x, z, theta, sign), box yaws, key yaws
uniform int mode;             // 0 world, 1 boxes, 2 keys, 3 agent marker (top view)
uniform int top;              // 0 first person, 1 top-down
uniform mat4 proj;
uniform mat4 top_proj;
uniform vec2 obj_pos[6];
uniform float key_scale;
uniform vec3 light_dir;
uniform int per_layer;        // views per layer of the target: one viewport each
in vec3 in_pos;
in vec3 in_normal;
in vec2 in_uv;
in vec3 in_color;
in float in_tex;
in float in_sign;
in vec2 in_inst;              // boxes and keys: (view, object) of this instance
out vec3 v_color;
out vec2 v_uv;
flat out float v_layer;
out float gl_ClipDistance[1];

vec3 yawed(vec3 p, float phi) {
    float c = cos(phi), s = sin(phi);
    return vec3(p.x * c + p.z * s, p.y, -p.x * s + p.z * c);
}

void main() {
    bool thing = mode == 1 || mode == 2;
    int view = thing ? int(in_inst.x) : gl_InstanceID;
    int obj = int(in_inst.y);
    vec4 cam = texelFetch(views, ivec2(0, view), 0);
    vec3 p = in_pos;
    vec3 n = in_normal;
    vec3 col = in_color;
    if (thing) {
        float phi = texelFetch(views, ivec2(mode, view), 0)[obj];
        vec2 at = obj_pos[obj + 3 * (mode - 1)];
        p = yawed(mode == 2 ? p * key_scale : p, phi) + vec3(at.x, 0.0, at.y);
        n = yawed(n, phi);
        if (mode == 2) n = n / key_scale;  // no GL_NORMALIZE in the engine
        col = vec3(obj == 1 ? 1.0 : 0.0, obj == 2 ? 1.0 : 0.0, obj == 0 ? 1.0 : 0.0);
    } else if (mode == 3) {
        vec3 f = vec3(cos(cam.z), 0.0, -sin(cam.z)) * 0.4;
        vec3 r = vec3(sin(cam.z), 0.0, cos(cam.z)) * 0.4;
        p = vec3(cam.x, 1.6, cam.y) + in_pos.x * f + in_pos.y * r;
    }
    float lit = 0.65 + 0.7 * max(0.0, dot(n, light_dir));
    v_color = clamp(col * lit, 0.0, 1.0);
    v_uv = in_uv;
    v_layer = in_tex - 4.0;

    vec4 clip;
    if (top == 1) {
        clip = top_proj * vec4(p, 1.0);
    } else {
        vec3 rel = p - vec3(cam.x, 1.5, cam.y);
        vec3 fwd = vec3(cos(cam.z), 0.0, -sin(cam.z));
        vec3 side = vec3(sin(cam.z), 0.0, cos(cam.z));
        clip = proj * vec4(dot(side, rel), rel.y, -dot(fwd, rel), 1.0);
    }
    // Only the sign whose text this view shows is kept: the other two are clipped away.
    bool hidden = in_sign > -0.5 && abs(in_sign - cam.w) > 0.5;
    gl_ClipDistance[0] = hidden ? -1.0 : 1.0;
    gl_Layer = view / per_layer;
    gl_ViewportIndex = view - gl_Layer * per_layer;
    gl_Position = clip;
}
"""

# One fragment shader per material, so a fragment samples only its own texture (llvmpipe runs
# every branch of a shader, so one shader with a texture switch would pay for all of them).
_FRAGMENT = {
    "flat": "vec3 texel() { return vec3(1.0); }",
    "tex": "uniform sampler2D tex;\nvec3 texel() { return texture(tex, v_uv).rgb; }",
    "glyph": "uniform sampler2DArray tex;\n"
    "vec3 texel() { return texture(tex, vec3(v_uv, v_layer)).rgb; }",
}
_FRAGMENT_MAIN = """
#version 330
in vec3 v_color;
in vec2 v_uv;
flat in float v_layer;
out vec4 f_color;
%s
void main() { f_color = vec4(v_color * texel(), 1.0); }
"""

# Resolve: average each layer's samples into its tile of the 8-bit atlas (the engine's
# RGBA32F -> RGBA8 blit), one instanced draw for the whole batch.
_RESOLVE_VERTEX = """
#version 330
uniform ivec2 tile;
uniform ivec2 atlas;
uniform int cols;
uniform int grid;             // the target's layers hold grid x grid views
flat out ivec3 v_origin;      // atlas origin of the tile minus the view's origin in its layer
flat out int v_layer;
void main() {
    int k = gl_InstanceID;
    ivec2 o = ivec2(k % cols, k / cols) * tile;
    int j = k % (grid * grid);
    ivec2 src = ivec2(j % grid, j / grid) * tile;
    vec2 corner = vec2(gl_VertexID & 1, gl_VertexID >> 1);
    vec2 px = vec2(o) + corner * vec2(tile);
    v_origin = ivec3(o - src, 0);
    v_layer = k / (grid * grid);
    gl_Position = vec4(px / vec2(atlas) * 2.0 - 1.0, 0.0, 1.0);
}
"""
_RESOLVE_FRAGMENT = """
#version 330
uniform %s layers;
flat in ivec3 v_origin;
flat in int v_layer;
out vec4 f_color;
void main() {
    ivec3 p = ivec3(ivec2(gl_FragCoord.xy) - v_origin.xy, v_layer);
    %s
}
"""


def _resolve_ms(samples: int) -> str:
    # Unrolled for the sample count in use: llvmpipe runs shader loops slowly.
    terms = " + ".join(f"texelFetch(layers, p, {k})" for k in range(samples))
    return f"f_color = ({terms}) / {float(samples)};"


_RESOLVE_SINGLE = "f_color = texelFetch(layers, p, 0);"

_ATTRS = (
    ("in_pos", 3),
    ("in_normal", 3),
    ("in_uv", 2),
    ("in_color", 3),
    ("in_tex", 1),
    ("in_sign", 1),
)
# Slack (metres) on the bounding spheres of the first-person culling test, so float rounding
# can never cull an object that would have touched a pixel.
CULL_MARGIN = 0.05
# Static geometry is drawn per material, in this order: (name, program, texture unit).
_MATERIALS = (
    ("wall", "tex", 1),
    ("floor", "tex", 2),
    ("ceil", "tex", 3),
    ("glyph", "glyph", 4),
    ("flat", "flat", None),
)
_MATERIAL_OF_TEX = {TEX_WALL: "wall", TEX_FLOOR: "floor", TEX_CEIL: "ceil", TEX_NONE: "flat"}


def perspective(fovy_deg: float, aspect: float, near: float, far: float) -> np.ndarray:
    """gluPerspective's matrix (row-major)."""
    f = 1.0 / math.tan(math.radians(fovy_deg) / 2)
    return np.array(
        [
            [f / aspect, 0, 0, 0],
            [0, f, 0, 0],
            [0, 0, (far + near) / (near - far), 2 * far * near / (near - far)],
            [0, 0, -1, 0],
        ]
    )


def top_matrix(width: int, height: int) -> np.ndarray:
    """The engine's top view: glOrtho over the map plus 1 m, widened to the target's aspect."""
    min_x, max_x, min_z, max_z = -1.0, 11.0, -1.0, 14.0
    w, h = max_x - min_x, max_z - min_z
    fb_aspect = width / height
    if w / h > fb_aspect:
        extra = w / fb_aspect - h
        min_z, max_z = min_z - extra / 2, max_z + extra / 2
    elif w / h < fb_aspect:
        extra = h * fb_aspect - w
        min_x, max_x = min_x - extra / 2, max_x + extra / 2
    left, right, bottom, top, near, far = min_x, max_x, -max_z, -min_z, -100.0, 100.0
    ortho = np.array(
        [
            [2 / (right - left), 0, 0, -(right + left) / (right - left)],
            [0, 2 / (top - bottom), 0, -(top + bottom) / (top - bottom)],
            [0, 0, -2 / (far - near), -(far + near) / (far - near)],
            [0, 0, 0, 1],
        ]
    )
    # Looking down: eye coordinates are (x, -z, y).
    look = np.array([[1, 0, 0, 0], [0, 0, -1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=float)
    return ortho @ look


def _half_fov():
    """(cos, sin) of the horizontal and vertical half angles of the first-person frustum."""
    hy = math.radians(FOV_Y) / 2
    hx = math.atan(math.tan(hy) * WIDTH / HEIGHT)
    return (math.cos(hx), math.sin(hx)), (math.cos(hy), math.sin(hy))


_HALF_FOV = _half_fov()


def _axis_sphere(points: np.ndarray) -> tuple[float, float]:
    """A sphere centred on the y axis holding `points` (N, 3) under any yaw: (centre y, r)."""
    cy = float(points[:, 1].min() + points[:, 1].max()) / 2
    r = float(np.sqrt(points[:, 0] ** 2 + (points[:, 1] - cy) ** 2 + points[:, 2] ** 2).max())
    return cy, r


def _check_samples(samples) -> int:
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)):
        raise TypeError(f"samples must be an int, got {type(samples).__name__}")
    if not 1 <= samples <= 16:
        raise ValueError(f"samples must be in [1, 16] (1 = no MSAA), got {samples}")
    return int(samples)


class SignRenderer:
    """Renders batches of sign-world views: first-person 80x60 frames and top-down maps.

    `samples` is the requested MSAA sample count (the engine asks for 8); it is capped by the
    driver's maximum, as the engine does, and `self.samples` says what is used. `msaa_storage`
    "f32" keeps the engine's float samples; "u8" (the default) is 1.6x faster on llvmpipe and
    differs by 1 (of 255) in about 1% of values. `max_views` caps the views drawn per pass.
    """

    def __init__(
        self,
        samples: int = 8,
        backend: str = "egl",
        msaa_storage: str = "u8",
        max_views: int | None = None,
    ):
        samples = _check_samples(samples)
        if msaa_storage not in MSAA_STORAGE:
            raise ValueError(f"msaa_storage must be one of {MSAA_STORAGE}, got {msaa_storage!r}")
        if max_views is not None and (
            isinstance(max_views, bool)
            or not isinstance(max_views, (int, np.integer))
            or max_views < 1
        ):
            raise ValueError(f"max_views must be a positive int or None, got {max_views!r}")
        self.ctx = create_context(backend)
        if "GL_ARB_shader_viewport_layer_array" not in self.ctx.extensions:
            self.ctx.release()
            raise RuntimeError(
                "the OpenGL driver lacks GL_ARB_shader_viewport_layer_array, which the batched "
                "renderer uses to give every view its own layer (Mesa >= 18 and current GPU "
                f"drivers have it); driver: {self.ctx.info.get('GL_RENDERER')}"
            )
        self.requested_samples = samples
        self.samples = min(samples, max(1, self.ctx.max_samples))
        self.msaa_storage = msaa_storage
        ms = self.samples > 1
        self._per_pass = {
            False: VIEWS_PER_PASS["msaa" if ms else "single"],
            True: VIEWS_PER_PASS["top-msaa" if ms else "top"],
        }
        if max_views is not None:
            self._per_pass = {k: min(v, int(max_views)) for k, v in self._per_pass.items()}
        self.max_views = max(self._per_pass.values())
        with self.ctx:
            self._build()

    # -- set-up -----------------------------------------------------------------------------
    @staticmethod
    def _rgba(image: np.ndarray) -> bytes:
        # Stored as RGBA with alpha 255: the same RGB texels and mipmaps as the engine's RGB
        # textures, but llvmpipe samples 4-byte texels much faster than 3-byte ones.
        rgba = np.concatenate([image, np.full((*image.shape[:-1], 1), 255, np.uint8)], axis=-1)
        return rgba.tobytes()

    def _texture(self, image: np.ndarray, unit: int):
        tex = self.ctx.texture((image.shape[1], image.shape[0]), 4, self._rgba(image))
        tex.build_mipmaps()
        tex.use(unit)
        return tex

    def _build(self):
        ctx = self.ctx
        walls = assets.load_texture("concrete")
        floor = assets.load_texture("floor_tiles_bw")
        ceil = assets.load_texture("concrete_tiles")
        glyphs = np.stack([assets.load_texture(assets.glyph_name(ch)) for ch in assets.GLYPHS])
        self._textures = [self._texture(walls, 1), self._texture(floor, 2), self._texture(ceil, 3)]
        gl = ctx.texture_array(
            (glyphs.shape[2], glyphs.shape[1], len(glyphs)), 4, self._rgba(glyphs)
        )
        gl.build_mipmaps()
        gl.use(4)
        self._textures.append(gl)

        self._progs = {
            k: ctx.program(vertex_shader=_VERTEX, fragment_shader=_FRAGMENT_MAIN % f)
            for k, f in _FRAGMENT.items()
        }
        key_pos, key_nrm, _ = assets.load_key_mesh("blue")
        self.key_scale = KEY_HEIGHT / float(key_pos[:, :, 1].max())
        for prog in self._progs.values():
            self._set(prog, views=0, key_scale=self.key_scale, light_dir=tuple(LIGHT_DIR))
            prog["proj"].write(
                perspective(FOV_Y, WIDTH / HEIGHT, Z_NEAR, Z_FAR).T.astype("f4").tobytes()
            )
            prog["top_proj"].write(top_matrix(TOP_WIDTH, TOP_HEIGHT).T.astype("f4").tobytes())
            if prog.get("obj_pos", None) is not None:
                prog["obj_pos"].write(OBJ_POS.astype("f4").tobytes())
        self._buffers = []

        # Static geometry, grouped by material: one range of one buffer per material.
        verts = static_vertices(floor.shape[1], ceil.shape[1], walls.shape[1])
        tex = np.rint(verts[:, 11]).astype(int)
        groups = [
            verts[np.vectorize(lambda t: _MATERIAL_OF_TEX.get(t, "glyph"))(tex) == name]
            for name, _, _ in _MATERIALS
        ]
        self._world = []
        for (name, prog, unit), g in zip(_MATERIALS, groups):
            self._world.append((self._vao(prog, g), unit))
        # Boxes and keys are drawn once per visible (view, object) instance, listed in a small
        # per-instance buffer each pass (see _instances).
        self._inst = {mode: ctx.buffer(reserve=self.max_views * 3 * 8) for mode in (1, 2)}
        self._buffers += list(self._inst.values())
        boxes = box_vertices()
        self._boxes = self._vao("flat", boxes, instances=self._inst[1])
        # Keys: 208 triangles over few distinct (position, normal) pairs: draw them indexed.
        kv, index = np.unique(key_vertices(key_pos, key_nrm), axis=0, return_inverse=True)
        self._keys = self._vao("flat", kv, index.astype("i4").ravel(), instances=self._inst[2])
        # Bounding spheres on the object's vertical axis (yaw-invariant): (centre y, radius).
        self._spheres = {
            1: _axis_sphere(boxes[:, 0:3]),
            2: _axis_sphere(kv[:, 0:3] * self.key_scale),
        }
        self._all_inst = np.stack(np.divmod(np.arange(self.max_views * 3), 3), 1).astype("f4")
        marker = np.zeros((3, FLOATS_PER_VERTEX), dtype="f4")
        marker[:, 0:2] = [(1.0, 0.0), (-0.75, -0.75), (-0.75, 0.75)]
        marker[:, 4] = 1.0  # normal +y: fully lit
        marker[:, 8] = 1.0  # red
        marker[:, 12] = -1.0
        self._marker = self._vao("flat", marker)

        self._resolve = {}
        for ms, sampler, body in (
            (True, "sampler2DMSArray", _resolve_ms(self.samples)),
            (False, "sampler2DArray", _RESOLVE_SINGLE),
        ):
            prog = ctx.program(
                vertex_shader=_RESOLVE_VERTEX, fragment_shader=_RESOLVE_FRAGMENT % (sampler, body)
            )
            self._set(prog, layers=RESOLVE_UNIT)
            self._resolve[ms] = (prog, ctx.vertex_array(prog, []))

        self._targets = {}
        self._views = np.zeros((self.max_views, 3, 4), dtype=np.float32)
        self._view_tex = ctx.texture((3, self.max_views), 4, dtype="f4")
        self._view_tex.filter = (ctx.NEAREST, ctx.NEAREST)
        self._view_tex.use(0)

    @staticmethod
    def _set(prog, **values):
        """Set the uniforms `prog` uses (the GLSL compiler drops the ones it does not)."""
        for name, value in values.items():
            if prog.get(name, None) is not None:
                prog[name].value = value

    def _vao(self, prog_name, vertices, index=None, instances=None):
        prog = self._progs[prog_name]
        buf = self.ctx.buffer(np.ascontiguousarray(vertices, dtype="f4").tobytes())
        fmt, names = [], []
        for name, size in _ATTRS:  # skip the attributes this program does not use
            if prog.get(name, None) is not None:
                fmt.append(f"{size}f")
                names.append(name)
            else:
                fmt.append(f"{4 * size}x")
        ibo = None if index is None else self.ctx.buffer(index.tobytes())
        self._buffers += [b for b in (buf, ibo) if b is not None]
        content = [(buf, " ".join(fmt), *names)]
        if instances is not None:
            content.append((instances, "2f/i", "in_inst"))
        vao = self.ctx.vertex_array(prog, content, index_buffer=ibo, index_element_size=4)
        return prog, vao

    def reserve(self, count: int, top: bool = False) -> None:
        """Size the render target for batches of up to `count` views now. A frame's rounding
        depends on the target's size, so an env that reserves its largest batch up front draws
        the same frames whatever batches came before (copies and restored states included)."""
        with self.ctx:
            self._target(top, count)

    def _target(self, top: bool, count: int) -> LayeredTarget:
        # Sized to the largest batch seen so far (up to max_views), so a steady batch size
        # allocates once.
        need = min(self._per_pass[top], max(1, count))
        tgt = self._targets.get(top)
        if tgt is None or tgt.views < need:
            if tgt is not None:
                tgt.release()
            tile = (TOP_WIDTH, TOP_HEIGHT) if top else (WIDTH, HEIGHT)
            tgt = LayeredTarget(
                self.ctx,
                *tile,
                need,
                self.samples,
                self.msaa_storage,
                max_viewports=int(self.ctx.info.get("GL_MAX_VIEWPORTS", 1)),
            )
            self._targets[top] = tgt
        return tgt

    # -- drawing ----------------------------------------------------------------------------
    def render(self, pos, theta, yaw, sign, out, top: bool = False) -> np.ndarray:
        """Draw views k = 0..M-1 into `out` (M, H, W, 3) uint8 (any strides; row 0 = top).

        pos (M, 2) agent (x, z); theta (M,) heading; yaw (M, 6) object yaws (boxes then keys,
        blue red green); sign (M,) text index. First-person frames are 60x80; top views 120x160.
        """
        m_total = len(theta)
        if m_total == 0:
            return out
        with self.ctx:
            self.ctx.enable_only(self.ctx.DEPTH_TEST | self.ctx.CULL_FACE)
            self.ctx.enable_direct(0x3000)  # GL_CLIP_DISTANCE0
            tgt = self._target(top, m_total)
            for start in range(0, m_total, tgt.views):
                m = min(tgt.views, m_total - start)
                sl = slice(start, start + m)
                self._draw(tgt, pos[sl], theta[sl], yaw[sl], sign[sl], m, top)
                self._read(tgt, m, out[sl])
        return out

    def _draw(self, tgt, pos, theta, yaw, sign, m, top):
        v = self._views[:m]
        v[:, 0, 0] = pos[:, 0]
        v[:, 0, 1] = pos[:, 1]
        v[:, 0, 2] = theta
        v[:, 0, 3] = sign
        v[:, 1, :3] = yaw[:, :3]
        v[:, 2, :3] = yaw[:, 3:]
        self._view_tex.write(v.tobytes(), viewport=(0, 0, 3, m))
        for prog in self._progs.values():
            prog["top"].value = int(top)
            prog["per_layer"].value = tgt.per_layer
        tgt.begin(SKY)
        for (prog, vao), unit in self._world:
            self._set(prog, mode=0, tex=unit)
            vao.render(instances=m)
        for mode, (prog, vao) in ((1, self._boxes), (2, self._keys)):
            inst = self._all_inst[: 3 * m] if top else self._instances(mode, pos, theta)
            if len(inst):
                self._inst[mode].write(inst.tobytes())
                prog["mode"].value = mode
                vao.render(instances=len(inst))
        if top:
            prog, vao = self._marker
            prog["mode"].value = 3
            vao.render(instances=m)

    def _instances(self, mode, pos, theta) -> np.ndarray:
        """(view, object) pairs, as float32 (K, 2), of the boxes (mode 1) or keys (mode 2)
        whose bounding sphere meets a view's frustum. The rest could not touch a pixel, and on
        llvmpipe their triangles would still cost vertex and set-up work on the main thread."""
        cy, radius = self._spheres[mode]
        r = radius + CULL_MARGIN
        obj = OBJ_POS[3 * (mode - 1) : 3 * mode]
        dx = obj[None, :, 0] - pos[:, 0, None]
        dz = obj[None, :, 1] - pos[:, 1, None]
        c, s = np.cos(theta)[:, None], np.sin(theta)[:, None]
        xv = s * dx + c * dz  # eye space, as the vertex shader computes it
        zv = -(c * dx - s * dz)
        yv = cy - CAM_HEIGHT
        (cx, sx), (cyv, syv) = _HALF_FOV
        seen = (
            (np.abs(xv) * cx + zv * sx <= r) & (abs(yv) * cyv + zv * syv <= r) & (zv + Z_NEAR <= r)
        )
        views, objs = np.nonzero(seen)
        return np.stack([views, objs], 1).astype("f4")

    def _read(self, tgt, m, out):
        ms = tgt.samples > 1
        prog, vao = self._resolve[ms]
        tgt.end()
        self._set(
            prog, tile=(tgt.width, tgt.height), atlas=tgt.atlas.size, cols=tgt.cols, grid=tgt.grid
        )
        tgt.bind_layers(RESOLVE_UNIT)
        self.ctx.disable(self.ctx.DEPTH_TEST | self.ctx.CULL_FACE)
        tgt.atlas.use()
        vao.render(self.ctx.TRIANGLE_STRIP, vertices=4, instances=m)
        tgt.bind_layers(RESOLVE_UNIT, bound=False)
        self.ctx.enable(self.ctx.DEPTH_TEST | self.ctx.CULL_FACE)
        tiles = tgt.read(m)
        # GL rows run bottom-up: flip each tile so row 0 is the top of the image.
        tiles = tiles[:, ::-1].transpose(0, 2, 1, 3, 4)
        cols, th, tw = tgt.cols, tgt.height, tgt.width
        full = m // cols
        if full:
            np.copyto(out[: full * cols].reshape((full, cols, th, tw, 3), copy=False), tiles[:full])
        rest = m - full * cols
        if rest:
            np.copyto(out[full * cols : m], tiles[full, :rest])

    def render_one(self, x, z, theta, yaw=(0.0,) * 6, sign=0, top=False) -> np.ndarray:
        """One (H, W, 3) frame for a single pose (convenience for tests and tools)."""
        shape = (TOP_HEIGHT, TOP_WIDTH, 3) if top else (HEIGHT, WIDTH, 3)
        out = np.zeros((1, *shape), dtype=np.uint8)
        self.render(
            np.array([[x, z]], float),
            np.array([theta], float),
            np.asarray(yaw, float).reshape(1, 6),
            np.array([sign]),
            out,
            top=top,
        )
        return out[0]

    def release(self) -> None:
        """Free the GL objects and the context."""
        if getattr(self, "ctx", None) is None:
            return
        with self.ctx:
            for tgt in self._targets.values():
                tgt.release()
            vaos = [v for (_, v), _ in self._world] + [
                self._boxes[1],
                self._keys[1],
                self._marker[1],
            ]
            vaos += [v for _, v in self._resolve.values()]
            progs = list(self._progs.values()) + [p for p, _ in self._resolve.values()]
            for obj in (*vaos, *progs, self._view_tex, *self._textures, *self._buffers):
                obj.release()
        self.ctx.release()
        self.ctx = None
