"""Benchmark scripts: ``python -m ase_arise.benchmarks.<name>``; figures go to docs/BENCHMARKS.md."""

import time
from pathlib import Path

import numpy as np

# The paper's four-grain polycrystal (Leitherer et al. 2021, CC BY 4.0), bundled with the
# examples of the source tree (not installed with the package).
FOUR_GRAINS = (Path(__file__).resolve().parents[2] / "examples" / "data"
               / "four_grains_polycrystal.xyz")


def median_seconds(function, repeats):
    """Median wall time (s) of ``repeats`` calls of ``function`` after one warm-up call."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))
