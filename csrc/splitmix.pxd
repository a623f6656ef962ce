# SplitMix64 per-slot streams for the Cython kernels; the numba twin is fastmeta/kernels/rng.py
# and tests/test_rng.py checks they agree draw for draw.
from libc.stdint cimport uint64_t, int64_t

cdef inline uint64_t next_u64(uint64_t* states, Py_ssize_t i) noexcept nogil:
    cdef uint64_t s = states[i] + 0x9E3779B97F4A7C15ULL
    states[i] = s
    cdef uint64_t z = (s ^ (s >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)

cdef inline int64_t randint(uint64_t* states, Py_ssize_t i, uint64_t n) noexcept nogil:
    return <int64_t>(((next_u64(states, i) >> 32) * n) >> 32)
