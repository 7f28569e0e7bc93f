"""Benchmarks of the core (no OVITO): ``python -m ase_arise.benchmarks.<name>``; figures go to
docs/BENCHMARKS.md. The comparisons with OVITO's methods are in :mod:`ovito_arise.benchmarks`.
"""

import time

import numpy as np


def median_seconds(function, repeats):
    """Median wall time (s) of ``repeats`` calls of ``function`` after one warm-up call."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))
