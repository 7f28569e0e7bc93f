"""Numba kernel of strided pattern matching: sums of per-atom rows over cubic boxes."""

import math

import numba
import numpy as np

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
def in_box(points, lower, upper, out):
    """Whether each point (Å) lies in the box ``lower`` <= p <= ``upper`` (Å, per axis), into
    ``out`` (bool)."""
    for p in numba.prange(points.shape[0]):
        out[p] = (lower[0] <= points[p, 0] <= upper[0] and lower[1] <= points[p, 1] <= upper[1]
                  and lower[2] <= points[p, 2] <= upper[2])


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
def pair_keys(ticks_x, ticks_y, ticks_z, half, points, x_range, y_range, keys, inside):
    """:func:`box_blocks` as pair keys: per point and axis i0 * (n + 1) + i1 (n ticks on that
    axis) into ``keys`` (int64, (n_points, 3)); into ``inside``, whether the block holds a box
    and meets the x and y index ranges ``x_range`` and ``y_range`` ((start, stop))."""
    nx, ny, nz = ticks_x.shape[0] + 1, ticks_y.shape[0] + 1, ticks_z.shape[0] + 1
    for p in numba.prange(points.shape[0]):
        i0, i1 = _box_range(ticks_x, points[p, 0], half)
        j0, j1 = _box_range(ticks_y, points[p, 1], half)
        k0, k1 = _box_range(ticks_z, points[p, 2], half)
        keys[p, 0], keys[p, 1], keys[p, 2] = i0 * nx + i1, j0 * ny + j1, k0 * nz + k1
        inside[p] = (i0 < i1 and j0 < j1 and k0 < k1 and i1 > x_range[0] and i0 < x_range[1]
                     and j1 > y_range[0] and j0 < y_range[1])


@numba.njit(cache=True, nogil=True, parallel=True)
def pair_planes(run_x, run_py, run_start, point_pz, rows, values, extra, lists_y, lists_z,
                y_lo, planes):
    """The (y, z) box sums of each x-pair: part of box sums on a tensor grid in an order that
    no partition of the grid changes.

    Along each axis, a point's *pair* is the range [i0, i1) of box indices (of the whole
    grid) whose boxes contain it; pairs are numbered in (i0, i1) order. A box's sum is a
    fixed-order sum over its x-pairs (ascending, :func:`ase_arise.spm.boxes.add_planes`) of
    these planes: sums over its y-pairs of sums over its z-pairs of block sums, each block
    summing its points in input order. A slab or spatial domain that holds every point of its
    x-pairs gets the same bits as the whole grid (a y- or z-pair it lacks is empty there, and
    adding 0.0 changes nothing).

    The points come sorted by (x-pair, y-pair, z-pair), stably: run r of them (one x-pair
    ``run_x[r]``, one y-pair ``run_py[r]``) is ``run_start[r]:run_start[r + 1]``, each point
    with its z-pair (``point_pz``) and row of ``values`` and ``extra``; ``lists_y`` and
    ``lists_z`` = (start, ids): the pairs containing box index i are ids[start[i]:start[i + 1]],
    ascending. Writes the k-th x-pair of the runs to ``planes[k]`` (shape (ny, nz, n_values
    + n_extra + 1): the rows, the extra columns, the point count) for the boxes
    [y_lo, y_lo + ny) x all z.
    """
    ny, nz, width = planes.shape[1:]
    n_values, n_extra = values.shape[1], extra.shape[1]
    y_start, y_ids = lists_y
    z_start, z_ids = lists_z
    n_py = int(y_ids.max()) + 1 if y_ids.shape[0] else 0
    n_pz = int(z_ids.max()) + 1 if z_ids.shape[0] else 0
    blocks = np.zeros((n_py, n_pz, width))
    sums_z = np.zeros((n_py, nz, width))
    n_runs = run_x.shape[0]
    first = 0
    plane = 0
    while first < n_runs:
        last = first + 1
        while last < n_runs and run_x[last] == run_x[first]:
            last += 1
        touched = np.zeros(n_py, dtype=np.bool_)
        for r in range(first, last):
            touched[run_py[r]] = True
        for r in numba.prange(first, last):  # one y-pair per run: no races
            block = blocks[run_py[r]]
            block[:] = 0.0
            for q in range(run_start[r], run_start[r + 1]):
                row = block[point_pz[q]]
                i = rows[q]
                for f in range(n_values):
                    row[f] += values[i, f]
                for f in range(n_extra):
                    row[n_values + f] += extra[i, f]
                row[width - 1] += 1.0
        for py in numba.prange(n_py):
            if touched[py]:
                for iz in range(nz):
                    target = sums_z[py, iz]
                    target[:] = 0.0
                    for k in range(z_start[iz], z_start[iz + 1]):
                        target += blocks[py, z_ids[k]]
        out = planes[plane]
        for iy in numba.prange(ny):
            for iz in range(nz):
                target = out[iy, iz]
                target[:] = 0.0
                for k in range(y_start[y_lo + iy], y_start[y_lo + iy + 1]):
                    if touched[y_ids[k]]:
                        target += sums_z[y_ids[k], iz]
        plane += 1
        first = last


@numba.njit(cache=True, nogil=True)
def block_steps(point_species, z, px, py, pz, n_py, n_pz, n_keys, rows):
    """The block steps of :func:`.grid_sums.grid_box_sums` for the points of species ``z``:
    their blocks (x-, y- and z-pair ids ``px``, ``py``, ``pz``; key (px * n_py + py) * n_pz +
    pz < ``n_keys``) ascending, each block's points in input order; step k takes the k-th
    point of every block that has one, blocks ascending.

    Returns (ids, which, source, bounds): the blocks' keys; per step entry its block's rank
    and its point's row of ``rows``; the entries of step k at bounds[k]:bounds[k + 1]."""
    count = np.zeros(n_keys + 1, dtype=np.int64)
    n = 0
    for i in range(point_species.shape[0]):
        if point_species[i] == z:
            count[(px[i] * n_py + py[i]) * n_pz + pz[i] + 1] += 1
            n += 1
    n_blocks, n_steps = 0, 0
    for key in range(n_keys):
        if count[key + 1]:
            n_blocks += 1
            n_steps = max(n_steps, count[key + 1])
        count[key + 1] += count[key]
    ordered = np.empty(n, dtype=np.int64)  # the points by block, input order within one
    cursor = count[:-1].copy()
    for i in range(point_species.shape[0]):
        if point_species[i] == z:
            key = (px[i] * n_py + py[i]) * n_pz + pz[i]
            ordered[cursor[key]] = i
            cursor[key] += 1
    ids = np.empty(n_blocks, dtype=np.int64)
    per_step = np.zeros(n_steps + 1, dtype=np.int64)
    b = 0
    for key in range(n_keys):
        size = count[key + 1] - count[key]
        if size:
            ids[b] = key
            b += 1
            for k in range(size):
                per_step[k + 1] += 1
    bounds = np.cumsum(per_step)
    which, source = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    place = bounds[:-1].copy()
    b = 0
    for key in range(n_keys):  # blocks ascending, so each step's entries too
        for k in range(count[key + 1] - count[key]):
            which[place[k]], source[place[k]] = b, rows[ordered[count[key] + k]]
            place[k] += 1
        b += count[key + 1] > count[key]
    return ids, which, source, bounds
