"""How the cost of a batched step grows with num_envs: t(N) = a + b*N per call.

`a` is what every call pays whatever the batch (Python, argument checks, kernel dispatch), `b`
what each env adds. Throughput N / t(N) approaches 1/b; it is half of that at N = a/b and 90% at
N = 9a/b, which is where the curve flattens. The fit uses batches whose working set stays in
cache (N <= FIT_MAX_N) and weighs every point by its relative error, so the 1-env point counts as
much as the 4096-env one; larger batches are then compared with the fit's prediction: a ratio
above 1 is what leaving the cache costs.
"""

from __future__ import annotations

import numpy as np

FIT_MAX_N = 4096


def fit(num_envs, seconds_per_call) -> tuple[float, float]:
    """Least-squares (a, b) of t = a + b*N minimising sum(((a + b*N) / t - 1)^2)."""
    n = np.asarray(num_envs, dtype=float)
    t = np.asarray(seconds_per_call, dtype=float)
    if len(n) < 2 or len(np.unique(n)) < 2:
        raise ValueError("the fit needs at least two distinct batch sizes")
    design = np.stack([1 / t, n / t], axis=1)
    (a, b), *_ = np.linalg.lstsq(design, np.ones_like(t), rcond=None)
    return float(max(a, 0.0)), float(max(b, 1e-15))


def describe(num_envs, seconds_per_call) -> dict | None:
    """The fit and what it says, or None when there are too few cache-resident points."""
    pts = sorted(zip(num_envs, seconds_per_call))
    small = [(n, t) for n, t in pts if n <= FIT_MAX_N]
    if len({n for n, _ in small}) < 2:
        return None
    a, b = fit(*zip(*small))
    largest_n, largest_t = pts[-1]
    return {
        "a_s": a,
        "b_s": b,
        "n_half": a / b,
        "n_90": 9 * a / b,
        "asymptote_sps": 1 / b,
        "fit_points": len(small),
        "largest_n": largest_n,
        "large_n_ratio": largest_t / (a + b * largest_n) if largest_n > FIT_MAX_N else None,
    }
