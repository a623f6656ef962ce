"""Batched first-person and top-down frames of the sign world on one headless GL context.

All views of a batch are drawn in one pass: each draw call is instanced over the views and the
vertex shader sends every instance to its own layer of a multisampled 80x60 array target
(layers.py), so each frame is bit-identical to a lone render of that view. The layers are
resolved like the original's RGBA32F -> RGBA8 blit into one atlas, read back once. Lighting reproduces the
engine's fixed-function look (sign.md §7): a directional light along (1, 3.5, 1), per-vertex
factor 0.65 + 0.7 max(0, n.L) clamped, key normals left 1/0.3 too long, texel modulation with
trilinear mipmaps.
"""
from __future__ import annotations

import math

import numpy as np

from fastmeta.kernels.sign_physics import OBJ_POS
from fastmeta.render import assets
from fastmeta.render.egl import create_context
from fastmeta.render.layers import LayeredTarget
from fastmeta.render.sign_scene import (FLOATS_PER_VERTEX, box_vertices, key_vertices,
                                        static_vertices)

WIDTH, HEIGHT = 80, 60
TOP_WIDTH, TOP_HEIGHT = 160, 120
SKY = (0.25, 0.82, 1.0)
CAM_HEIGHT = 1.5
FOV_Y, Z_NEAR, Z_FAR = 60.0, 0.04, 100.0
KEY_HEIGHT = 0.6
# The engine hands GL (1, 3.5, 1, 0): light_pos + [1] broadcasts, so the light is directional.
LIGHT_DIR = np.array([1.0, 3.5, 1.0]) / math.sqrt(1 + 3.5 ** 2 + 1)
MAX_VIEWS_PER_PASS = 256

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
in vec3 in_pos;
in vec3 in_normal;
in vec2 in_uv;
in vec3 in_color;
in float in_tex;
in float in_sign;
out vec3 v_color;
out vec2 v_uv;
flat out int v_tex;
out float gl_ClipDistance[1];

vec3 yawed(vec3 p, float phi) {
    float c = cos(phi), s = sin(phi);
    return vec3(p.x * c + p.z * s, p.y, -p.x * s + p.z * c);
}

void main() {
    int per = (mode == 1 || mode == 2) ? 3 : 1;
    int view = gl_InstanceID / per;
    int obj = gl_InstanceID - view * per;
    vec4 cam = texelFetch(views, ivec2(0, view), 0);
    vec3 p = in_pos;
    vec3 n = in_normal;
    vec3 col = in_color;
    if (mode == 1 || mode == 2) {
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
    v_tex = int(in_tex + 0.5);

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
    gl_Layer = view;
    gl_Position = clip;
}
"""

_FRAGMENT = """
#version 330
uniform sampler2D wall_tex;
uniform sampler2D floor_tex;
uniform sampler2D ceil_tex;
uniform sampler2DArray glyph_tex;
in vec3 v_color;
in vec2 v_uv;
flat in int v_tex;
out vec4 f_color;
void main() {
    vec3 t = vec3(1.0);
    if (v_tex == 1) t = texture(wall_tex, v_uv).rgb;
    else if (v_tex == 2) t = texture(floor_tex, v_uv).rgb;
    else if (v_tex == 3) t = texture(ceil_tex, v_uv).rgb;
    else if (v_tex >= 4) t = texture(glyph_tex, vec3(v_uv, float(v_tex - 4))).rgb;
    f_color = vec4(v_color * t, 1.0);
}
"""

_ATTRS = ("in_pos", "in_normal", "in_uv", "in_color", "in_tex", "in_sign")
_FORMAT = "3f 3f 2f 3f 1f 1f"


def perspective(fovy_deg: float, aspect: float, near: float, far: float) -> np.ndarray:
    """gluPerspective's matrix (row-major)."""
    f = 1.0 / math.tan(math.radians(fovy_deg) / 2)
    return np.array([[f / aspect, 0, 0, 0], [0, f, 0, 0],
                     [0, 0, (far + near) / (near - far), 2 * far * near / (near - far)],
                     [0, 0, -1, 0]])


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
    l, r, b, t, n, f = min_x, max_x, -max_z, -min_z, -100.0, 100.0
    ortho = np.array([[2 / (r - l), 0, 0, -(r + l) / (r - l)],
                      [0, 2 / (t - b), 0, -(t + b) / (t - b)],
                      [0, 0, -2 / (f - n), -(f + n) / (f - n)], [0, 0, 0, 1]])
    # Looking down: eye coordinates are (x, -z, y).
    look = np.array([[1, 0, 0, 0], [0, 0, -1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=float)
    return ortho @ look


def _check_samples(samples) -> int:
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)):
        raise TypeError(f"samples must be an int, got {type(samples).__name__}")
    if not 1 <= samples <= 16:
        raise ValueError(f"samples must be in [1, 16] (1 = no MSAA), got {samples}")
    return int(samples)


class SignRenderer:
    """Renders batches of sign-world views: first-person 80x60 frames and top-down maps.

    `samples` is the requested MSAA sample count (the engine asks for 8); it is capped by the
    driver's maximum, as the engine does, and `self.samples` says what is used.
    """

    def __init__(self, samples: int = 8, backend: str = "egl", max_views: int = MAX_VIEWS_PER_PASS):
        samples = _check_samples(samples)
        self.ctx = create_context(backend)
        self.requested_samples = samples
        self.samples = min(samples, max(1, self.ctx.max_samples))
        self.max_views = int(max_views)
        with self.ctx:
            self._build()

    # -- set-up -----------------------------------------------------------------------------
    def _texture(self, image: np.ndarray, unit: int):
        tex = self.ctx.texture((image.shape[1], image.shape[0]), 3, image.tobytes())
        tex.build_mipmaps()
        tex.use(unit)
        return tex

    def _build(self):
        ctx = self.ctx
        walls = assets.load_texture("concrete")
        floor = assets.load_texture("floor_tiles_bw")
        ceil = assets.load_texture("concrete_tiles")
        glyphs = np.stack([assets.load_texture(assets.glyph_name(ch)) for ch in assets.GLYPHS])
        self._textures = [self._texture(walls, 1), self._texture(floor, 2),
                          self._texture(ceil, 3)]
        gl = ctx.texture_array((glyphs.shape[2], glyphs.shape[1], len(glyphs)), 3,
                               glyphs.tobytes())
        gl.build_mipmaps()
        gl.use(4)
        self._textures.append(gl)

        prog = ctx.program(vertex_shader=_VERTEX, fragment_shader=_FRAGMENT)
        self.prog = prog
        for name, unit in (("views", 0), ("wall_tex", 1), ("floor_tex", 2), ("ceil_tex", 3),
                           ("glyph_tex", 4)):
            prog[name].value = unit
        prog["proj"].write(perspective(FOV_Y, WIDTH / HEIGHT, Z_NEAR, Z_FAR)
                           .T.astype("f4").tobytes())
        prog["top_proj"].write(top_matrix(TOP_WIDTH, TOP_HEIGHT).T.astype("f4").tobytes())
        prog["obj_pos"].write(OBJ_POS.astype("f4").tobytes())
        key_pos, key_nrm, _ = assets.load_key_mesh("blue")
        self.key_scale = KEY_HEIGHT / float(key_pos[:, :, 1].max())
        prog["key_scale"].value = self.key_scale
        prog["light_dir"].value = tuple(LIGHT_DIR)

        def vao(vertices):
            buf = ctx.buffer(np.ascontiguousarray(vertices, dtype="f4").tobytes())
            return ctx.vertex_array(prog, [(buf, _FORMAT, *_ATTRS)]), buf

        self._world, b0 = vao(static_vertices(floor.shape[1], ceil.shape[1], walls.shape[1]))
        self._boxes, b1 = vao(box_vertices())
        self._keys, b2 = vao(key_vertices(key_pos, key_nrm))
        marker = np.zeros((3, FLOATS_PER_VERTEX), dtype="f4")
        marker[:, 0:2] = [(1.0, 0.0), (-0.75, -0.75), (-0.75, 0.75)]
        marker[:, 4] = 1.0          # normal +y: fully lit
        marker[:, 8] = 1.0          # red
        marker[:, 12] = -1.0
        self._marker, b3 = vao(marker)
        self._buffers = [b0, b1, b2, b3]
        self._targets = {}
        self._views = np.zeros((self.max_views, 3, 4), dtype=np.float32)
        self._view_tex = ctx.texture((3, self.max_views), 4, dtype="f4")
        self._view_tex.filter = (ctx.NEAREST, ctx.NEAREST)
        self._view_tex.use(0)

    def _target(self, top: bool, count: int) -> LayeredTarget:
        # Sized to the largest batch seen so far (up to max_views), so a steady batch size
        # allocates once.
        need = min(self.max_views, max(1, count))
        tgt = self._targets.get(top)
        if tgt is None or tgt.layers < need:
            if tgt is not None:
                tgt.release()
            tile = (TOP_WIDTH, TOP_HEIGHT) if top else (WIDTH, HEIGHT)
            # Top-down views are for videos: single-sampled is plenty and cheap.
            tgt = LayeredTarget(self.ctx, *tile, need, 1 if top else self.samples)
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
            for start in range(0, m_total, tgt.layers):
                m = min(tgt.layers, m_total - start)
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
        prog = self.prog
        prog["top"].value = int(top)
        tgt.begin(SKY)
        for mode, vao, per in ((0, self._world, 1), (1, self._boxes, 3), (2, self._keys, 3)):
            prog["mode"].value = mode
            vao.render(instances=m * per)
        if top:
            prog["mode"].value = 3
            self._marker.render(instances=m)

    def _read(self, tgt, m, out):
        tiles = tgt.read(m)
        # GL rows run bottom-up: flip each tile so row 0 is the top of the image.
        tiles = tiles[:, ::-1].transpose(0, 2, 1, 3, 4)
        cols, th, tw = tgt.cols, tgt.height, tgt.width
        full = m // cols
        if full:
            np.copyto(out[:full * cols].reshape((full, cols, th, tw, 3), copy=False), tiles[:full])
        rest = m - full * cols
        if rest:
            np.copyto(out[full * cols:m], tiles[full, :rest])

    def render_one(self, x, z, theta, yaw=(0.0,) * 6, sign=0, top=False) -> np.ndarray:
        """One (H, W, 3) frame for a single pose (convenience for tests and tools)."""
        shape = (TOP_HEIGHT, TOP_WIDTH, 3) if top else (HEIGHT, WIDTH, 3)
        out = np.zeros((1, *shape), dtype=np.uint8)
        self.render(np.array([[x, z]], float), np.array([theta], float),
                    np.asarray(yaw, float).reshape(1, 6), np.array([sign]), out, top=top)
        return out[0]

    def release(self) -> None:
        """Free the GL objects and the context."""
        if getattr(self, "ctx", None) is None:
            return
        with self.ctx:
            for tgt in self._targets.values():
                tgt.release()
            for obj in (self._world, self._boxes, self._keys, self._marker, self.prog,
                        self._view_tex, *self._textures, *self._buffers):
                obj.release()
        self.ctx.release()
        self.ctx = None
