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

import numpy as np
from ase.geometry import complete_cell

from ..limits import check_work

# The grid never has more cells than this many times the number of points (sparse samples then
# get larger cells instead of an enormous empty grid).
_MAX_CELLS_PER_POINT = 8


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
        A new array; unchanged along open axes.
    """
    positions = np.array(positions, dtype=np.float64)
    if not np.any(pbc):
        return positions
    full = complete_cell(cell)
    frac = np.linalg.solve(full.T, positions.T).T
    frac[:, pbc] -= np.floor(frac[:, pbc])
    return frac @ full


def cell_heights(cell):
    """Distances (Å) between opposite faces of the cell, one per axis (a complete cell)."""
    full = np.asarray(cell, dtype=np.float64)
    return abs(np.linalg.det(full)) / np.linalg.norm(np.cross(full[[1, 2, 0]], full[[2, 0, 1]]),
                                                    axis=1)


def periodic_images(positions, cell, pbc, cutoff):
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

    Returns
    -------
    points : ndarray of shape (m, 3), float64
        The atoms first, bit-identical to ``positions``, then the images.
    index : ndarray of shape (m,), int64
        Index of the atom each point is a copy of.
    """
    n = len(positions)
    if not np.any(pbc) or n == 0:
        return positions.copy(), np.arange(n, dtype=np.int64)
    full = complete_cell(cell)
    heights = cell_heights(full)
    # points expected for a uniform density: the cell widened by the cutoff on both sides
    expected = n * float(np.prod(np.where(pbc, 1.0 + 2.0 * cutoff / heights, 1.0)))
    thinnest = int(np.argmin(np.where(pbc, heights, np.inf)))
    check_work("max_points", expected, f"Periodic images of the {n} atoms within {cutoff:.4g} Å "
               f"of the cell (cell {heights[thinnest]:.4g} Å thick along axis {thinnest})",
               "Use a smaller box or cutoff, or a larger cell (atoms.repeat)")
    reach = np.where(pbc, np.ceil(cutoff / heights), 0).astype(int)
    frac = np.linalg.solve(full.T, positions.T).T
    margin = cutoff / heights
    # per periodic axis and shift, the atoms whose shifted copy lies within the margin: a
    # shift's candidates are the fewest of its axes' (one pass over the atoms per axis and
    # shift, not 26 passes over all three coordinates)
    near = [{k: np.flatnonzero((frac[:, d] + k > -margin[d]) & (frac[:, d] + k < 1.0 + margin[d]))
             for k in range(-reach[d], reach[d] + 1) if k} for d in range(3)]
    points, index = [positions], [np.arange(n, dtype=np.int64)]
    for shift in np.ndindex(*(2 * reach + 1)):
        shift = np.array(shift) - reach
        if not shift.any():
            continue
        some = min((near[d][shift[d]] for d in range(3) if shift[d]), key=len)
        moved = frac[some] + shift
        keep = np.all(~pbc | ((moved > -margin) & (moved < 1.0 + margin)), axis=1)
        if keep.any():
            points.append(moved[keep] @ full)
            index.append(some[keep])
    return np.concatenate(points), np.concatenate(index)


def grid_shape(lower, upper, n_points, width):
    """(dims, step) of a cell list's grid over points from ``lower`` to ``upper`` (Å): cells
    at least ``width`` wide (Å), never more than ``_MAX_CELLS_PER_POINT`` per point."""
    extent = np.maximum(upper - lower, 1e-12)
    dims = np.maximum(np.floor(extent / width), 1).astype(np.int64)
    while np.prod(dims.astype(float)) > _MAX_CELLS_PER_POINT * n_points + 27:
        dims = np.maximum(dims // 2, 1)
    return dims, np.maximum(extent / dims, width)


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
    def build(cls, points, index, width):
        """Bin ``points`` (shape (m, 3), Å) with labels ``index`` into cells >= ``width`` wide."""
        points = np.asarray(points, dtype=np.float64)
        if len(points) == 0:
            zero = np.zeros(3)
            return cls(points.reshape(0, 3), np.asarray(index, dtype=np.int64),
                       np.zeros(2, dtype=np.int64), zero, np.ones(3), np.ones(3, dtype=np.int64))
        lower = points.min(axis=0)
        dims, step = grid_shape(lower, points.max(axis=0), len(points), width)
        index = np.asarray(index, dtype=np.int64)
        coords = np.minimum(((points - lower) / step).astype(np.int64), dims - 1)
        flat = (coords[:, 0] * dims[1] + coords[:, 1]) * dims[2] + coords[:, 2]
        order = np.argsort(flat, kind="stable")
        counts = np.bincount(flat, minlength=int(np.prod(dims)))
        cell_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return cls(np.ascontiguousarray(points[order]), index[order], cell_start, lower, step,
                   dims)

    def window(self, low, high):
        """The points with ``low <= x <= high`` (Å), in the same cells and order: a spatial
        domain's part of the whole list (cells are x-major, so one contiguous range)."""
        per_x = int(self.dims[1] * self.dims[2])
        first, last = (int(np.clip(np.floor((v - self.origin[0]) / self.step[0]), 0,
                                   self.dims[0] - 1)) for v in (low, high))
        a, b = first * per_x, (last + 1) * per_x
        start, stop = int(self.cell_start[a]), int(self.cell_start[b])
        x = self.points[start:stop, 0]
        keep = (x >= low) & (x <= high)
        cell_of = np.repeat(np.arange(a, b), np.diff(self.cell_start[a:b + 1]))
        counts = np.bincount(cell_of[keep], minlength=len(self.cell_start) - 1)
        return CellList(np.ascontiguousarray(self.points[start:stop][keep]),
                        self.index[start:stop][keep],
                        np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
                        self.origin, self.step, self.dims)


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


def vacuum_axes(positions, cell, pbc, gap):
    """Periodic axes along which the atoms leave an atom-free slab wider than ``gap`` (Å).

    Such an axis is periodic in name only (a slab or a nanoparticle in a vacuum box, the usual
    DFT file): nothing within ``gap`` of an atom sees across it.

    Returns
    -------
    ndarray of shape (3,), bool
    """
    out = np.zeros(3, dtype=bool)
    if not len(positions) or not np.any(pbc):
        return out
    full = complete_cell(cell)
    frac = np.mod(np.linalg.solve(full.T, positions.T).T, 1.0)
    heights = cell_heights(full)
    for k in np.flatnonzero(pbc):
        ordered = np.sort(frac[:, k])
        gaps = np.diff(np.append(ordered, ordered[0] + 1.0))
        out[k] = gaps.max() * heights[k] > gap
    return out

