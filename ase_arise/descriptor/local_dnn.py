"""Local d_NN: fast mode's length unit, one per atom and neighbour species.

For an atom of species a and a neighbour species b, the local d_NN is the median, over the
atom and its ``n_local - 1`` nearest a-atoms (periodic images included), of their distances
to their nearest b-atom (Å).

The members are defined without reference to any search structure. They are the ``n_local``
a-points whose squared distances, computed as ``(dx*dx + dy*dy) + dz*dz`` in fp64 (no fused
multiply-adds), are smallest, and equal squared distances go by atom index. A pristine
crystal's shells are such ties. So a search of the whole sample, of one spatial domain's
window, on the host or on the card, finds the same members, and the units agree bit for bit.
"""

import warnings

import numba
import numpy as np

from .._counting import column_bounds, distinct
from .._validation import check_atoms
from ..device import check_device, cuda_module
from .cuda_search import NEAREST_K_MAX, local_units
from .dnn import nearest_by_species
from .neighbors import CellList, periodic_images, species_near, wrap_positions

# Atoms of the same species whose distances to their nearest neighbour define an atom's local
# d_NN in fast mode (the atom itself included).
N_LOCAL = 16
# A search reaches this much farther than the members' reach (relative), so that a point the
# exact squared distance puts inside is never cut off by the search's own rounding.
_SLACK = 1e-9
# The members' first search reaches this share of the reach (3 x the median nearest distance):
# 1.8 x it holds the 16 members of fcc, hcp, bcc and diamond (the 16th at 1.41-1.63 d_NN).
_FIRST = 0.6


def local_length_units(atoms, *, n_local=N_LOCAL, device="cpu"):
    """Each atom's local d_NN towards each species (Å): the fast-mode length unit.

    For an atom of species a and a neighbour species b: the median, over the atom and its
    ``n_local - 1`` nearest a-atoms (module docstring: ties by atom index), of their
    distances to their nearest b-atom. ``device`` ("cpu" or "cuda:N", checked) runs the
    nearest-neighbour searches.

    Returns
    -------
    species : tuple of int
        Atomic numbers, sorted (the columns).
    units : ndarray of shape (n_atoms, n_species), float64
        NaN where an atom has no b-atom at all.
    """
    positions, numbers_, cell, pbc = check_atoms(atoms)
    species = tuple(int(z) for z in distinct(numbers_))
    return species, sample_units(wrap_positions(positions, cell, pbc), numbers_, cell, pbc,
                                 n_local=n_local, device=check_device(device))


def sample_units(wrapped, numbers, cell, pbc, nearest=None, *, n_local=N_LOCAL, device="cpu"):
    """:func:`local_length_units` of every atom of a checked sample (wrapped positions, Å):
    shape (n_atoms, n_species). ``nearest`` (:func:`.dnn.nearest_by_species` of every atom),
    if known, spares the search; ``device`` is checked."""
    every = np.arange(len(wrapped))
    if nearest is None:
        nearest = nearest_by_species(wrapped, numbers, cell, pbc, every, device)
    return units_of(wrapped, numbers, cell, pbc, nearest, unit_reach(nearest, numbers), every,
                    n_local, device=device)


def unit_reach(nearest, numbers):
    """Per species a, the search reach of the local d_NN (Å): 3 x the median of the a-atoms'
    distances to their nearest a-atom (``nearest`` of every atom, from
    :func:`.dnn.nearest_by_species`); 1 Å where none has one."""
    reach = []
    for j, a in enumerate(distinct(numbers)):
        spacing = nearest[numbers == a, j]
        finite = spacing[np.isfinite(spacing)]
        reach.append(3.0 * float(np.median(finite)) if len(finite) else 1.0)
    return reach


def units_of(wrapped, numbers, cell, pbc, nearest, reach, centres, n_local=N_LOCAL, *,
             device="cpu", window=False):
    """The local length units (Å, :func:`local_length_units`) of the atoms ``centres``
    (indices), from every atom's ``nearest`` (:func:`.dnn.nearest_by_species`) and the
    species' ``reach`` (:func:`unit_reach`): shape (len(centres), n_species).

    ``device`` runs the member search and the medians (:func:`.cuda_search.local_units` on
    a card, for ``n_local`` <= 32). ``window``: search only the points within reach of the
    centres' bounding box (the same units: for the centres of one spatial domain); a function
    near(x_lo, x_hi) (Å) -> the atoms (ascending) that may have an image there: the same,
    without a pass over every atom.
    """
    species = distinct(numbers)
    units = np.full((len(centres), len(species)), np.nan)
    for i, a in enumerate(species):
        own = np.flatnonzero(numbers == a)
        mine = np.flatnonzero(numbers[centres] == a)
        if not len(mine):
            continue
        queries = wrapped[centres[mine]]
        bound = reach[i] * (1.0 + _SLACK)
        within = tuple(b + s * bound for b, s in zip(column_bounds(queries), (-1, 1))) \
            if window else None
        points, index = periodic_images(
            wrapped[own], cell, pbc, reach[i], within,
            species_near(window, numbers, a) if callable(window) else None)
        if device != "cpu" and n_local <= NEAREST_K_MAX:  # members and medians on the card
            cupy, card = cuda_module(device)
            with card:
                units[mine] = local_units(cupy, points, own[index], queries, n_local,
                                          [(r, r * (1.0 + _SLACK)) for r in
                                           (_FIRST * reach[i], reach[i])], nearest)
            continue
        members = local_members(points, own[index], queries, n_local, reach[i])
        found = members >= 0
        for j in range(len(species)):
            values = np.where(found, nearest[np.maximum(members, 0), j], np.nan)
            gaps = ~np.isfinite(values)
            if not gaps.any():  # the usual case: median is nanmedian's result, 4x faster
                units[mine, j] = np.median(values, axis=1)
                continue
            values[gaps] = np.nan
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows stay NaN
                units[mine, j] = np.nanmedian(values, axis=1)
    return units


def local_members(points, owners, queries, k, reach):
    """The atoms (``owners`` of ``points``) of the ``k`` points nearest each query within
    ``reach`` (Å), by the module's rule: shape (len(queries), k), -1 where fewer lie
    within reach.

    A pass over a cell list of the points (cells half the search wide; the search reaches
    ``_SLACK`` beyond its reach) keeps each query's k smallest (exact squared distance,
    owner), as the card's kernel does (:func:`.cuda_search.local_units`), so a pristine
    shell's tie at the k-th member needs no re-search. The first pass reaches ``_FIRST`` x
    ``reach``: k members within it are the k within ``reach``. Rows with fewer go again with
    the whole reach.
    """
    members = np.full((len(queries), k), -1, dtype=np.int64)
    rows = np.arange(len(queries))
    for near in (_FIRST * reach, reach):  # most rows settle within the first reach
        if not len(points) or not len(rows):
            break
        search = near * (1.0 + _SLACK)
        cells = CellList.build(points, owners, search / 2)
        part = np.empty((len(rows), k), dtype=np.int64)
        _cell_members(cells.points, cells.index, cells.cell_start, cells.origin, cells.step,
                      cells.dims, np.ascontiguousarray(queries[rows], dtype=np.float64),
                      search, near * near, part)
        members[rows] = part
        rows = rows[part[:, -1] < 0]  # fewer than k within this reach: the whole reach
    return members


@numba.njit(cache=True, nogil=True, parallel=True)
def _cell_members(points, owners, cell_start, origin, step, dims, queries, search, reach2,
                  members):
    """Per query (in parallel), the owners of the k = ``members.shape[1]`` points within
    ``reach2`` (squared Å) with the smallest (squared distance, owner), ascending, from the
    cells within ``search`` (Å); -1 past the found."""
    k = members.shape[1]
    for q in numba.prange(queries.shape[0]):
        best = np.empty(k)
        who = np.empty(k, dtype=np.int64)
        m = 0
        lo = np.empty(3, dtype=np.int64)
        hi = np.empty(3, dtype=np.int64)
        for d in range(3):
            top = dims[d] - 1
            lo[d] = min(max(int(np.floor((queries[q, d] - search - origin[d]) / step[d])), 0),
                        top)
            hi[d] = min(max(int(np.floor((queries[q, d] + search - origin[d]) / step[d])), 0),
                        top)
        for ix in range(lo[0], hi[0] + 1):
            for iy in range(lo[1], hi[1] + 1):
                for iz in range(lo[2], hi[2] + 1):
                    cell = (ix * dims[1] + iy) * dims[2] + iz
                    for p in range(cell_start[cell], cell_start[cell + 1]):
                        dx = points[p, 0] - queries[q, 0]
                        dy = points[p, 1] - queries[q, 1]
                        dz = points[p, 2] - queries[q, 2]
                        s = (dx * dx + dy * dy) + dz * dz
                        if s > reach2:
                            continue
                        o = owners[p]
                        if m == k and (s > best[k - 1] or (s == best[k - 1]
                                                           and o >= who[k - 1])):
                            continue
                        j = m
                        if m < k:
                            m += 1
                        else:
                            j = k - 1
                        while j > 0 and (best[j - 1] > s or (best[j - 1] == s
                                                             and who[j - 1] > o)):
                            best[j] = best[j - 1]
                            who[j] = who[j - 1]
                            j -= 1
                        best[j] = s
                        who[j] = o
        for j in range(k):
            members[q, j] = who[j] if j < m else -1
