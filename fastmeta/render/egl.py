"""A headless OpenGL 3.3 context on EGL (no display, no xvfb), with one clear error if it fails.

On machines without a GPU the context runs on Mesa's llvmpipe; with a GPU driver's EGL it runs
there. Everything that can go wrong on a fresh machine (libraries missing, no usable EGL
device) is reported as `EGLUnavailableError` naming the Debian packages that fix it.
"""

from __future__ import annotations

from ctypes.util import find_library

SYSTEM_PACKAGES = "libegl1 libgl1 libgl1-mesa-dri"
_HINT = (
    f"Install the system packages with `apt-get install -y {SYSTEM_PACKAGES}` "
    "(or run scripts/install_system_deps.sh)."
)


class EGLUnavailableError(RuntimeError):
    """No headless OpenGL context can be created on this machine."""


def create_context(backend: str = "egl"):
    """Return a standalone moderngl context (OpenGL >= 3.3) on `backend` ("egl" or "default")."""
    if backend not in ("egl", "default"):
        raise ValueError(f"backend must be 'egl' or 'default', got {backend!r}")
    try:
        import moderngl
    except ImportError as err:  # pragma: no cover - depends on the install
        raise EGLUnavailableError(
            "rendering needs the moderngl package: pip install 'fastmeta[render]'"
        ) from err
    if backend == "egl":
        missing = [name for name in ("EGL", "GL") if find_library(name) is None]
        if missing:
            raise EGLUnavailableError(
                f"cannot find the system librar{'ies' if len(missing) > 1 else 'y'} "
                f"{', '.join('lib' + m for m in missing)} needed for headless rendering. {_HINT}"
            )
    try:
        if backend == "egl":
            return moderngl.create_standalone_context(require=330, backend="egl")
        return moderngl.create_standalone_context(require=330)
    except Exception as err:
        raise EGLUnavailableError(
            f"cannot create a headless OpenGL 3.3 context on {backend!r} ({err}). {_HINT}"
        ) from err
