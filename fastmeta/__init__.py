"""fastmeta: exact batched simulators and fast learners for DREAM and First-Explore benchmarks."""

# The one place the version is written: pyproject.toml reads it ([tool.setuptools.dynamic]).
__version__ = "0.2.0"

from fastmeta.registry import list_envs, make
from fastmeta.views import gymnasium_registration as _gymnasium_registration  # noqa: E402,F401

__all__ = ["make", "list_envs", "__version__"]
