"""Box descriptors of strided pattern matching, one class per mode.

:class:`FastBoxes` computes per-atom expansion coefficients once (neighbours from the whole
sample, so no artificial surface), each atom scaled by its local d_NN, and sums a box's rows;
:class:`ExactBoxes` cuts each box out as a non-periodic cluster and describes it on its own
(the paper's way). Both describe a slab of boxes at a time and leave NaN rows for boxes without
a neighbour pair.
"""

import math
import warnings

import numpy as np
from ase import Atoms
from scipy.spatial import cKDTree

from .._counting import dense_unique, distinct, stable_order
from ..descriptor.local_dnn import sample_units
from ..device import cuda_module
from ..descriptor.averaged import describe_structures
from ..descriptor.neighbors import CellList, species_near
from ..errors import IsolatedAtomsWarning, OverlappingAtomsWarning
from . import _kernels, cuda
from .grid_sums import grid_pairs, pairs_of_boxes


class FastBoxes:
    """Fast mode: box descriptors from sums of per-atom coefficients.

    Parameters
    ----------
    calculator : ARISEDescriptor
    wrapped : ndarray of shape (n_atoms, 3), float64
        Positions wrapped into the cell along periodic axes (Å).
    numbers, cell, pbc
        As from ``check_atoms``.
    scan : ndarray of shape (n_boxes, 3), optional
        Every box centre of the scan (Å); when they form a tensor grid, the slabs' centres
        must be among them.
    units : ndarray of shape (n_atoms, n_species), optional
        The atoms' local d_NN (Å, :func:`~ase_arise.descriptor.local_length_units`), if known.
    nearest : ndarray of shape (n_atoms, n_species), optional
        Else every atom's distance to its nearest atom of each species (Å,
        :func:`~ase_arise.descriptor.dnn.nearest_by_species`), if known.
    window : (float, float), optional
        Only atoms with x (Å) in this range are expanded (a spatial domain's): the neighbour
        cells hold the points within their reach.
    near : callable, optional
        With ``window``: ``near(x_lo, x_hi)`` (Å), the indices (ascending) of the atoms that
        may have a periodic image there (a sorted x index: no pass over every atom).

    Every atom is expanded once however the slabs overlap: the rows of the previous slab are
    kept and reused (``_cache``).
    """

    def __init__(self, calculator, wrapped, numbers, cell, pbc, scan=None, units=None,
                 nearest=None, window=None, near=None):
        self.calculator = calculator
        # the whole scan's tensor grid: box sums that no slab or domain boundary changes
        grid = None if scan is None else tensor_grid(scan)
        self.ticks = None if grid is None else grid[0]
        self.wrapped, self.numbers = wrapped, numbers
        self.species = tuple(int(z) for z in distinct(numbers))
        if units is None:
            units = sample_units(wrapped, numbers, cell, pbc, nearest,
                                 device=calculator.device)
        self.units = units * calculator.extrinsic_scaling
        self.cells = [None if np.isnan(self.units[:, j]).all() else calculator.neighbor_cells(
                          wrapped[numbers == z], cell, pbc, np.nanmax(self.units[:, j]),
                          len(wrapped), window, on_card=True, near=species_near(near, numbers, z))
                      for j, z in enumerate(self.species)]
        self._cache = (np.empty(0, dtype=np.int64), None, None, None)
        # on a CUDA device the slab's rows stay on the card (CuPy), summed there (.cuda)
        self._cupy = None if calculator.device == "cpu" else cuda_module(calculator.device)

    def describe(self, centres, half, points, index):
        """Descriptors of the boxes at ``centres`` (Å) of half-edge ``half`` (Å), from the
        ``points`` (atoms and periodic images near the slab) with atom ``index``.

        A generator: yields the boxes done (all of them, once) and returns (descriptors of
        shape (n_boxes, n_features), on a CUDA device a CuPy array on the card, atoms per box
        of shape (n_boxes,))."""
        calculator, species = self.calculator, self.species
        needed, rows = dense_unique(index, len(self.numbers))
        self._cache = self.coefficients(needed)
        _, slot, coefficients, n_neighbors = self._cache
        rows = slot[rows]
        width = coefficients[0].size
        values = coefficients.reshape(len(needed), width)  # a view: no copy
        if self._cupy is not None:
            cupy, card = self._cupy
            with card:
                if self.ticks is None:
                    out, counts = cuda.box_descriptors(calculator, cupy, species, centres,
                                                       half, points, self.numbers[index],
                                                       rows, values, n_neighbors)
                else:
                    out, counts = cuda.grid_descriptors(calculator, cupy, species, self.ticks,
                                                        centres, half, points,
                                                        self.numbers[index], rows, values,
                                                        n_neighbors)
            yield len(centres)
            return out, counts
        neighbors = n_neighbors.astype(np.float64)
        grid = None if self.ticks is None else (self.ticks, tuple(
            np.searchsorted(t, centres[:, d]) for d, t in enumerate(self.ticks)))
        if grid is None:
            sums, neighbor_sums, counts = self._box_sums(centres, half, points, index, rows,
                                                         values, neighbors)
        else:
            sums, neighbor_sums, counts = self._grid_sums(grid, half, points, index, rows,
                                                          values, neighbors)
        yield len(centres)  # progress, as ExactBoxes.describe reports it
        return box_spectra(calculator.basis, sums, neighbor_sums), counts

    def _box_sums(self, centres, half, points, index, rows, values, neighbors):
        """Per-box sums of the atoms' rows by species (any centres): each box adds up the
        points inside it, found with a cell list."""
        species = self.species
        sums = np.zeros((len(centres), len(species), values.shape[1]))
        neighbor_sums = np.zeros((len(centres), len(species), len(species)))
        counts = np.zeros(len(centres), dtype=np.int64)
        for a, z in enumerate(species):
            mine = self.numbers[index] == z
            if not mine.any():
                continue
            cells = CellList.build(points[mine], rows[mine], half)
            _kernels.box_sums(np.ascontiguousarray(centres), half, cells.points, cells.index,
                              cells.cell_start, cells.origin, cells.step, cells.dims, values,
                              neighbors, sums[:, a], neighbor_sums[:, a], counts)
        return sums, neighbor_sums, counts

    def _grid_sums(self, grid, half, points, index, rows, values, neighbors):
        """The same sums for centres on a tensor grid (``tensor_grid`` of the whole scan, and
        these centres' grid indices), as fixed-order sums over the pairs of box ranges that
        contain each point (:func:`grid_planes`, :func:`add_planes`): whatever slab or spatial
        domain the centres come in, a box gets the same bits. Equal to :meth:`_box_sums` to
        rounding (~1e-13 relative)."""
        ticks, where = grid
        lo = [int(w.min()) for w in where[:2]]
        hi = [int(w.max()) + 1 for w in where[:2]]
        pairs, planes = grid_planes(ticks, half, points, self.numbers[index], rows, values,
                                    neighbors, self.species, (lo[0], hi[0]), (lo[1], hi[1]))
        sums = add_planes([(pairs, planes)], lo[0], hi[0] - lo[0])
        return split_sums(sums[(slice(None), where[0] - lo[0], where[1] - lo[1], where[2])],
                          values.shape[1])

    def coefficients(self, needed):
        """(needed, slot, coefficients, neighbour counts) of the atoms ``needed`` (sorted
        indices): atom ``needed[k]`` has row ``slot[k]``. The rows of the cached slab come
        first (copied once), then the new atoms' rows, computed in place: no zero-filled or
        temporary copies of arrays of ~3.5 kB per atom (they cost 13 s of a 137 s 10^6-atom
        label)."""
        previous, old_slot, old_rows, old_counts = self._cache
        calculator = self.calculator
        shape = (len(needed), len(self.species), calculator.basis.n_max,
                 (calculator.basis.l_max + 1) ** 2)
        hit = np.zeros(len(needed), dtype=bool)
        if len(previous):
            position = np.minimum(np.searchsorted(previous, needed), len(previous) - 1)
            hit = previous[position] == needed
        n_hit = int(hit.sum())
        if self._cupy is None:
            coefficients = np.empty(shape)
            n_neighbors = np.empty(shape[:2], dtype=np.int64)
        else:  # counts on the card too: nothing waits for the coefficient kernel
            cupy, card = self._cupy
            with card:
                coefficients = cupy.empty(shape)
                n_neighbors = cupy.empty(shape[:2], dtype=np.int64)
        if n_hit:
            reused = old_slot[position[hit]]
            if self._cupy is None:
                # mode="clip" (the indices are valid): with the default "raise" numpy buffers
                # the whole output first (7.7 of 123 s of a 10^6-atom label)
                np.take(old_rows, reused, axis=0, out=coefficients[:n_hit], mode="clip")
                n_neighbors[:n_hit] = old_counts[reused]
            else:
                with card:
                    reused = cupy.asarray(reused)
                    coefficients[:n_hit] = old_rows[reused]
                    n_neighbors[:n_hit] = old_counts[reused]
        new = needed[~hit]
        if len(new):
            n_neighbors[n_hit:] = calculator.species_rows(
                self.wrapped[new], self.units[new], self.cells, out=coefficients[n_hit:])[1]
        slot = np.empty(len(needed), dtype=np.int64)
        slot[hit] = np.arange(n_hit)
        slot[~hit] = np.arange(n_hit, len(needed))
        return needed, slot, coefficients, n_neighbors


def tensor_grid(centres):
    """(ticks, where) when the ``centres`` (Å) are exactly the grid ticks[0] x ticks[1] x
    ticks[2] of sorted coordinates, centre i at grid point where = (ix[i], iy[i], iz[i]);
    else None (a tilted cell's scan, one box per atom)."""
    ticks = [np.unique(centres[:, d]) for d in range(3)]
    if math.prod(len(t) for t in ticks) != len(centres):
        return None
    where = tuple(np.searchsorted(t, centres[:, d]) for d, t in enumerate(ticks))
    flat = np.ravel_multi_index(where, tuple(len(t) for t in ticks))
    if np.bincount(flat, minlength=len(centres)).max(initial=0) > 1:  # a grid point twice
        return None
    return ticks, where


def box_spectra(basis, sums, neighbor_sums):
    """Box descriptors (n_boxes, n_features) from the boxes' coefficient sums (n_boxes,
    n_species, n_values) and neighbour counts (n_boxes, n_species, n_species): the power
    spectrum of each species pair with a neighbour pair in the box, averaged over those pairs
    (NaN where none)."""
    n_boxes, n_species = sums.shape[:2]
    has_pair = neighbor_sums > 0
    spectra = basis.power_spectrum(sums.reshape(n_boxes, n_species, n_species, basis.n_max, -1))
    n_pairs = has_pair.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (spectra * has_pair[..., None]).sum(axis=(1, 2)) / n_pairs[:, None]


def grid_planes(ticks, half, points, point_species, rows, values, extra, species, x_range,
                y_range):
    """The (y, z) box sums of each x-pair (``_kernels.pair_planes``) of the ``points`` (Å,
    with their species and rows of ``values`` and ``extra``) whose boxes on the tensor grid
    ``ticks`` (Å, the whole scan's) meet x indices ``x_range`` and y indices ``y_range``
    ((start, stop)), for the y boxes of ``y_range``.

    Returns (pairs, planes): the x-pairs, rows (i0, i1) ascending, and their planes, shape
    (n_species, n_pairs, ny, nz, n_values + n_extra + 1)."""
    inside, pair_of, pairs = grid_pairs(ticks, half, points, x_range, y_range)
    lists = [pairs_of_boxes(pairs[d], len(ticks[d])) for d in (1, 2)]
    width = values.shape[1] + extra.shape[1] + 1
    planes = np.zeros((len(species), len(pairs[0]), y_range[1] - y_range[0], len(ticks[2]),
                       width))
    kept_species, kept_rows = point_species[inside], rows[inside]
    n_py, n_pz = len(pairs[1]), len(pairs[2])
    for a, z in enumerate(species):
        mine = np.flatnonzero(kept_species == z)
        if not len(mine):
            continue
        px, py, pz = (p[mine] for p in pair_of)
        order = stable_order((px * n_py + py) * n_pz + pz, len(pairs[0]) * n_py * n_pz)
        px, py, pz, mine = px[order], py[order], pz[order], mine[order]
        run = np.flatnonzero(np.r_[True, (px[1:] != px[:-1]) | (py[1:] != py[:-1])])
        present = np.unique(px)
        out = np.empty((len(present),) + planes.shape[2:])
        _kernels.pair_planes(px[run], py[run], np.r_[run, len(mine)], pz, kept_rows[mine],
                             values, extra, lists[0], lists[1], y_range[0], out)
        planes[a, present] = out
    return pairs[0], planes


def add_planes(parts, x_lo, nx):
    """Box sums (n_species, nx, ny, nz, width) of the x boxes [x_lo, x_lo + nx) from the
    planes of :func:`grid_planes`: ``parts``, (x-pairs, planes) one after another, their pairs
    ascending across them (a spatial domain's slices, in order; not concatenated: a copy of
    ~25 MB a slice). Each box adds its x-pairs' planes in pair order, starting from 0."""
    width_shape = parts[0][1].shape
    sums = np.zeros((width_shape[0], nx) + width_shape[2:])
    for pairs, planes in parts:
        for (i0, i1), plane in zip(pairs, planes.swapaxes(0, 1)):
            lo, hi = max(int(i0), x_lo), min(int(i1), x_lo + nx)
            if lo < hi:
                sums[:, lo - x_lo:hi - x_lo] += plane[:, None]
    return sums


def split_sums(sums, n_values):
    """(sums, neighbour sums, counts) per box from combined sums (n_species, n_boxes, width)
    of :func:`add_planes` picked at the boxes: (n_boxes, n_species, n_values), (n_boxes,
    n_species, n_extra), (n_boxes,) int64."""
    sums = np.moveaxis(sums, 0, 1)
    return (sums[..., :n_values], sums[..., n_values:-1],
            np.rint(sums[..., -1].sum(axis=1)).astype(np.int64))


# Exact-mode boxes described together (their clusters share kernel calls).
BATCH = 64


class ExactBoxes:
    """Exact mode: each box cut out as a cluster and described on its own.

    Parameters
    ----------
    calculator : ARISEDescriptor
    numbers : ndarray of shape (n_atoms,), int64
    min_atoms : int
        Boxes with fewer atoms are not described (NaN rows).
    """

    def __init__(self, calculator, numbers, min_atoms):
        self.calculator, self.numbers, self.min_atoms = calculator, numbers, min_atoms

    def describe(self, centres, half, points, index):
        """Descriptors of the boxes at ``centres`` (Å), half-edge ``half`` (Å), from ``points``
        with atom ``index``; yields the boxes done after each batch of ``BATCH`` boxes (their
        clusters described together, :mod:`ase_arise.descriptor.averaged`) and returns
        (descriptors, atoms per box)."""
        out = np.full((len(centres), self.calculator.n_features), np.nan)
        members = cKDTree(points).query_ball_point(centres, r=half, p=np.inf)
        counts = np.array([len(m) for m in members], dtype=np.int64)
        wanted = np.flatnonzero(counts >= max(self.min_atoms, 2))
        for start in range(0, len(wanted), BATCH):
            boxes = wanted[start:start + BATCH]
            clusters = [Atoms(numbers=self.numbers[index[members[b]]],
                              positions=points[members[b]]) for b in boxes]
            with warnings.catch_warnings():
                # atoms at the box's surface may have no neighbour in the cut-out cluster
                warnings.simplefilter("ignore", IsolatedAtomsWarning)
                warnings.simplefilter("ignore", OverlappingAtomsWarning)  # told per sample
                out[boxes] = describe_structures(self.calculator, clusters,
                                                 undescribable="nan")[0]
            yield int(boxes[-1]) + 1
        return out, counts
