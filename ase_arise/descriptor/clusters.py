"""The whole-structure descriptor of many small open structures, planned together.

:mod:`.averaged` plans one structure at a time (nearest distances, d_NN, neighbour cells:
~1.4 ms of Python and k-d trees each, more than its share of the kernel on a GPU). Open
structures (clusters, molecules, exact mode's boxes) of at most ``MAX_ATOMS`` atoms are
instead concatenated, ``BATCH`` at a time, and planned in three numba calls over all of them
(:mod:`._cluster_kernels`): every atom's nearest atom of each species (a sweep along x in the
k-d tree's arithmetic), the species pairs' d_NN and shell shares, and the neighbour cells of
every (structure, species) as :class:`.neighbors.CellStack` rows. The kernel then takes whole
species-pair tasks, summed in the same segments: the descriptors and shell shares of
:mod:`.averaged`, bit for bit.
"""

import warnings

import numpy as np
from ase import Atoms

from .._validation import check_atoms
from ..errors import InputError
from ..limits import check_species, current_limits
from . import _cluster_kernels as kernels
from .dnn import warn_overlaps
from .neighbors import CELLS_PER_CUTOFF, CellStack, check_pairs, grid_shape
from .pair_sums import SEGMENT, nothing_to_describe, pair_means, run_sums, warn_isolated

# Open structures of at most this many atoms are planned together (the nearest-distance sweep
# grows as n^2 per structure at worst; a k-d tree pays off past that).
MAX_ATOMS = 2048
# Structures planned together.
BATCH = 1024


def batched(atoms, chunk_size):
    """Whether ``atoms`` is planned with others here: an open Atoms of 1 to
    min(``MAX_ATOMS``, ``chunk_size``) atoms (each task then fits one kernel call)."""
    return isinstance(atoms, Atoms) and 0 < len(atoms) <= min(MAX_ATOMS, chunk_size) \
        and not atoms.pbc.any()


def describe_clusters(calculator, structures, indices, X, shells, many, stacklevel,
                      undescribable):
    """Rows ``indices`` of ``X`` and ``shells`` (see :func:`.averaged.describe_structures`,
    whose other parameters these are) for the open ``structures`` (:func:`batched`)."""
    batch = _Batch(calculator, _checked(structures, indices, X, shells, many, undescribable))
    crowded = batch.n_species > current_limits().max_species
    if crowded.any():  # check_species' error, or NaN rows
        for k in np.flatnonzero(crowded):
            if undescribable == "raise":
                check_species(batch.arrays[k][2])
            X[batch.index[k]], shells[batch.index[k]] = np.nan, np.nan
        batch = _Batch(calculator, [a for a, c in zip(batch.arrays, crowded) if not c])
    if not len(batch.index):
        return
    batch.plan()
    for k in np.flatnonzero(batch.suspect):  # the nearest distances are known
        _, positions, numbers, cell, pbc = batch.arrays[k]
        warn_overlaps(positions, numbers, cell, pbc, stacklevel=3 + stacklevel,
                      by_species=batch.nearest[batch.starts[k]:batch.starts[k + 1],
                                               :batch.n_species[k]])
    shells[batch.index] = batch.shells
    totals, n_neighbors = batch.sums()
    _finish(calculator, batch, totals, n_neighbors, X, many, 3 + stacklevel, undescribable)


def _checked(structures, indices, X, shells, many, undescribable):
    """(index, positions, numbers, cell, pbc) of each structure that passes
    :func:`.._validation.check_atoms` (all of them, when their positions and cells are
    finite: the only checks of an open Atoms); the others raise, or get NaN rows."""
    positions = [np.asarray(a.positions, dtype=np.float64) for a in structures]
    cells = np.array([a.cell.array for a in structures], dtype=np.float64)
    if np.isfinite(cells).all() and np.isfinite(np.concatenate(positions)).all():
        return [(k, p, np.asarray(a.numbers, dtype=np.int64), c, np.zeros(3, dtype=bool))
                for k, p, a, c in zip(indices, positions, structures, cells)]
    arrays = []
    for k, atoms in zip(indices, structures):
        try:
            arrays.append((k,) + check_atoms(atoms, name=f"structure {k}" if many else "atoms"))
        except InputError:
            if undescribable == "raise":
                raise
            X[k], shells[k] = np.nan, np.nan
    return arrays


class _Batch:
    """The plan of open structures: their atoms concatenated, species ranks (on creation),
    nearest distances, pair d_NN and shell shares, tasks (structure, a, b) and stacked cells
    (:meth:`plan`). ``arrays``: (index, positions, numbers, cell, pbc) of each."""

    def __init__(self, calculator, arrays):
        self.calculator, self.arrays = calculator, arrays
        self.index = np.array([a[0] for a in arrays], dtype=np.int64)
        sizes = np.array([len(a[2]) for a in arrays], dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(sizes)])
        if not arrays:
            self.n_species = np.zeros(0, dtype=np.int64)
            return
        self.positions = np.concatenate([a[1] for a in arrays])
        numbers = np.concatenate([a[2] for a in arrays])
        owner = np.repeat(np.arange(len(arrays)), sizes)
        # species of each structure, sorted, and each atom's rank among them
        base = int(numbers.max()) + 1
        species_keys, rank = np.unique(owner * base + numbers, return_inverse=True)
        first = np.searchsorted(species_keys // base, np.arange(len(arrays)))
        self.rank = rank - first[owner]
        self.n_species = np.diff(np.append(first, len(species_keys)))
        self.species, self.species_first = species_keys % base, first  # k's from first[k]
        self.owner = owner

    def plan(self):
        """Nearest distances, pair rules, tasks and cells."""
        width = int(self.n_species.max())
        self.nearest = np.empty((len(self.positions), width))
        kernels.nearest_by_rank(self.positions, self.rank, self.starts, self.nearest)
        group = self.owner * width + self.rank
        self.members = np.argsort(group, kind="stable")
        self.member_start = np.concatenate([[0], np.cumsum(np.bincount(
            group, minlength=len(self.index) * width))])
        shape = (len(self.index), width, width)
        dnn, share, suspect = np.full(shape, np.nan), np.full(shape, np.nan), np.zeros(
            shape, dtype=bool)
        kernels.pair_rules(self.nearest, self.members, self.member_start, self.n_species,
                           self.calculator.bins, dnn, share, suspect)
        self.dnn, self.suspect = dnn, suspect.any(axis=(1, 2))
        self.shells = _pair_mean_shares(share, self.n_species)
        self._plan_tasks(width)

    def pair(self, k, a, b):
        """Structure k's species pair (a, b) (ranks) as atomic numbers."""
        first = self.species_first[k]
        return int(self.species[first + a]), int(self.species[first + b])

    def _plan_tasks(self, width):
        """Tasks (structure, a, b) of the pairs with a d_NN, b-major per structure as
        :func:`.averaged._plan` orders them, their centres, and the cells of every
        (structure, b) that some a sees."""
        calculator = self.calculator
        unit = self.dnn * calculator.extrinsic_scaling
        k, b, a = np.nonzero(np.isfinite(unit.transpose(0, 2, 1)))
        self.tasks = (k, a, b)
        count = np.diff(self.member_start).reshape(-1, width)
        # the grids: (structure, b) pairs that some a sees, in (structure, b) order
        seen = np.isfinite(unit).any(axis=1)
        grid_k, grid_b = np.nonzero(seen)
        grid_id = np.full(seen.shape, -1, dtype=np.int64)
        grid_id[grid_k, grid_b] = np.arange(len(grid_k))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns are not grids
            max_unit = np.nanmax(unit, axis=1)[grid_k, grid_b]
        reach = calculator.r_cut * max_unit
        first = self.member_start[grid_k * width + grid_b]
        last = self.member_start[grid_k * width + grid_b + 1]
        # the grids' points are runs of the member order, not always adjacent: reduce over
        # [first, last) pairs (a padding row keeps every bound inside the array)
        ordered = np.vstack([self.positions[self.members], np.zeros((1, 3))])
        runs = np.column_stack([first, last]).ravel()
        lower = np.minimum.reduceat(ordered, runs, axis=0)[::2]
        upper = np.maximum.reduceat(ordered, runs, axis=0)[::2]
        n_points = last - first
        seen_by = np.where(np.isfinite(unit), count[:, :, None], 0).sum(axis=1)
        volume = np.prod(np.maximum(upper - lower, 1.0), axis=1)  # .dnn.sample_volume's
        if len(grid_k):
            check_pairs(seen_by[grid_k, grid_b], n_points / volume, reach, calculator.r_cut)
        dims, step = grid_shape(lower, upper, n_points, reach / CELLS_PER_CUTOFF)
        point_base = np.concatenate([[0], np.cumsum(n_points)])
        cell_base = np.concatenate([[0], np.cumsum(np.prod(dims, axis=1) + 1)])
        points = np.empty((point_base[-1], 3))
        index = np.empty(point_base[-1], dtype=np.int64)
        cell_start = np.empty(cell_base[-1], dtype=np.int64)
        kernels.fill_cells(self.positions, self.members, first, last, point_base[:-1],
                           cell_base[:-1], lower, step, dims, points, index, cell_start)
        self.cells = CellStack(points, index, cell_start, lower, step, dims, cell_base[:-1])
        # each task's centres: the a-atoms of its structure, in order
        self.task_size = count[k, a]
        self.task_start = np.concatenate([[0], np.cumsum(self.task_size)])
        within = np.arange(self.task_start[-1]) - np.repeat(self.task_start[:-1],
                                                            self.task_size)
        self.centre_atom = self.members[np.repeat(self.member_start[k * width + a],
                                                  self.task_size) + within]
        self.inv = np.repeat(1.0 / unit[k, a, b], self.task_size)
        self.grid_of = np.repeat(grid_id[k, b], self.task_size)
        self.self_index = np.where(np.repeat(a == b, self.task_size), within, -1)

    def sums(self):
        """Per task, the coefficient sum of its centres (n_tasks, n_max, (l_max + 1)^2), and
        every centre's neighbour count: kernel calls of whole tasks, at most ``chunk_size``
        centres each, summed in :data:`.pair_sums.SEGMENT`-centre segments from each task's
        start (as :func:`.averaged._run` sums them)."""
        calculator, starts = self.calculator, self.task_start
        basis = calculator.basis
        totals = np.empty((len(self.task_size), basis.n_max, (basis.l_max + 1) ** 2))
        n_neighbors = np.empty(starts[-1], dtype=np.int64)
        n_segments = -(-self.task_size // SEGMENT)
        first_segment = np.concatenate([[0], np.cumsum(n_segments)])
        segment = np.repeat(starts[:-1], n_segments) + SEGMENT * (
            np.arange(first_segment[-1]) - np.repeat(first_segment[:-1], n_segments))
        task = 0
        while task < len(self.task_size):
            last = int(np.searchsorted(starts, starts[task] + calculator.chunk_size,
                                       side="right")) - 1
            last = max(last, task + 1)  # whole tasks, each at most chunk_size centres
            c0, c1 = starts[task], starts[last]
            bounds = np.append(segment[first_segment[task]:first_segment[last]], c1) - c0
            rows, n_neighbors[c0:c1] = calculator.center_coefficients(
                self.positions[self.centre_atom[c0:c1]], self.inv[c0:c1], self.cells,
                grid_of=self.grid_of[c0:c1], self_index=self.self_index[c0:c1],
                segments=bounds)
            totals[task:last] = run_sums(rows, first_segment[task:last] - first_segment[task])
            task = last
        return totals, n_neighbors


def _pair_mean_shares(share, n_species):
    """Each structure's shell share: the mean over its species pairs (a-major) of those with
    one (NaN for none), as one structure's ``np.nanmean`` takes it."""
    out = np.full(len(n_species), np.nan)
    for s in np.unique(n_species):
        mine = np.flatnonzero(n_species == s)
        pairs = share[mine, :s, :s].reshape(len(mine), s * s)
        some = np.isfinite(pairs).any(axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: NaN
            out[mine] = np.where(some, np.nanmean(pairs, axis=1), np.nan)
    return out


def _finish(calculator, batch, totals, n_neighbors, X, many, stacklevel, undescribable):
    """The descriptors (mean over the pairs with neighbours of their power spectra), or
    an InputError / NaN row for a structure without any; IsolatedAtomsWarning as
    :func:`.averaged._finish` gives it."""
    k, a, b = batch.tasks
    reached = n_neighbors > 0
    has_pair = np.maximum.reduceat(reached, batch.task_start[:-1]) if len(reached) else \
        np.zeros(0, dtype=bool)
    has_neighbor = np.zeros(len(batch.positions), dtype=bool)
    has_neighbor[batch.centre_atom[reached]] = True
    # structures to look at one by one: atoms without a neighbour, pairs without one
    n_pairs = batch.n_species ** 2
    pairs_with = np.bincount(k[has_pair], minlength=len(batch.index))
    lonely = np.logical_or.reduceat(~has_neighbor, batch.starts[:-1])
    told = np.flatnonzero(lonely | (pairs_with < n_pairs))
    good = pairs_with > 0
    for s in told:
        where = f"Structure {batch.index[s]}: " if many else ""
        if not good[s] and undescribable == "raise":
            raise nothing_to_describe(where, batch.starts[s + 1] - batch.starts[s],
                                      calculator.r_cut)
        if not good[s]:
            continue
        empty = [batch.pair(s, i, j) for i in range(batch.n_species[s])
                 for j in range(batch.n_species[s]) if not np.isfinite(batch.dnn[s, i, j])]
        mine = np.flatnonzero((k == s) & ~has_pair)
        empty += [batch.pair(s, a[t], b[t]) for t in mine]
        warn_isolated(has_neighbor[batch.starts[s]:batch.starts[s + 1]], empty, where,
                      stacklevel + 1)
    X[batch.index[~good]] = np.nan
    if good.any():  # tasks are in structure order
        X[batch.index[good]] = pair_means(calculator.basis, totals[has_pair], pairs_with[good])
