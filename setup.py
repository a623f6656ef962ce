"""Build the Cython kernels in csrc/ (pyproject.toml holds the metadata)."""

import glob
import sys

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

# -ffp-contract=off keeps float64 reward arithmetic bit-identical to the original
# (no fused multiply-add); OpenMP drives the multi-threaded batch loops.
compile_args = ["-O3", "-ffp-contract=off", "-fopenmp"]
link_args = ["-fopenmp"]
if sys.platform == "darwin":  # Apple clang has no bundled OpenMP
    compile_args.remove("-fopenmp")
    link_args = []

extensions = [
    Extension(
        "fastmeta.kernels._grid",
        ["csrc/grid.pyx"],
        include_dirs=[np.get_include(), "csrc"],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    ),
]

ext_modules = cythonize(
    extensions,
    language_level=3,
    compiler_directives={"boundscheck": False, "wraparound": False, "cdivision": True},
)
# cythonize swaps the .pyx for the generated .c in `sources`; listing the Cython sources as
# `depends` puts them in the sdist too, so a wheel can be built from the sdist alone.
cython_sources = sorted(glob.glob("csrc/*.pyx") + glob.glob("csrc/*.pxd"))
for ext in ext_modules:
    ext.depends = sorted(set(ext.depends) | set(cython_sources))

setup(ext_modules=ext_modules)
