"""Headless OpenGL rendering (moderngl on EGL) for fastmeta's 3D envs.

Nothing here is imported by `import fastmeta`; envs load it only when they render frames.
"""

from fastmeta.render.egl import EGLUnavailableError, create_context

__all__ = ["EGLUnavailableError", "create_context"]
