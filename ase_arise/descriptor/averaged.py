"""The whole-structure ARISE descriptor of many structures, batched.

Every ordered species pair (a, b) of every structure is one *task*: its a-centres, scaled by the
pair's d_NN, see the b-atoms. Tasks of many structures (pieces of at most ``chunk_size``
centres) share one kernel call over their stacked cell lists, and the per-centre rows are summed
per task; a same-species task expands each pair of atoms once (about half the work; see
:meth:`.soap.SOAPBasis.center_coefficients`). A structure's descriptor is finished as soon as
all its tasks are summed, so memory stays at one batch of rows plus the open structures.
"""

from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
from tqdm.auto import tqdm

from .._validation import check_atoms
from ..errors import InputError
from ..limits import check_species
from .clusters import BATCH, batched, describe_clusters
from .neighbors import CellStack, wrap_positions
from .pair_sums import SEGMENT, nothing_to_describe, pair_means, run_sums, warn_isolated


@dataclass
class _Task:
    """Centres of species a of one structure seeing its b-atoms (unit in Å)."""

    pair: tuple
    members: np.ndarray  # the a-atoms' indices in the structure
    centres: np.ndarray
    unit: float
    cells: object  # CellList of the b-atoms
    same: bool  # a == b: each pair once
    total: np.ndarray = None
    n_neighbors: np.ndarray = None
    left: int = 0  # centres not yet summed


@dataclass
class _Structure:
    index: int
    n_atoms: int
    tasks: list = field(default_factory=list)
    empty_pairs: list = field(default_factory=list)  # pairs without any neighbour


def describe_structures(calculator, structures, *, progress=False, desc="ARISE descriptors",
                        stacklevel=2, undescribable="raise"):
    """Descriptors and shell shares of ``structures`` (see :meth:`ARISEDescriptor.describe`).

    Parameters
    ----------
    calculator : ARISEDescriptor
    structures : sequence of ase.Atoms
    progress : bool
        tqdm progress bar over the structures, labelled ``desc``.
    stacklevel : int
        Warnings point at this frame above this function (1: its caller, 2: their caller).
    undescribable : {"raise", "nan"}
        A structure with nothing to describe (no neighbour pair, or an InputError of its
        own): raise, or give it a row of NaN (SPM's exact mode: boxes at a sample's rim).

    Returns
    -------
    X : ndarray of shape (n_structures, n_features), float64
    shells : ndarray of shape (n_structures,), float64
    """
    many = len(structures) > 1
    X = np.empty((len(structures), calculator.n_features))
    shells = np.empty(len(structures))
    chunk = calculator.chunk_size
    queue, queued, open_, pending = [], 0, [], []
    bar = tqdm(total=len(structures), disable=not progress, desc=desc, unit="structure")
    for k, atoms in enumerate(structures):
        if batched(atoms, chunk):  # small open structures: planned together
            pending.append(k)
            if len(pending) == BATCH:
                describe_clusters(calculator, [structures[i] for i in pending], pending, X,
                                  shells, many, stacklevel, undescribable)
                bar.update(len(pending))
                pending = []
            continue
        bar.update(1)
        try:
            structure, shells[k] = _plan(calculator, atoms, k, many, stacklevel)
        except InputError:
            if undescribable == "raise":
                raise
            X[k], shells[k] = np.nan, np.nan
            continue
        open_.append(structure)
        for task in structure.tasks:
            for start in range(0, len(task.centres), chunk):
                stop = min(start + chunk, len(task.centres))
                queue.append((task, start, stop))
                queued += stop - start
                if queued >= chunk:
                    _run(calculator, queue)
                    queue, queued = [], 0
                    open_ = _finish(calculator, open_, X, many, stacklevel, undescribable)
    if pending:
        describe_clusters(calculator, [structures[i] for i in pending], pending, X, shells,
                          many, stacklevel, undescribable)
        bar.update(len(pending))
    bar.close()
    _run(calculator, queue)
    _finish(calculator, open_, X, many, stacklevel, undescribable)
    return X, shells


def _plan(calculator, atoms, k, many, stacklevel):
    """One structure's tasks, and its shell share."""
    positions, numbers_, cell, pbc = check_atoms(atoms, name=f"structure {k}" if many
                                                 else "atoms")
    wrapped = wrap_positions(positions, cell, pbc)
    species = check_species(numbers_)
    dnn, share = calculator._pair_dnn(wrapped, numbers_, cell, pbc, overlaps=True,
                                      stacklevel=4 + stacklevel)
    members = {z: np.flatnonzero(numbers_ == z) for z in species}
    structure = _Structure(k, len(wrapped))
    structure.empty_pairs = [pair for pair in dnn if not np.isfinite(dnn[pair])]
    unit = {pair: d * calculator.extrinsic_scaling for pair, d in dnn.items() if np.isfinite(d)}
    for b in species:
        seen_by = [a for a in species if (a, b) in unit]
        if not seen_by:
            continue
        cells = calculator.neighbor_cells(wrapped[members[b]], cell, pbc,
                                          max(unit[a, b] for a in seen_by),
                                          sum(len(members[a]) for a in seen_by))
        for a in seen_by:
            structure.tasks.append(_Task((a, b), members[a], wrapped[members[a]], unit[a, b],
                                         cells, a == b, left=len(members[a])))
    return structure, share


def _run(calculator, queue):
    """Sum the rows of the queued task pieces (one kernel call) into their tasks."""
    if not queue:
        return
    lists, grid_of = [], {}
    for task, _, _ in queue:
        if id(task.cells) not in grid_of:
            grid_of[id(task.cells)] = len(lists)
            lists.append(task.cells)
    sizes = [stop - start for _, start, stop in queue]
    centres = np.concatenate([task.centres[start:stop] for task, start, stop in queue])
    inv = np.repeat([1.0 / task.unit for task, _, _ in queue], sizes)
    grids = np.repeat([grid_of[id(task.cells)] for task, _, _ in queue], sizes)
    own = np.concatenate([np.arange(start, stop) if task.same else np.full(stop - start, -1)
                          for task, start, stop in queue])
    starts = np.concatenate([[0], np.cumsum(sizes)])
    # each piece in segments of at most SEGMENT centres: the threads' work units
    segments = np.unique(np.concatenate(
        [np.arange(a, b, SEGMENT) for a, b in pairwise(starts)] + [starts[-1:]]))
    sums, n_neighbors = calculator.center_coefficients(
        centres, inv, CellStack.of(lists), grid_of=grids, self_index=own, segments=segments)
    sums = run_sums(sums, np.searchsorted(segments, starts[:-1]))
    for (task, start, stop), total, first in zip(queue, sums, starts):
        if task.total is None:
            task.total = np.zeros_like(total)
            task.n_neighbors = np.empty(len(task.centres), dtype=np.int64)
        task.total += total
        task.n_neighbors[start:stop] = n_neighbors[first:first + stop - start]
        task.left -= stop - start


def _finish(calculator, open_, X, many, stacklevel, undescribable):
    """Descriptors of the open structures whose tasks are all summed; the others stay open."""
    still, done, pair_sums = [], [], []
    for structure in open_:
        if any(task.left for task in structure.tasks):
            still.append(structure)
            continue
        has_neighbor = np.zeros(structure.n_atoms, dtype=bool)
        sums = []
        for task in structure.tasks:
            has_neighbor[task.members[task.n_neighbors > 0]] = True
            if task.n_neighbors.any():
                sums.append(task.total)
            else:
                structure.empty_pairs.append(task.pair)
        where = f"Structure {structure.index}: " if many else ""
        if not sums and undescribable == "nan":
            X[structure.index] = np.nan
            continue
        if not sums:
            raise nothing_to_describe(where, structure.n_atoms, calculator.r_cut)
        warn_isolated(has_neighbor, structure.empty_pairs, where, 3 + stacklevel)
        done.append(structure.index)
        pair_sums.append(sums)
    if done:
        X[done] = pair_means(calculator.basis, np.concatenate(pair_sums),
                             [len(g) for g in pair_sums])
    return still
