"""Numba kernels of :mod:`.clusters`: many small open structures, concatenated, each searched
and binned on its own. Plain arrays in, plain arrays out; no validation.

Structure k owns atoms ``starts[k]:starts[k + 1]`` of the concatenation; ``rank`` is an
atom's species index among its structure's species (sorted atomic numbers).
"""

import math

import numba
import numpy as np

from .dnn import OVERLAP_FRACTION, SHELL, _histogram_rule, _robust_rule


@numba.njit(cache=True, nogil=True, parallel=True)
def nearest_by_rank(positions, rank, starts, out):
    """Each atom's distance (Å) to the nearest atom of each species of its structure, written
    to ``out`` (n_atoms, max species): as :func:`.dnn.nearest_distances` gives it (the two
    nearest points, the atom itself included, in scipy's k-d tree arithmetic: the nearest at
    non-zero distance of those two, else inf), from a sweep along x."""
    for k in numba.prange(len(starts) - 1):
        first, n = starts[k], starts[k + 1] - starts[k]
        x = positions[first:first + n, 0]
        order = np.argsort(x)
        n_species = 0
        for i in range(n):
            n_species = max(n_species, rank[first + i] + 1)
        d0 = np.empty(n_species)
        d1 = np.empty(n_species)
        for ii in range(n):
            i = first + order[ii]
            d0[:] = np.inf
            d1[:] = np.inf
            bound = np.inf
            for step in (1, -1):
                jj = ii if step == 1 else ii - 1
                while 0 <= jj < n:
                    j = first + order[jj]
                    dx = positions[i, 0] - positions[j, 0]
                    if dx * dx > bound:
                        break
                    dy = positions[i, 1] - positions[j, 1]
                    dz = positions[i, 2] - positions[j, 2]
                    d = (dx * dx + dy * dy) + dz * dz
                    s = rank[j]
                    if d < d0[s]:
                        d1[s] = d0[s]
                        d0[s] = d
                        bound = _bound(d0, d1)
                    elif d < d1[s]:
                        d1[s] = d
                        bound = _bound(d0, d1)
                    jj += step
            for s in range(out.shape[1]):
                near = (d0[s] if d0[s] > 0.0 else d1[s]) if s < n_species else np.inf
                out[i, s] = math.sqrt(near) if near > 0.0 else np.inf


@numba.njit(cache=True, nogil=True)
def _bound(d0, d1):
    """The squared distance past which no point changes any species' answer."""
    worst = 0.0
    for s in range(len(d0)):
        worst = max(worst, d0[s] if d0[s] > 0.0 else d1[s])
    return worst


@numba.njit(cache=True, nogil=True, parallel=True)
def pair_rules(nearest, members, member_start, n_species, bins, dnn, share, suspect):
    """Per structure k and species pair (a, b): d_NN (Å, :func:`.dnn.dnn_from_distances`), the
    shell share (:func:`.dnn.shell_share`) and whether an a-atom overlaps a b-atom (closer than
    ``OVERLAP_FRACTION`` x :func:`.dnn.robust_dnn`), from the a-atoms' distances to their
    nearest b-atom. ``members[member_start[k * S + a]:member_start[k * S + a + 1]]`` are the
    a-atoms of k (S = ``dnn.shape[1]``); left as they are (NaN, False) where a has no finite
    distance."""
    width = dnn.shape[1]
    for k in numba.prange(len(n_species)):
        for a in range(n_species[k]):
            own = members[member_start[k * width + a]:member_start[k * width + a + 1]]
            for b in range(n_species[k]):
                distances = nearest[own, b]
                finite = distances[np.isfinite(distances)]
                if not len(finite):
                    continue
                d = _histogram_rule(finite, bins)
                inside = 0
                for r in finite:
                    if r >= SHELL[0] * d and r <= SHELL[1] * d:
                        inside += 1
                dnn[k, a, b], share[k, a, b] = d, inside / len(finite)
                suspect[k, a, b] = np.any(finite < OVERLAP_FRACTION * _robust_rule(finite, 100))


@numba.njit(cache=True, nogil=True, parallel=True)
def fill_cells(positions, members, first, last, point_base, cell_base, lower, step, dims,
               points, index, cell_start):
    """Bin grid g's points ``positions[members[first[g]:last[g]]]`` (labels 0, 1, ...)
    as :meth:`.neighbors.CellList.build` does (a stable order by flat cell), into the stacked
    ``points``, ``index`` (from ``point_base[g]``) and ``cell_start`` (from ``cell_base[g]``,
    offset by ``point_base[g]``)."""
    for g in numba.prange(len(point_base)):
        n = last[g] - first[g]
        n_cells = dims[g, 0] * dims[g, 1] * dims[g, 2]
        flat = np.empty(n, dtype=np.int64)
        counts = np.zeros(n_cells + 1, dtype=np.int64)
        for p in range(n):
            atom = members[first[g] + p]
            c = np.empty(3, dtype=np.int64)
            for d in range(3):
                c[d] = min(max(np.int64((positions[atom, d] - lower[g, d]) / step[g, d]), 0),
                           dims[g, d] - 1)
            flat[p] = (c[0] * dims[g, 1] + c[1]) * dims[g, 2] + c[2]
            counts[flat[p] + 1] += 1
        base = cell_base[g]
        for c in range(n_cells + 1):
            if c:
                counts[c] += counts[c - 1]
            cell_start[base + c] = point_base[g] + counts[c]
        for p in range(n):
            slot = point_base[g] + counts[flat[p]]
            counts[flat[p]] += 1
            points[slot] = positions[members[first[g] + p]]
            index[slot] = p
