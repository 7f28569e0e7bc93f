"""Local d_NN: fast mode's length unit, one per atom and neighbour species.

For an atom of species a and a neighbour species b, the local d_NN is the median, over the
atom and its ``n_local - 1`` nearest a-atoms (periodic images included), of their distances
to their nearest b-atom (Å).

The members are defined without reference to any search structure. They are the ``n_local``
a-points whose squared distances, computed as ``(dx*dx + dy*dy) + dz*dz`` in fp64 (no fused
multiply-adds), are smallest, and equal squared distances go by atom index. A pristine
crystal's shells are such ties. So the whole sample's k-d tree, a k-d tree of one spatial
domain's window and the card's cell-list search all find the same members, and the units
agree bit for bit.
"""

import warnings

import numba
import numpy as np

from .._validation import check_atoms
from ..device import check_device, cuda_module
from .cuda_search import NEAREST_K_MAX, local_units
from .dnn import k_nearest, nearest_by_species
from .neighbors import periodic_images, wrap_positions

# Atoms of the same species whose distances to their nearest neighbour define an atom's local
# d_NN in fast mode (the atom itself included).
N_LOCAL = 16
# A search reaches this much farther than the members' reach (relative), so that a point the
# exact squared distance puts inside is never cut off by the search's own rounding.
_SLACK = 1e-9
# Candidates of a second search (a pristine bcc lattice's ties settle at 32).
_WIDER = 32


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
    species = tuple(int(z) for z in np.unique(numbers_))
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
    for j, a in enumerate(np.unique(numbers)):
        spacing = nearest[numbers == a, j]
        finite = spacing[np.isfinite(spacing)]
        reach.append(3.0 * float(np.median(finite)) if len(finite) else 1.0)
    return reach


def units_of(wrapped, numbers, cell, pbc, nearest, reach, centres, n_local=N_LOCAL, *,
             device="cpu", window=False, images=None):
    """The local length units (Å, :func:`local_length_units`) of the atoms ``centres``
    (indices), from every atom's ``nearest`` (:func:`.dnn.nearest_by_species`) and the
    species' ``reach`` (:func:`unit_reach`): shape (len(centres), n_species).

    ``device`` runs the member search and the medians (:func:`.cuda_search.local_units` on
    a card, for ``n_local`` <= 32). ``window``: search only the points within reach of the
    centres' bounding box (the same units: for the centres of one spatial domain).
    ``images(reach, z)``, if given, returns ``periodic_images`` of the atoms of atomic
    number z (a worker's cache).
    """
    species = np.unique(numbers)
    units = np.full((len(centres), len(species)), np.nan)
    for i, a in enumerate(species):
        own = np.flatnonzero(numbers == a)
        mine = np.flatnonzero(numbers[centres] == a)
        if not len(mine):
            continue
        points, index = (images(reach[i], int(a)) if images is not None
                         else periodic_images(wrapped[own], cell, pbc, reach[i]))
        queries = wrapped[centres[mine]]
        if window:
            bound = reach[i] * (1.0 + _SLACK)
            inside = np.flatnonzero(np.all((points >= queries.min(axis=0) - bound)
                                           & (points <= queries.max(axis=0) + bound), axis=1))
            points, index = points[inside], index[inside]
        if device != "cpu" and n_local <= NEAREST_K_MAX:  # members and medians on the card
            cupy, card = cuda_module(device)
            with card:
                units[mine] = local_units(cupy, points, own[index], queries, n_local, reach[i],
                                          reach[i] * (1.0 + _SLACK), nearest)
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

    A k-d tree returns k + 4 candidates.
    Their exact squared distances settle a query when the farthest candidate lies clearly
    beyond the k-th (1e-12 relative) or the search found fewer. Unsettled queries (ties at
    the k-th member) are searched again with more candidates (32, then twice as many).
    """
    members = np.full((len(queries), k), -1, dtype=np.int64)
    rows = np.arange(len(queries))
    # k + 1 candidates: rattled samples 10 % faster, pristine grains 40 % slower (most
    # rows searched again)
    width = k + 4
    while len(rows) and len(points):
        width = min(width, len(points))
        near = k_nearest(points, queries[rows], width, reach * (1.0 + _SLACK), "cpu")[1]
        part = np.empty((len(rows), k), dtype=np.int64)
        settled = np.empty(len(rows), dtype=bool)
        _pick_members(points, owners, queries[rows], near, reach * reach,
                      width == len(points), part, settled)
        members[rows] = part
        rows = rows[~settled]
        width = _WIDER if width < _WIDER else 2 * width
    return members


@numba.njit(cache=True, nogil=True)
def _pick_members(points, owners, queries, near, reach2, complete, members, settled):
    """Per query, the members among its candidates ``near`` (point indices ascending in the
    search's distance, ``len(points)`` past the found): sorted by (exact squared distance,
    owner); ``settled`` where no point outside the candidates can be a member."""
    n_points, width, k = len(points), near.shape[1], members.shape[1]
    d2 = np.empty(width)
    who = np.empty(width, dtype=np.int64)
    for q in range(len(queries)):
        m, farthest = 0, -1.0
        for j in range(width):
            p = near[q, j]
            if p >= n_points:
                break
            dx = points[p, 0] - queries[q, 0]
            dy = points[p, 1] - queries[q, 1]
            dz = points[p, 2] - queries[q, 2]
            s = (dx * dx + dy * dy) + dz * dz
            farthest = max(farthest, s)
            if s > reach2:
                continue
            i = m  # insertion by (squared distance, owner)
            while i > 0 and (d2[i - 1] > s or (d2[i - 1] == s and who[i - 1] > owners[p])):
                d2[i] = d2[i - 1]
                who[i] = who[i - 1]
                i -= 1
            d2[i] = s
            who[i] = owners[p]
            m += 1
        take = min(m, k)
        for j in range(k):
            members[q, j] = who[j] if j < take else -1
        full = near[q, width - 1] < n_points and not complete
        last = d2[k - 1] if take == k else reach2
        settled[q] = not full or farthest * (1.0 - 1e-12) > last
