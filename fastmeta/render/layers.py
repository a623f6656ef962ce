"""A layered multisampled render target holding a grid of views per layer, plus the 8-bit atlas
that the views are resolved into and that is read back in one call.

The vertex shader picks each view's layer and viewport. A view's pixels are the same wherever it
sits up to llvmpipe's interpolation rounding, which depends on the viewport's offset: between two
places about 0.6% of values differ by 1 of 255, never more (tests/test_sign_render.py bounds
it); a given place is deterministic, so a run is reproducible for a given num_envs.
moderngl has no multisample array textures or viewport arrays, so the few calls it lacks go
straight to libGL (glvnd dispatches them to the current context, the moderngl one).
"""

from __future__ import annotations

import ctypes
from ctypes.util import find_library

import numpy as np

GL_TEXTURE_2D_ARRAY = 0x8C1A
GL_TEXTURE_2D_MULTISAMPLE_ARRAY = 0x9102
GL_RGBA32F = 0x8814
GL_RGBA8 = 0x8058
GL_RGBA = 0x1908
GL_FLOAT = 0x1406
GL_UNSIGNED_BYTE = 0x1401
GL_DEPTH_COMPONENT24 = 0x81A6
GL_DEPTH_COMPONENT = 0x1902
GL_FRAMEBUFFER = 0x8D40
GL_READ_FRAMEBUFFER = 0x8CA8
GL_DRAW_FRAMEBUFFER = 0x8CA9
GL_COLOR_ATTACHMENT0 = 0x8CE0
GL_DEPTH_ATTACHMENT = 0x8D00
GL_FRAMEBUFFER_COMPLETE = 0x8CD5
GL_COLOR_BUFFER_BIT = 0x4000
GL_DEPTH_BUFFER_BIT = 0x100
GL_NEAREST = 0x2600
GL_TEXTURE_MIN_FILTER = 0x2801
GL_TEXTURE_MAG_FILTER = 0x2800
GL_TEXTURE0 = 0x84C0
GL_SCISSOR_TEST = 0x0C11
SCRATCH_UNIT = 15  # texture unit used while creating targets, so no sampler binding is disturbed
# The engine's 16-bit depth z-fights on a few sign pixels here; 24 bits is the safe stand-in.
DEPTH_FORMAT = GL_DEPTH_COMPONENT24

_gl = None


def _lib():
    global _gl
    if _gl is None:
        _gl = ctypes.CDLL(find_library("GL") or "libGL.so.1")
        u, i, f = ctypes.c_uint, ctypes.c_int, ctypes.c_float
        sigs = {
            "glGenTextures": (i, ctypes.POINTER(u)),
            "glDeleteTextures": (i, ctypes.POINTER(u)),
            "glGenFramebuffers": (i, ctypes.POINTER(u)),
            "glDeleteFramebuffers": (i, ctypes.POINTER(u)),
            "glBindTexture": (u, u),
            "glActiveTexture": (u,),
            "glBindFramebuffer": (u, u),
            "glTexImage3DMultisample": (u, i, u, i, i, i, ctypes.c_ubyte),
            "glTexImage3D": (u, i, i, i, i, i, i, u, u, ctypes.c_void_p),
            "glTexParameteri": (u, u, i),
            "glFramebufferTexture": (u, u, u, i),
            "glFramebufferTextureLayer": (u, u, u, i, i),
            "glCheckFramebufferStatus": (u,),
            "glBlitFramebuffer": (i,) * 8 + (u, u),
            "glViewport": (i, i, i, i),
            "glClearColor": (f, f, f, f),
            "glClearDepth": (ctypes.c_double,),
            "glClear": (u,),
            "glDepthMask": (ctypes.c_ubyte,),
            "glColorMask": (ctypes.c_ubyte,) * 4,
            "glEnable": (u,),
            "glDisable": (u,),
            "glViewportArrayv": (u, i, ctypes.POINTER(f)),
            "glScissorArrayv": (u, i, ctypes.POINTER(i)),
        }
        for name, args in sigs.items():
            fn = getattr(_gl, name)
            fn.argtypes = args
            fn.restype = u if name == "glCheckFramebufferStatus" else None
    return _gl


def _gen(fn, n=1):
    ids = (ctypes.c_uint * n)()
    fn(n, ids)
    return list(ids)


class LayeredTarget:
    """`views` views of `width` x `height`, drawn with `samples` MSAA (1 = none) and resolved
    into an RGBA8 atlas of `cols` x `rows` tiles that is read back in one call.

    Views are drawn into a grid of `grid` x `grid` viewports per layer (view k: layer
    k // per_layer, viewport k % per_layer), not one view per layer: llvmpipe bins work by
    64x64 framebuffer tile across all layers, so an 80x60 layer has two bins (one four times
    the other) and its threads could not share the work; a 320x240 layer has twenty.

    With MSAA the samples are stored as float32 like the engine's (`msaa_storage="f32"`), or as
    8-bit (`"u8"`): 1.6x faster on llvmpipe, at the cost of rounding each sample before the
    average (about 1% of values then differ by 1 of 255).
    """

    def __init__(
        self,
        ctx,
        width: int,
        height: int,
        views: int,
        samples: int,
        msaa_storage: str = "u8",
        max_viewports: int = 16,
    ):
        gl = _lib()
        self.ctx, self.width, self.height, self.views = ctx, width, height, views
        self.samples = samples
        self.grid = max(1, min(int(np.sqrt(max_viewports)), int(np.ceil(np.sqrt(views)))))
        self.per_layer = self.grid * self.grid
        self.layers = -(-views // self.per_layer)
        layer_w, layer_h = self.grid * width, self.grid * height
        self.cols = max(1, min(views, int(np.ceil(np.sqrt(views * height / width)))))
        self.rows = -(-views // self.cols)
        gl.glActiveTexture(GL_TEXTURE0 + SCRATCH_UNIT)
        self._tex = _gen(gl.glGenTextures, 2)
        colour, depth = self._tex
        if samples > 1:
            target = GL_TEXTURE_2D_MULTISAMPLE_ARRAY
            gl.glBindTexture(target, colour)
            fmt = GL_RGBA32F if msaa_storage == "f32" else GL_RGBA8
            gl.glTexImage3DMultisample(target, samples, fmt, layer_w, layer_h, self.layers, 1)
            gl.glBindTexture(target, depth)
            gl.glTexImage3DMultisample(
                target, samples, DEPTH_FORMAT, layer_w, layer_h, self.layers, 1
            )
        else:
            # Without MSAA the engine draws straight into an 8-bit target (sign.md §7.1, §7.6).
            target = GL_TEXTURE_2D_ARRAY
            for tex, fmt, base, typ in (
                (colour, GL_RGBA8, GL_RGBA, GL_UNSIGNED_BYTE),
                (depth, DEPTH_FORMAT, GL_DEPTH_COMPONENT, GL_FLOAT),
            ):
                gl.glBindTexture(target, tex)
                gl.glTexImage3D(target, 0, fmt, layer_w, layer_h, self.layers, 0, base, typ, None)
                gl.glTexParameteri(target, GL_TEXTURE_MIN_FILTER, GL_NEAREST)
                gl.glTexParameteri(target, GL_TEXTURE_MAG_FILTER, GL_NEAREST)
        gl.glBindTexture(target, 0)
        self._target = target
        self._draw_fbo = _gen(gl.glGenFramebuffers)[0]
        gl.glBindFramebuffer(GL_FRAMEBUFFER, self._draw_fbo)
        gl.glFramebufferTexture(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, colour, 0)
        gl.glFramebufferTexture(GL_FRAMEBUFFER, GL_DEPTH_ATTACHMENT, depth, 0)
        status = gl.glCheckFramebufferStatus(GL_FRAMEBUFFER)
        gl.glBindFramebuffer(GL_FRAMEBUFFER, 0)
        if status != GL_FRAMEBUFFER_COMPLETE:
            self.release()
            raise RuntimeError(f"layered framebuffer incomplete (status 0x{status:x})")
        k = np.arange(self.per_layer)
        rects = np.stack(
            [
                k % self.grid * width,
                k // self.grid * height,
                np.full_like(k, width),
                np.full_like(k, height),
            ],
            1,
        )
        self._viewports = (ctypes.c_float * rects.size)(*rects.ravel().tolist())
        self._scissors = (ctypes.c_int * rects.size)(*rects.ravel().tolist())
        self.layer_size = (layer_w, layer_h)
        atlas_size = (self.cols * width, self.rows * height)
        self.atlas = ctx.framebuffer(ctx.renderbuffer(atlas_size, 4, dtype="f1"))
        self.atlas_width = atlas_size[0]
        self.pixels = np.empty(atlas_size[0] * atlas_size[1] * 3, dtype=np.uint8)

    def begin(self, clear_rgb) -> None:
        """Bind the layered target for drawing and clear every layer."""
        gl = _lib()
        gl.glBindFramebuffer(GL_FRAMEBUFFER, self._draw_fbo)
        gl.glViewport(0, 0, *self.layer_size)
        gl.glDisable(GL_SCISSOR_TEST)
        # moderngl turns the depth write mask off when it binds a framebuffer without depth (the
        # atlas): without this the clear would leave the last pass's depth and hide everything.
        gl.glDepthMask(1)
        gl.glColorMask(1, 1, 1, 1)
        gl.glClearColor(*clear_rgb, 1.0)
        gl.glClearDepth(1.0)
        gl.glClear(GL_COLOR_BUFFER_BIT | GL_DEPTH_BUFFER_BIT)
        # Each view's viewport, scissored too: llvmpipe does not clip to the viewport (it uses
        # a guard band), so without the scissor a triangle would spill into its neighbours.
        gl.glViewportArrayv(0, self.per_layer, self._viewports)
        gl.glScissorArrayv(0, self.per_layer, self._scissors)
        gl.glEnable(GL_SCISSOR_TEST)

    def end(self) -> None:
        """Leave the per-view viewports and scissors (moderngl sets only viewport 0)."""
        gl = _lib()
        gl.glDisable(GL_SCISSOR_TEST)

    def bind_layers(self, unit: int, bound: bool = True) -> None:
        """Bind the layers as a texture on `unit` for the resolve pass, or unbind them (so the
        next pass never draws into a bound texture)."""
        gl = _lib()
        gl.glActiveTexture(GL_TEXTURE0 + unit)
        gl.glBindTexture(self._target, self._tex[0] if bound else 0)
        gl.glActiveTexture(GL_TEXTURE0)

    def read(self, m: int) -> np.ndarray:
        """Read back the atlas rows holding tiles 0..m-1: (rows, h, cols, w, 3), GL's bottom-up."""
        w, h, cols = self.width, self.height, self.cols
        rows = -(-m // cols)
        n = rows * h * self.atlas_width * 3
        self.atlas.read_into(
            self.pixels[:n], viewport=(0, 0, self.atlas_width, rows * h), components=3, alignment=1
        )
        return self.pixels[:n].reshape(rows, h, cols, w, 3)

    def release(self) -> None:
        gl = _lib()
        gl.glDeleteFramebuffers(1, (ctypes.c_uint * 1)(self._draw_fbo))
        gl.glDeleteTextures(2, (ctypes.c_uint * 2)(*self._tex))
        if getattr(self, "atlas", None) is not None:
            self.atlas.color_attachments[0].release()
            self.atlas.release()
