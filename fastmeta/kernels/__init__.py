"""Pure array kernels: numba functions here, Cython extensions built from csrc/."""

import os as _os
import stat as _stat
import sys as _sys
import tempfile as _tempfile


def _writable_dir(path: str) -> bool:
    try:
        _os.makedirs(path, exist_ok=True)
        _tempfile.TemporaryFile(dir=path).close()
        return True
    except OSError:
        return False


def _numba_cache_fallback() -> None:
    """The kernels are numba functions with cache=True. numba caches next to their source
    (site-packages) or else in the user's cache directory, and raises at import when neither is
    writable (a read-only install and no writable home). Only in that case, point
    NUMBA_CACHE_DIR at a private per-user directory in the temp dir. A set NUMBA_CACHE_DIR wins."""
    if _os.environ.get("NUMBA_CACHE_DIR") or _sys.platform == "win32":
        return
    if _sys.platform == "darwin":
        user_cache = _os.path.expanduser("~/Library/Caches")
    else:  # numba's rule (numba.misc.appdirs.user_cache_dir)
        user_cache = _os.getenv("XDG_CACHE_HOME", _os.path.expanduser("~/.cache"))
    in_tree = _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "__pycache__")
    if _writable_dir(in_tree) or _writable_dir(_os.path.join(user_cache, "numba")):
        return
    fallback = _os.path.join(_tempfile.gettempdir(), f"fastmeta-numba-cache-{_os.getuid()}")
    try:
        _os.makedirs(fallback, mode=0o700, exist_ok=True)
        st = _os.lstat(fallback)
    except OSError:
        return
    # numba unpickles its cache index: use the directory only if it is ours and private
    if not _stat.S_ISDIR(st.st_mode) or st.st_uid != _os.getuid() or st.st_mode & 0o077:
        return
    _os.environ["NUMBA_CACHE_DIR"] = fallback
    config = _sys.modules.get("numba.core.config")  # numba imported already: update it too
    if config is not None:
        config.CACHE_DIR = fallback


_numba_cache_fallback()
