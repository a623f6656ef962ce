"""Pure array kernels: numba functions here, Cython extensions built from csrc/."""
