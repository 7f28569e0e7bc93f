"""Periodic images and cell lists: the neighbour search under the SOAP kernels.

Periodicity is handled per axis: along a periodic axis, atoms are wrapped into the cell and the
images that can lie within the cutoff of the cell are added; a non-periodic axis is simply open.
The cell list bins the resulting points into a grid of cells; a centre scans the cells that reach
within its cutoff (cells a third of the cutoff wide scan ~2x fewer points than cells one cutoff
wide, docs/DECISIONS.md). Memory grows with the number of
points (images included), never with the number of pairs. ASE's ``neighbor_list`` is avoided on
purpose: it stores every pair and runs out of memory at 10^5 atoms with the ARISE cutoff.
"""

from dataclasses import dataclass
from itertools import product

import numba
import numpy as np
from ase.geometry import complete_cell

from .._counting import column_bounds, stable_order
from ..limits import check_work

# The grid never has more cells than this many times the number of points (sparse samples then
# get larger cells instead of an enormous empty grid).
_MAX_CELLS_PER_POINT = 8
# Cells this many times narrower than the cutoff: a near-sphere of them (~2x fewer points tested).
CELLS_PER_CUTOFF = 3
# Periodic images are found in at most this many chunks of atoms (threads), whose counts fix
# every image's place before any is written: the same points in the same order.
_IMAGE_CHUNKS = 64


def fractional(positions, cell):
    """Fractional coordinates, shape (n, 3), of ``positions`` (Å) in ``cell`` (rows, Å;
    completed): the rows times the inverse cell as :func:`cartesian` multiplies, so that a
    row's bits depend on that row alone."""
    return _times(np.ascontiguousarray(positions, dtype=np.float64),
                  np.linalg.inv(complete_cell(cell)))


def cartesian(fractions, cell):
    """Cartesian positions (Å), shape (n, 3), of ``fractions`` in ``cell`` (rows, Å;
    completed). Each coordinate is (f0 c0 + f1 c1) + f2 c2, with no BLAS (whose blocking,
    so whose bits, depend on the number of rows: measured) and no fused multiply-adds: the
    atoms and images of one spatial domain get the bits of the whole sample's."""
    return _times(np.ascontiguousarray(fractions, dtype=np.float64), complete_cell(cell))


@numba.njit(cache=True, nogil=True, parallel=True)
def _times(rows, matrix):
    out = np.empty((rows.shape[0], 3))
    for i in numba.prange(rows.shape[0]):
        for j in range(3):
            out[i, j] = (rows[i, 0] * matrix[0, j] + rows[i, 1] * matrix[1, j]) \
                + rows[i, 2] * matrix[2, j]
    return out


def wrap_positions(positions, cell, pbc):
    """Wrap positions into the cell along periodic axes only.

    Parameters
    ----------
    positions : ndarray of shape (n, 3), float64
        Cartesian positions (Å).
    cell : ndarray of shape (3, 3)
        Cell vectors as rows (Å); zero rows along open axes are completed internally.
    pbc : ndarray of shape (3,), bool

    Returns
    -------
    ndarray of shape (n, 3), float64
        A new array; unchanged along open axes. A row depends on that row alone
        (:func:`cartesian`).
    """
    if not np.any(pbc):
        return np.array(positions, dtype=np.float64)
    full = complete_cell(cell)
    return _wrap(np.ascontiguousarray(positions, dtype=np.float64), np.linalg.inv(full), full,
                 np.asarray(pbc, dtype=bool))


@numba.njit(cache=True, nogil=True, parallel=True)
def _wrap(rows, inverse, cell, pbc):
    """``cartesian(f - floor(f) along pbc, cell)`` of ``f = fractional(rows, cell)`` in one
    pass, with the same arithmetic (so the same bits)."""
    out = np.empty((rows.shape[0], 3))
    for i in numba.prange(rows.shape[0]):
        f0 = (rows[i, 0] * inverse[0, 0] + rows[i, 1] * inverse[1, 0]) + rows[i, 2] * inverse[2, 0]
        f1 = (rows[i, 0] * inverse[0, 1] + rows[i, 1] * inverse[1, 1]) + rows[i, 2] * inverse[2, 1]
        f2 = (rows[i, 0] * inverse[0, 2] + rows[i, 1] * inverse[1, 2]) + rows[i, 2] * inverse[2, 2]
        f0, f1, f2 = (f0 - np.floor(f0) if pbc[0] else f0, f1 - np.floor(f1) if pbc[1] else f1,
                      f2 - np.floor(f2) if pbc[2] else f2)
        for j in range(3):
            out[i, j] = (f0 * cell[0, j] + f1 * cell[1, j]) + f2 * cell[2, j]
    return out


def cell_heights(cell):
    """Distances (Å) between opposite faces of the cell, one per axis (a complete cell)."""
    full = np.asarray(cell, dtype=np.float64)
    return abs(np.linalg.det(full)) / np.linalg.norm(np.cross(full[[1, 2, 0]], full[[2, 0, 1]]),
                                                    axis=1)


def periodic_images(positions, cell, pbc, cutoff, within=None, near=None):
    """Points within ``cutoff`` of the wrapped sample: the atoms and their periodic images.

    Parameters
    ----------
    positions : ndarray of shape (n, 3), float64
        Positions already wrapped along periodic axes (see :func:`wrap_positions`), Å.
    cell : ndarray of shape (3, 3)
        Cell vectors as rows (Å).
    pbc : ndarray of shape (3,), bool
    cutoff : float
        Interaction range (Å).
    within : (array_like, array_like), optional
        Lower and upper corners (Å, 3 values each; +-inf for no bound): only the points
        inside are returned, the same points in the same order as the whole set's (a spatial
        domain's part; a point's bits depend on its atom alone, :func:`cartesian`).
    near : callable, optional
        With ``within``: ``near(x_lo, x_hi)`` (Å), the indices (ascending) of the atoms that
        may have a point with x there (a sorted x index); only those are imaged, for the same
        result without a pass over every atom.

    Returns
    -------
    points : ndarray of shape (m, 3), float64
        The atoms first, bit-identical to ``positions``, then the images.
    index : ndarray of shape (m,), int64
        Index of the atom each point is a copy of.
    """
    if near is not None and within is not None:
        some = near(within[0][0], within[1][0])
        points, index = periodic_images(positions[some], cell, pbc, cutoff, within)
        return points, some[index]
    n = len(positions)
    lower, upper = ((np.full(3, -np.inf), np.full(3, np.inf)) if within is None else
                    (np.asarray(within[0], dtype=np.float64),
                     np.asarray(within[1], dtype=np.float64)))
    own = np.arange(n, dtype=np.int64) if within is None else np.flatnonzero(
        np.all((positions >= lower) & (positions <= upper), axis=1))
    if not np.any(pbc) or n == 0:
        return positions[own], own
    full = complete_cell(cell)
    heights = cell_heights(full)
    expected = expected_points(n, heights, pbc, cutoff)
    thinnest = int(np.argmin(np.where(pbc, heights, np.inf)))
    check_work("max_points", expected, f"Periodic images of the {n} atoms within {cutoff:.4g} Å "
               f"of the cell (cell {heights[thinnest]:.4g} Å thick along axis {thinnest})",
               "Use a smaller box or cutoff, or a larger cell (atoms.repeat)")
    reach = np.where(pbc, np.ceil(cutoff / heights), 0).astype(np.int64)
    frac = fractional(positions, full)
    margin = cutoff / heights
    # two passes of one kernel over fixed chunks of atoms: the images per chunk and shift,
    # then each chunk's images in their places (shift-major, then atom order)
    chunks = np.linspace(0, n, min(_IMAGE_CHUNKS, n) + 1).astype(np.int64)
    args = (frac, full, pbc, reach, margin, lower, upper, chunks)
    counts = np.zeros((len(chunks) - 1, int(np.prod(2 * reach + 1))), dtype=np.int64)
    _images(*args, counts, np.empty((0, 3)), np.empty(0, dtype=np.int64))
    flat = counts.T.ravel()  # shift-major
    cursor = (len(own) + np.cumsum(flat) - flat).reshape(counts.T.shape).T.copy()
    points = np.empty((len(own) + int(flat.sum()), 3))
    index = np.empty(len(points), dtype=np.int64)
    points[:len(own)] = positions if within is None else positions[own]  # no gather
    index[:len(own)] = own
    _images(*args, cursor, points, index)
    return points, index


@numba.njit(cache=True, nogil=True, parallel=True)
def _images(frac, full, pbc, reach, margin, lower, upper, chunks, cursor, points, index):
    """The periodic images of :func:`periodic_images`, in the order of their shifts (as
    ``np.ndindex`` over -reach..reach per axis, the zero shift left out), then of their
    atoms: an atom's copy shifted by k (whole cell vectors) is kept where each periodic
    fraction plus k lies within ``margin`` of [0, 1] and its position (:func:`cartesian`'s
    arithmetic, Å) within [lower, upper]. The atoms chunks[c]:chunks[c + 1] are chunk c.
    With no ``points``, ``cursor`` (one row per chunk, one column per shift) counts them;
    otherwise each chunk writes its images at its row of ``cursor``, which advances."""
    n1, n2 = 2 * reach[1] + 1, 2 * reach[2] + 1
    for c in numba.prange(len(chunks) - 1):
        shifts = np.empty((3, 2 * max(reach[0], reach[1], reach[2]) + 1), dtype=np.int64)
        n_shifts = np.empty(3, dtype=np.int64)
        moved = np.empty(3)
        found = np.empty(3)
        at = cursor[c]
        for i in range(chunks[c], chunks[c + 1]):
            for d in range(3):
                n_shifts[d] = 0
                for k in range(-reach[d], reach[d] + 1):
                    f = frac[i, d] + k
                    if not pbc[d] or (f > -margin[d] and f < 1.0 + margin[d]):
                        shifts[d, n_shifts[d]] = k
                        n_shifts[d] += 1
            for a in range(n_shifts[0]):
                for b in range(n_shifts[1]):
                    for e in range(n_shifts[2]):
                        k0, k1, k2 = shifts[0, a], shifts[1, b], shifts[2, e]
                        if k0 == 0 and k1 == 0 and k2 == 0:
                            continue
                        moved[0], moved[1], moved[2] = frac[i, 0] + k0, frac[i, 1] + k1, \
                            frac[i, 2] + k2
                        inside = True
                        for j in range(3):
                            found[j] = (moved[0] * full[0, j] + moved[1] * full[1, j]) \
                                + moved[2] * full[2, j]
                            inside = inside and lower[j] <= found[j] <= upper[j]
                        if not inside:
                            continue
                        s = ((k0 + reach[0]) * n1 + (k1 + reach[1])) * n2 + (k2 + reach[2])
                        if points.shape[0]:
                            points[at[s]] = found
                            index[at[s]] = i
                        at[s] += 1


def check_pairs(n_centres, density, reach, r_cut):
    """InputError past the work limit ``max_pairs`` for ``n_centres`` centres among
    neighbours of ``density`` (1/Å^3) within ``reach`` (Å, ``r_cut`` d_NN); arrays: the
    worst of them."""
    n_centres, reach = np.atleast_1d(n_centres), np.atleast_1d(reach)
    estimate = n_centres * density * 4.0 / 3.0 * np.pi * reach ** 3
    k = int(np.argmax(estimate))
    check_work("max_pairs", estimate[k], f"Neighbour pairs of {int(n_centres[k]):,} centres "
               f"within r_cut = {r_cut:g} d_NN ({reach[k]:.3g} Å)",
               "Use a smaller r_cut, or describe fewer atoms")


def species_near(near, numbers, z):
    """``near`` (a function (x_lo, x_hi) (Å) -> atom indices, ascending; a spatial domain's
    sorted x index) as the same for the atoms of species ``z`` alone, indexed among them;
    None for None."""
    if near is None:
        return None
    mine = numbers == z
    rank = np.cumsum(mine) - 1

    def of_species(low, high):
        found = near(low, high)
        return rank[found[mine[found]]]
    return of_species


def expected_points(n, heights, pbc, cutoff):
    """Points of ``n`` atoms and their images within ``cutoff`` (Å) for a uniform density:
    the cell (face distances ``heights``, Å) widened by the cutoff on both periodic sides."""
    return n * float(np.prod(np.where(pbc, 1.0 + 2.0 * cutoff / heights, 1.0)))


def image_bounds(positions, cell, pbc, cutoff):
    """(lower, upper, n) for :meth:`CellList.build`: corners (Å) of the box that holds every
    point of ``periodic_images(positions, cell, pbc, cutoff)``, whichever part of them is
    taken, and their expected number (:func:`expected_points`). Along periodic axes the
    cell widened by the cutoff, along open ones the atoms' extent."""
    if not np.any(pbc) and len(positions):  # the atoms themselves (periodic_images)
        return (*column_bounds(positions), len(positions))
    full = complete_cell(cell)
    heights = cell_heights(full)
    margin = np.where(pbc, cutoff / heights, 0.0)
    # the atoms' fractions only for open axes (a periodic cell: no pass over the atoms)
    frac = fractional(positions, full) if len(positions) and not np.all(pbc) else \
        np.zeros((1, 3))
    lo, hi = column_bounds(frac)
    lo, hi = np.where(pbc, -margin, lo), np.where(pbc, 1.0 + margin, hi)
    corners = cartesian(np.array(list(product(*zip(lo, hi)))), full)
    return (corners.min(axis=0), corners.max(axis=0),
            expected_points(len(positions), heights, pbc, cutoff))


def grid_shape(lower, upper, n_points, width):
    """(dims, step) of a cell list's grid over points from ``lower`` to ``upper`` (Å): cells
    at least ``width`` wide (Å), never more than ``_MAX_CELLS_PER_POINT`` per point. Rows of
    ``lower`` / ``upper`` (shape (g, 3)) with ``n_points`` and ``width`` of shape (g,) give g
    grids, each as alone."""
    extent = np.maximum(np.asarray(upper) - lower, 1e-12)
    width = np.asarray(width, dtype=np.float64)[..., None]
    n_points = np.asarray(n_points)
    dims = np.maximum(np.floor(extent / width), 1).astype(np.int64)
    while True:
        crowded = np.prod(dims.astype(float), axis=-1) > _MAX_CELLS_PER_POINT * n_points + 27
        if not crowded.any():
            return dims, np.maximum(extent / dims, width)
        dims = np.where(crowded[..., None], np.maximum(dims // 2, 1), dims)


@dataclass(frozen=True)
class CellList:
    """Points sorted into a regular grid of cells, each at least ``width`` wide (Å).

    Attributes
    ----------
    points : ndarray of shape (m, 3), float64
        Point positions sorted by cell.
    index : ndarray of shape (m,), int64
        For each sorted point, the index it was given under (e.g. its atom's index).
    cell_start : ndarray of shape (n_cells + 1,), int64
        Points of flat cell ``(ix * ny + iy) * nz + iz`` are ``points[cell_start[k]:cell_start[k+1]]``.
    origin, step : ndarray of shape (3,), float64
        Lower grid corner and cell edge lengths (Å).
    dims : ndarray of shape (3,), int64
        Number of cells along x, y, z.
    """

    points: np.ndarray
    index: np.ndarray
    cell_start: np.ndarray
    origin: np.ndarray
    step: np.ndarray
    dims: np.ndarray

    @classmethod
    def build(cls, points, index, width, bounds=None):
        """Bin ``points`` (shape (m, 3), Å) with labels ``index`` into cells >= ``width`` wide.

        ``bounds`` = (lower, upper, n) (:func:`image_bounds`): the grid spans lower to upper
        (Å) as for n points, whatever part of them ``points`` is (a spatial domain's part
        gets the whole list's cells and order); default the points' own extent and number."""
        points = np.asarray(points, dtype=np.float64)
        index = np.asarray(index, dtype=np.int64)
        if bounds is None and len(points) == 0:
            zero = np.zeros(3)
            return cls(points.reshape(0, 3), index, np.zeros(2, dtype=np.int64), zero,
                       np.ones(3), np.ones(3, dtype=np.int64))
        lower, upper, n_points = (*column_bounds(points), len(points)) if bounds is None \
            else bounds
        dims, step = grid_shape(lower, upper, n_points, width)
        coords = np.clip(((points - lower) / step).astype(np.int64), 0, dims - 1)
        flat = (coords[:, 0] * dims[1] + coords[:, 1]) * dims[2] + coords[:, 2]
        order = stable_order(flat, int(np.prod(dims)))
        counts = np.bincount(flat, minlength=int(np.prod(dims)))
        cell_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return cls(np.ascontiguousarray(points[order]), index[order], cell_start,
                   np.asarray(lower, dtype=np.float64), step, dims)


@dataclass(frozen=True)
class CellStack:
    """Several cell lists in one set of arrays, so that one kernel call serves centres of many
    neighbour lists (the species pairs of many structures, say).

    Attributes
    ----------
    points, index : ndarray of shape (m, 3) and (m,)
        The lists' points and labels, one list after the other.
    cell_start : ndarray of int64
        Grid g's cells start at ``cell_base[g]``; their point ranges index the stacked points.
    origin, step : ndarray of shape (n_grids, 3), float64
    dims : ndarray of shape (n_grids, 3), int64
    cell_base : ndarray of shape (n_grids,), int64
    """

    points: np.ndarray
    index: np.ndarray
    cell_start: np.ndarray
    origin: np.ndarray
    step: np.ndarray
    dims: np.ndarray
    cell_base: np.ndarray

    @classmethod
    def of(cls, lists):
        """Stack a sequence of :class:`CellList` (one list: no copy)."""
        lists = list(lists)
        grids = [np.array([c.origin for c in lists]), np.array([c.step for c in lists]),
                 np.array([c.dims for c in lists], dtype=np.int64)]
        if len(lists) == 1:
            only = lists[0]
            return cls(only.points, only.index, only.cell_start, *grids,
                       np.zeros(1, dtype=np.int64))
        sizes = np.array([len(c.points) for c in lists])
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        cell_base = np.concatenate([[0], np.cumsum([len(c.cell_start) for c in lists])[:-1]])
        return cls(np.concatenate([c.points for c in lists]).reshape(-1, 3),
                   np.concatenate([c.index for c in lists]),
                   np.concatenate([c.cell_start + o for c, o in zip(lists, offsets)]),
                   *grids, cell_base.astype(np.int64))
