"""Numba kernel of strided pattern matching: sums of per-atom rows over cubic boxes."""

import math

import numba
import numpy as np


@numba.njit(cache=True, parallel=True)
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


@numba.njit(cache=True, parallel=True)
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
