"""Numba kernel of the per-centre SOAP coefficients: each centre's neighbours gathered from
cell lists (one or many grids in one call), then expanded by the basis functions of
:mod:`._soap_kernels`. Plain arrays in, plain arrays out; no validation.
"""

import math

import numba
import numpy as np

from ._soap_kernels import (_FAST, contract_harmonics, gaussian_factors, legendre_factors,
                            node_radial_terms, real_spherical_harmonics)

# A centre's neighbours are ordered by a counting sort into this many shells of r_cut (nearly
# sorted, in linear time: a full argsort was 37 % of the kernel's time).
_DISTANCE_BINS = 64


@numba.njit(cache=True, nogil=True)
def _squared_gap(x, start, width):
    """Squared distance from ``x`` to the interval [start, start + width]."""
    if x < start:
        return (start - x) ** 2
    if x > start + width:
        return (x - start - width) ** 2
    return 0.0


@numba.njit(cache=True, nogil=True, parallel=True, fastmath=_FAST)
def center_coefficients(centres, inv_scale, grid_of, self_index, points, point_index, cell_start,
                        grid_origin, grid_step, grid_dims, cell_base, r_cut, cutoff_width, alpha,
                        nodes, transform, l_max, ylm_norm, bounds, summed, out, n_neighbors):
    """Expansion coefficients of each centre's neighbourhood, with cell lists.

    Parameters
    ----------
    centres : float64 array of shape (n_centres, 3)
        Centre positions (Å).
    inv_scale : float64 array of shape (n_centres,)
        1 / (length unit of each centre, Å): neighbour vectors are multiplied by it, so that
        ``r_cut``, ``cutoff_width``, ``alpha`` and ``nodes`` are in that unit (d_NN).
    grid_of : int64 array of shape (n_centres,)
        The cell list (grid) each centre's neighbours are in.
    self_index : int64 array of shape (n_centres,)
        -1: the centre's full neighbourhood. Otherwise the centre's own index among the points
        of its grid (its species' list, whose centres all share one length unit): only pairs
        with a larger ``point_index`` (and the centre's own images, at half weight) are taken,
        at twice the weight, odd l left out. The sum of these rows over all centres of the list
        equals the sum of their full rows, since the mirrored pair's harmonics are (-1)^l
        times these; single rows mean nothing.
    points : float64 array of shape (n_points, 3)
        Neighbour positions (Å), periodic images included, sorted by grid cell within each grid.
    point_index : int64 array of shape (n_points,)
        The atom each point is (a copy of), within its grid's list.
    cell_start : int64 array
        Points of cell ``k`` (flat index (ix * ny + iy) * nz + iz) of grid g are
        ``points[cell_start[cell_base[g] + k]:cell_start[cell_base[g] + k + 1]]``.
    grid_origin, grid_step : float64 arrays of shape (n_grids, 3)
        Lower corner and edge lengths of the grid cells (Å), any size: a centre scans the
        cells that reach within its cutoff (the grid's outer cells hold the points beyond).
    grid_dims : int64 array of shape (n_grids, 3)
    cell_base : int64 array of shape (n_grids,)
    bounds : int64 array of shape (n_blocks + 1,)
        Block b (a work unit of the threads) holds the centres ``bounds[b] <= i <
        bounds[b + 1]``.
    summed : bool
        False: ``out`` has one row per centre. True: one row per block, the sum of its centres'
        rows (added in centre order, before the node-to-basis transform).
    out : float64 array of shape (n_centres or n_blocks, n_max, (l_max + 1)**2)
        Overwritten with c[n, lm] = sum over neighbours of f_cut(r) sum_a rho_l(r, r_a)
        transform[a, n] Y_lm. A point at distance zero (the centre itself) is skipped.
    n_neighbors : int64 array of shape (n_centres,)
        Overwritten with each centre's number of neighbours inside r_cut (all of them, also
        where ``self_index`` takes only half).

    Each centre's neighbours are gathered and ordered by distance shells, so that every Gaussian
    node sees a contiguous range of them (a neighbour reaches ~3 of the 9 nodes); harmonics and
    radial factors are computed over them in vectorised loops, contracted node by node, and
    the node-to-basis ``transform`` is applied once per centre. Centres are processed in
    blocks, each with its own scratch memory.
    """
    n_max = nodes.shape[0]
    n_l = l_max + 1
    n_lm = n_l * n_l
    f1, f2 = legendre_factors(l_max)
    r_cut2 = r_cut * r_cut
    bins_per_unit = _DISTANCE_BINS / r_cut
    for block in numba.prange(bounds.shape[0] - 1):
        capacity = 64
        found = np.empty((5, capacity))  # x, y, z (d_NN), distance and weight of each neighbour
        unit, dist, ylm, gauss, q, cos_m, sin_m, radial, inv_x = _scratch(capacity, n_max, n_l)
        shell, order, inv_dist = _order_scratch(capacity)
        bessel = np.empty(n_l)
        bin_start = np.empty(_DISTANCE_BINS + 1, dtype=np.int64)
        acc = np.empty((n_max, n_lm))
        first = np.empty(n_max, dtype=np.int64)
        last = np.empty(n_max, dtype=np.int64)
        low = np.empty(3, dtype=np.int64)
        high = np.empty(3, dtype=np.int64)
        node_sum = np.zeros((n_max, n_lm))  # summed: the block's node coefficients
        for i in range(bounds[block], bounds[block + 1]):
            inv = inv_scale[i]
            span = r_cut / inv
            g = grid_of[i]
            me = self_index[i]
            origin = grid_origin[g]
            step = grid_step[g]
            dims = grid_dims[g]
            base = cell_base[g]
            for k in range(3):
                top = dims[k] - 1
                low[k] = min(max(int(math.floor((centres[i, k] - span - origin[k])
                                                / step[k])), 0), top)
                high[k] = min(max(int(math.floor((centres[i, k] + span - origin[k])
                                                 / step[k])), 0), top)
            span2 = span * span
            count = 0
            total = 0
            halves = False
            for ix in range(low[0], high[0] + 1):
                gx = _squared_gap(centres[i, 0], origin[0] + ix * step[0],
                                  step[0]) if 0 < ix < dims[0] - 1 else 0.0
                for iy in range(low[1], high[1] + 1):
                    gy = _squared_gap(centres[i, 1], origin[1] + iy * step[1],
                                      step[1]) if 0 < iy < dims[1] - 1 else 0.0
                    if gx + gy >= span2:
                        continue
                    for iz in range(low[2], high[2] + 1):
                        gz = _squared_gap(centres[i, 2], origin[2] + iz * step[2],
                                          step[2]) if 0 < iz < dims[2] - 1 else 0.0
                        if gx + gy + gz >= span2:
                            continue  # the cell lies wholly beyond the cutoff
                        cell = base + (ix * dims[1] + iy) * dims[2] + iz
                        for p in range(cell_start[cell], cell_start[cell + 1]):
                            vx = (points[p, 0] - centres[i, 0]) * inv
                            vy = (points[p, 1] - centres[i, 1]) * inv
                            vz = (points[p, 2] - centres[i, 2]) * inv
                            r2 = vx * vx + vy * vy + vz * vz
                            if r2 >= r_cut2 or r2 == 0.0:
                                continue
                            total += 1
                            weight = 1.0
                            if me >= 0:
                                if point_index[p] < me:
                                    continue  # its mirror pair is taken by the other centre
                                if point_index[p] == me:
                                    weight = 0.5  # an own image: its mirror is one too
                                    halves = True
                            if count == capacity:
                                capacity *= 2
                                found = _grow(found, capacity)
                                unit, dist, ylm, gauss, q, cos_m, sin_m, radial, inv_x = \
                                    _scratch(capacity, n_max, n_l)
                                shell, order, inv_dist = _order_scratch(capacity)
                            found[0, count] = vx
                            found[1, count] = vy
                            found[2, count] = vz
                            found[3, count] = math.sqrt(r2)
                            found[4, count] = weight
                            count += 1
            n_neighbors[i] = total
            # counting sort into _DISTANCE_BINS shells of r_cut: nearly sorted, in O(count)
            bin_start[:] = 0
            for p in range(count):
                b = min(int(found[3, p] * bins_per_unit), _DISTANCE_BINS - 1)
                shell[p] = b
                bin_start[b + 1] += 1
            for b in range(_DISTANCE_BINS):
                bin_start[b + 1] += bin_start[b]
            for p in range(count):
                b = shell[p]
                order[bin_start[b]] = p
                bin_start[b] += 1
            for k in range(count):
                p = order[k]
                r = found[3, p]
                dist[k] = r
                unit[0, k] = found[0, p] / r
                unit[1, k] = found[1, p] / r
                unit[2, k] = found[2, p] / r
                inv_dist[k] = 1.0 / r
            real_spherical_harmonics(unit, count, l_max, ylm_norm, f1, f2, q, cos_m, sin_m, ylm)
            if halves:
                for k in range(count):
                    w = found[4, order[k]]
                    if w != 1.0:
                        for lm in range(n_lm):
                            ylm[lm, k] *= w
            gaussian_factors(dist, count, r_cut, cutoff_width, alpha, nodes, gauss, first, last)
            for a in range(n_max):
                lo = first[a]
                hi = last[a]
                if hi <= lo:
                    acc[a, :] = 0.0
                    continue
                node_radial_terms(2.0 * alpha * nodes[a], dist[lo:hi], inv_dist[lo:hi],
                                  gauss[a, lo:hi], l_max, inv_x, bessel, radial)
                contract_harmonics(radial, ylm, lo, hi, l_max, me >= 0, acc[a])
            pair_weight = 2.0 if me >= 0 else 1.0
            if summed:  # the transform is linear: applied once to the block's sum
                for a in range(n_max):
                    for lm in range(n_lm):
                        node_sum[a, lm] += pair_weight * acc[a, lm]
                continue
            _to_basis(transform, acc, pair_weight, out[i])
        if summed:
            _to_basis(transform, node_sum, 1.0, out[block])


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def _to_basis(transform, nodes, weight, out):
    """out[n, lm] = weight * sum over nodes a of transform[a, n] nodes[a, lm] (rows of lm
    contiguous: vectorised)."""
    for n in range(out.shape[0]):
        target = out[n]
        target[:] = 0.0
        for a in range(nodes.shape[0]):
            t = weight * transform[a, n]
            source = nodes[a]
            for lm in range(nodes.shape[1]):
                target[lm] += t * source[lm]


@numba.njit(cache=True, nogil=True)
def _scratch(capacity, n_max, n_l):
    """Per-neighbour work arrays: unit vectors, distances, harmonics, Gaussian factors, Legendre
    and (x + iy)^m terms, radial factors of one node, 1/x."""
    return (np.empty((3, capacity)), np.empty(capacity), np.empty((n_l * n_l, capacity)),
            np.empty((n_max, capacity)), np.empty((n_l, n_l, capacity)),
            np.empty((n_l, capacity)), np.empty((n_l, capacity)), np.empty((n_l, capacity)),
            np.empty(capacity))


@numba.njit(cache=True, nogil=True)
def _order_scratch(capacity):
    """Per-neighbour shell, sorted order and 1 / distance."""
    return (np.empty(capacity, dtype=np.int64), np.empty(capacity, dtype=np.int64),
            np.empty(capacity))


@numba.njit(cache=True, nogil=True)
def _grow(rows, capacity):
    bigger = np.empty((rows.shape[0], capacity))
    bigger[:, :rows.shape[1]] = rows
    return bigger
