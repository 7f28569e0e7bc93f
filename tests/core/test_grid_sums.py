"""The array-operation box sums (:func:`ase_arise.spm.grid_sums.grid_box_sums`, what a card
runs through CuPy) against the CPU's numba planes, bit for bit, with numpy."""

import numpy as np
import pytest

from ase_arise.spm.boxes import add_planes, grid_planes
from ase_arise.spm import grid_sums
from ase_arise.spm.grid_sums import grid_box_sums


@pytest.mark.parametrize("one_by_one", [False, True], ids=["one-group", "x-pair-groups"])
@pytest.mark.parametrize("x_range, y_range", [((0, 9), (0, 7)), ((3, 6), (2, 5))],
                         ids=["whole", "part"])
def test_grid_box_sums_equal_the_cpu_planes_bit_for_bit(x_range, y_range, one_by_one,
                                                        monkeypatch):
    """Also with the x-pairs taken one group each (grid_sums._GROUP_VALUES lowered)."""
    if one_by_one:
        monkeypatch.setattr(grid_sums, "_GROUP_VALUES", 1)
    rng = np.random.default_rng(3)
    ticks = [np.arange(9) * 2.0, np.arange(7) * 2.0 + 0.5, np.arange(6) * 2.0 - 1.0]
    half = 3.0
    points = rng.uniform(-4.0, 19.0, (4000, 3))
    points[:200, 0] = ticks[0][rng.integers(0, 9, 200)] + half  # on box faces
    points[200:400, 2] = ticks[2][rng.integers(0, 6, 200)] - half
    species = (8, 29)
    point_species = rng.choice(species, len(points))
    rows = rng.integers(0, 500, len(points))
    values = rng.normal(size=(500, 11))
    extra = rng.integers(0, 40, (500, 2)).astype(np.float64)
    pairs, planes = grid_planes(ticks, half, points, point_species, rows, values, extra,
                                species, x_range, y_range)
    want = add_planes([(pairs, planes)], x_range[0], x_range[1] - x_range[0])
    cuts = [0, len(pairs) // 3, len(pairs) // 2, len(pairs)]  # a domain's slices, in order
    parts = [(pairs[a:b], planes[:, a:b]) for a, b in zip(cuts[:-1], cuts[1:])]
    np.testing.assert_array_equal(add_planes(parts, x_range[0], x_range[1] - x_range[0]), want)
    got = grid_box_sums(np, ticks, half, points, point_species, rows, values, extra, species,
                        x_range, y_range)
    assert got.shape == want.shape and want[..., -1].sum() > 0
    np.testing.assert_array_equal(got, want)
