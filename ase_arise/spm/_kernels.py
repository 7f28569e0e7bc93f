"""Numba kernel of strided pattern matching: sums of per-atom rows over cubic boxes."""

import math

import numba
import numpy as np

# Value columns per thread's block in corner_sums.
_COLUMNS = 64


@numba.njit(cache=True, nogil=True, parallel=True)
def box_sums(centres, half, points, rows, cell_start, grid_origin, grid_step, grid_dims, values,
             extra, out, out_extra, counts):
    """Add up, for every box, the value rows of the points inside it.

    Parameters
    ----------
    centres : float64 array of shape (n_boxes, 3)
        Box centres (Å).
    half : float
        Half the box edge (Å); a point is inside when |p - c| <= half along x, y and z.
    points : float64 array of shape (n_points, 3)
        Point positions (Å), sorted by grid cell (a ``neighbors.CellList`` with cells >= half).
    rows : int64 array of shape (n_points,)
        Row of ``values`` that each sorted point carries.
    cell_start, grid_origin, grid_step, grid_dims
        The cell list (see ``neighbors.CellList``).
    values, extra : float64 arrays of shapes (n_rows, n_values) and (n_rows, n_extra)
    out, out_extra : float64 arrays of shapes (n_boxes, n_values) and (n_boxes, n_extra)
        Incremented by the sums of the rows of the points inside each box.
    counts : int64 array of shape (n_boxes,)
        Incremented by the number of points inside each box.

    Boxes are independent (one thread each), so nothing races.
    """
    n_values = values.shape[1]
    n_extra = extra.shape[1]
    for b in numba.prange(centres.shape[0]):
        lo = np.empty(3, np.int64)
        hi = np.empty(3, np.int64)
        for d in range(3):
            top = grid_dims[d] - 1
            lo[d] = min(max(math.floor((centres[b, d] - half - grid_origin[d]) / grid_step[d]),
                            0), top)
            hi[d] = min(max(math.floor((centres[b, d] + half - grid_origin[d]) / grid_step[d]),
                            0), top)
        for ix in range(lo[0], hi[0] + 1):
            for iy in range(lo[1], hi[1] + 1):
                for iz in range(lo[2], hi[2] + 1):
                    k = (ix * grid_dims[1] + iy) * grid_dims[2] + iz
                    for p in range(cell_start[k], cell_start[k + 1]):
                        if (abs(points[p, 0] - centres[b, 0]) <= half
                                and abs(points[p, 1] - centres[b, 1]) <= half
                                and abs(points[p, 2] - centres[b, 2]) <= half):
                            counts[b] += 1
                            r = rows[p]
                            for f in range(n_values):
                                out[b, f] += values[r, f]
                            for f in range(n_extra):
                                out_extra[b, f] += extra[r, f]


@numba.njit(cache=True, nogil=True, parallel=True)
def best_containing(points, distance, nearest, centres, half, penalties, out):
    """For each point and each row of ``penalties``, the candidate centre that contains the
    point (|p - c| <= half along x, y and z) with the lowest distance / half + penalty.

    Parameters
    ----------
    points : float64 array of shape (n_points, 3)
        Å.
    distance, nearest : arrays of shape (n_points, k)
        A k-nearest-centre query (cKDTree; infinite distances for missing neighbours).
    centres : float64 array of shape (n_centres, 3)
        Å.
    half : float
        Half the box edge (Å).
    penalties : float64 array of shape (n_scores, n_centres)
        Per-centre penalties; +inf excludes a centre from that score.
    out : int64 array of shape (n_scores, n_points)
        Filled with the chosen index into ``centres``, -1 where no finite score contains the
        point.
    """
    n_scores = penalties.shape[0]
    for i in numba.prange(points.shape[0]):
        for s in range(n_scores):
            out[s, i] = -1
        best = np.full(n_scores, np.inf)
        for j in range(distance.shape[1]):
            if not math.isfinite(distance[i, j]):
                break  # cKDTree sorts by distance: the rest are missing too
            c = nearest[i, j]
            if (abs(points[i, 0] - centres[c, 0]) > half + 1e-9
                    or abs(points[i, 1] - centres[c, 1]) > half + 1e-9
                    or abs(points[i, 2] - centres[c, 2]) > half + 1e-9):
                continue
            scaled = distance[i, j] / half
            for s in range(n_scores):
                score = scaled + penalties[s, c]
                if score < best[s]:
                    best[s] = score
                    out[s, i] = c


@numba.njit(cache=True, nogil=True)
def _box_range(ticks, x, half):
    """Indices i0 <= i < i1 of the sorted ``ticks`` with |x - ticks[i]| <= half (the same
    test as :func:`box_sums`, so that a point on a box face is in or out alike)."""
    n = ticks.shape[0]
    i0 = np.searchsorted(ticks, x - half)
    while i0 > 0 and abs(x - ticks[i0 - 1]) <= half:
        i0 -= 1
    while i0 < n and abs(x - ticks[i0]) > half:
        i0 += 1
    i1 = max(i0, np.searchsorted(ticks, x + half, side="right"))
    while i1 < n and abs(x - ticks[i1]) <= half:
        i1 += 1
    while i1 > i0 and abs(x - ticks[i1 - 1]) > half:
        i1 -= 1
    return i0, i1


@numba.njit(cache=True, nogil=True, parallel=True)
def box_blocks(ticks_x, ticks_y, ticks_z, half, points, out):
    """For each point, the block [i0, i1) x [j0, j1) x [k0, k1) of the tensor grid of centres
    ``ticks_x`` x ``ticks_y`` x ``ticks_z`` (sorted, Å) whose boxes contain it, into the rows
    of ``out`` (int64, shape (n_points, 6): i0, i1, j0, j1, k0, k1)."""
    for p in numba.prange(points.shape[0]):
        out[p, 0], out[p, 1] = _box_range(ticks_x, points[p, 0], half)
        out[p, 2], out[p, 3] = _box_range(ticks_y, points[p, 1], half)
        out[p, 4], out[p, 5] = _box_range(ticks_z, points[p, 2], half)


@numba.njit(cache=True, nogil=True, parallel=True)
def corner_sums(blocks, rows, values, extra, diff, diff_extra, diff_counts):
    """Box sums on a tensor grid of centres, as a 3D difference array.

    The boxes that contain a point form a block of the grid (``blocks``, from
    :func:`box_blocks`, sorted so that equal blocks are adjacent): the rows of ``values`` (and
    ``extra``, and a count) of a run of points with one block are added up and put, with
    alternating signs, at the block's 8 corners of ``diff`` (shape (nx + 1, ny + 1, nz + 1,
    n_values)). Prefix sums along the three axes then give every box's sum: 8 additions per
    run of points instead of one per box containing each point (64 at box 16 / stride 4 Å,
    512 at stride 2 Å). Threads take disjoint blocks of columns, so nothing races.
    """
    n_values = values.shape[1]
    n_extra = extra.shape[1]
    n_blocks = (n_values + _COLUMNS - 1) // _COLUMNS
    n_points = blocks.shape[0]
    for block in numba.prange(n_blocks + 1):
        first = block * _COLUMNS
        last = min(first + _COLUMNS, n_values) if block < n_blocks else first
        run = np.zeros(_COLUMNS + n_extra)
        start = 0
        while start < n_points:
            stop = start + 1
            while stop < n_points and _same(blocks, start, stop):
                stop += 1
            i0, i1, j0, j1, k0, k1 = (blocks[start, 0], blocks[start, 1], blocks[start, 2],
                                      blocks[start, 3], blocks[start, 4], blocks[start, 5])
            if i0 < i1 and j0 < j1 and k0 < k1:
                run[:] = 0.0
                for q in range(start, stop):
                    r = rows[q]
                    if block < n_blocks:
                        for f in range(first, last):
                            run[f - first] += values[r, f]
                    else:
                        for f in range(n_extra):
                            run[f] += extra[r, f]
                for corner in range(8):
                    i = i1 if corner & 4 else i0
                    j = j1 if corner & 2 else j0
                    k = k1 if corner & 1 else k0
                    sign = 1.0 - 2.0 * (((corner >> 2) + (corner >> 1) + corner) & 1)
                    if block < n_blocks:
                        for f in range(first, last):
                            diff[i, j, k, f] += sign * run[f - first]
                    else:
                        for f in range(n_extra):
                            diff_extra[i, j, k, f] += sign * run[f]
                        diff_counts[i, j, k] += int(sign) * (stop - start)
            start = stop


@numba.njit(cache=True, nogil=True)
def _same(blocks, a, b):
    for d in range(6):
        if blocks[a, d] != blocks[b, d]:
            return False
    return True
