"""This machine's memory bandwidth: a numpy streaming copy (read one array, write another) at
three sizes, one inside each cache level and one well past the last-level cache (DRAM). The
report turns it into the physical limit of each env: a step that must read and rewrite W bytes
per env cannot run faster than copy rate / W env-steps/s."""

import numpy as np
import pytest

from fastmeta.bench.conftest import ROUNDS

# (label, bytes per array): L2 is 1-2 MiB per core on current x86 parts, L3 tens of MiB.
SIZES = [("L2", 256 * 1024), ("L3", 8 * 1024 * 1024), ("DRAM", 256 * 1024 * 1024)]


@pytest.mark.parametrize("level, nbytes", SIZES, ids=[s[0] for s in SIZES])
def test_stream_copy(benchmark, level, nbytes):
    src = np.ones(nbytes // 8, dtype=np.float64)
    dst = np.empty_like(src)
    np.copyto(dst, src)  # fault the pages in before timing
    reps = max(1, (64 * 1024 * 1024) // nbytes)  # ~64 MiB copied per round

    def run():
        for _ in range(reps):
            np.copyto(dst, src)

    benchmark.extra_info.update(
        env="memory",
        impl=f"numpy copy ({level})",
        mode="bandwidth",
        level=level,
        array_bytes=nbytes,
        bytes_copied=reps * nbytes,
    )
    benchmark.pedantic(run, rounds=ROUNDS + 2, warmup_rounds=1)
