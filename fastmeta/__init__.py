"""fastmeta: exact batched simulators and fast learners for DREAM and First-Explore benchmarks."""
from fastmeta.registry import list_envs, make

__version__ = "0.1.0"

from fastmeta.views import gymnasium_registration as _gymnasium_registration  # noqa: E402,F401

__all__ = ["make", "list_envs", "__version__"]
