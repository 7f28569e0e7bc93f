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

from ..descriptor import local_length_units
from ..device import cuda_module
from ..descriptor.averaged import describe_structures
from ..descriptor.neighbors import CellList
from ..errors import IsolatedAtomsWarning, OverlappingAtomsWarning
from . import _kernels, cuda


class FastBoxes:
    """Fast mode: box descriptors from sums of per-atom coefficients.

    Parameters
    ----------
    calculator : ARISEDescriptor
    atoms : ase.Atoms
        The sample (for the local d_NN).
    wrapped : ndarray of shape (n_atoms, 3), float64
        Positions wrapped into the cell along periodic axes (Å).
    numbers, cell, pbc
        As from ``check_atoms``.

    Every atom is expanded once however the slabs overlap: the rows of the previous slab are
    kept and reused (``_cache``).
    """

    def __init__(self, calculator, atoms, wrapped, numbers, cell, pbc):
        self.calculator = calculator
        self.wrapped, self.numbers = wrapped, numbers
        self.species = tuple(int(z) for z in np.unique(numbers))
        self.units = local_length_units(atoms, device=calculator.device)[1] \
            * calculator.extrinsic_scaling
        self.cells = [None if np.isnan(self.units[:, j]).all() else calculator.neighbor_cells(
                          wrapped[numbers == z], cell, pbc, np.nanmax(self.units[:, j]),
                          len(wrapped))
                      for j, z in enumerate(self.species)]
        self._cache = (np.empty(0, dtype=np.int64), None, None, None)
        # on a CUDA device the slab's rows stay on the card (CuPy), summed there (.cuda)
        self._cupy = None if calculator.device == "cpu" else cuda_module(calculator.device)

    def describe(self, centres, half, points, index):
        """Descriptors of the boxes at ``centres`` (Å) of half-edge ``half`` (Å), from the
        ``points`` (atoms and periodic images near the slab) with atom ``index``.

        A generator: yields the boxes done (all of them, once) and returns (descriptors of
        shape (n_boxes, n_features), atoms per box of shape (n_boxes,))."""
        calculator, species = self.calculator, self.species
        needed, rows = np.unique(index, return_inverse=True)
        self._cache = self._slab_coefficients(needed)
        _, slot, coefficients, n_neighbors = self._cache
        rows = slot[rows]
        width = coefficients[0].size
        values = coefficients.reshape(len(needed), width)  # a view: no copy
        if self._cupy is not None:
            cupy, card = self._cupy
            with card:
                out, counts = cuda.box_descriptors(calculator, cupy, species, centres, half,
                                                   points, self.numbers[index], rows, values,
                                                   n_neighbors)
            yield len(centres)
            return out, counts
        neighbors = n_neighbors.astype(np.float64)
        grid = tensor_grid(centres)
        if grid is None:
            sums, neighbor_sums, counts = self._box_sums(centres, half, points, index, rows,
                                                         values, neighbors)
        else:
            sums, neighbor_sums, counts = self._grid_sums(grid, half, points, index, rows,
                                                          values, neighbors)
        pair_sums = sums.reshape(len(centres), len(species), len(species),
                                 calculator.basis.n_max, -1)
        has_pair = neighbor_sums > 0
        spectra = calculator.basis.power_spectrum(pair_sums)
        n_pairs = has_pair.sum(axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            out = (spectra * has_pair[..., None]).sum(axis=(1, 2)) / n_pairs[:, None]
        yield len(centres)  # progress, as ExactBoxes.describe reports it
        return out, counts

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
        """The same sums for centres on a tensor grid (``tensor_grid``), by a difference
        array and prefix sums (``_kernels.corner_sums``): 8 additions per atom whatever the
        boxes' overlap. Equal to :meth:`_box_sums` to rounding (~1e-13 relative)."""
        ticks, where = grid
        species = self.species
        shape = tuple(len(t) + 1 for t in ticks)
        diff = np.zeros(shape + (len(species), values.shape[1]))
        diff_extra = np.zeros(shape + (len(species), len(species)))
        diff_counts = np.zeros(shape, dtype=np.int64)
        blocks = np.empty((len(points), 6), dtype=np.int64)
        _kernels.box_blocks(*ticks, half, points, blocks)
        for a, z in enumerate(species):
            mine = np.flatnonzero(self.numbers[index] == z)
            if len(mine):
                # points with equal blocks next to each other: summed before they scatter
                mine = mine[np.lexsort(blocks[mine].T[::-1])]
                _kernels.corner_sums(blocks[mine], rows[mine], values, neighbors,
                                     diff[..., a, :], diff_extra[..., a, :], diff_counts)
        for array in (diff, diff_extra, diff_counts):
            for axis in range(3):
                np.cumsum(array, axis=axis, out=array)
        return diff[where], diff_extra[where], diff_counts[where]

    def _slab_coefficients(self, needed):
        """(needed, slot, coefficients, neighbour counts) of the atoms ``needed`` (sorted
        indices): atom ``needed[k]`` has row ``slot[k]``. The rows of the previous slab come
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
        n_neighbors = np.empty(shape[:2], dtype=np.int64)
        if self._cupy is None:
            coefficients = np.empty(shape)
        else:
            cupy, card = self._cupy
            with card:
                coefficients = cupy.empty(shape)
        if n_hit:
            reused = old_slot[position[hit]]
            if self._cupy is None:
                # mode="clip" (the indices are valid): with the default "raise" numpy buffers
                # the whole output first (7.7 of 123 s of a 10^6-atom label)
                np.take(old_rows, reused, axis=0, out=coefficients[:n_hit], mode="clip")
            else:
                with card:
                    coefficients[:n_hit] = old_rows[cupy.asarray(reused)]
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
    if len(np.unique(flat)) != len(centres):
        return None
    return ticks, where


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
