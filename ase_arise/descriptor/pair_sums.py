"""From the species pairs' coefficient sums to a structure's descriptor, shared by the
per-structure plan (:mod:`.averaged`) and the batched one (:mod:`.clusters`)."""

import warnings

import numba
import numpy as np

from ..errors import InputError, IsolatedAtomsWarning

# Centres per work unit of the kernel's threads (their rows are summed there).
SEGMENT = 64


def run_sums(rows, first):
    """Sums of ``rows`` (n, ...) over each run from ``first[t]`` to the next (the last: to the
    end), in row order from 0.0: the values of ``np.add.reduceat(rows, first, axis=0)`` (a
    zero's sign aside), whose axis-0 loop took 0.44 s of 2.4 s of classify on a GPU."""
    rows = np.ascontiguousarray(rows, dtype=np.float64)
    out = np.empty((len(first),) + rows.shape[1:])
    _add_runs(rows.reshape(len(rows), -1), np.asarray(first, dtype=np.int64),
              out.reshape(len(first), -1))
    return out


@numba.njit(cache=True, nogil=True, parallel=True)
def _add_runs(rows, first, out):
    for t in numba.prange(len(first)):
        stop = first[t + 1] if t + 1 < len(first) else len(rows)
        out[t] = 0.0
        for r in range(first[t], stop):
            for j in range(rows.shape[1]):
                out[t, j] += rows[r, j]


def pair_means(basis, sums, sizes):
    """The descriptor of each group of coefficient sums: the mean over the group of their
    normalised power spectra. ``sums`` (n, n_max, (l_max + 1)**2) are the groups' sums one
    group after another (one per species pair with neighbours), ``sizes`` their numbers. One
    kernel call for all groups (its threads cost ~1 ms to start, more than one structure's
    spectra), means taken per group size; each row as if alone, bit for bit.

    Returns ndarray of shape (n_groups, n_features)."""
    sizes = np.asarray(sizes, dtype=np.int64)
    spectra = basis.power_spectrum(np.asarray(sums))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    out = np.empty((len(sizes), basis.n_features))
    for size in np.unique(sizes):
        mine = np.flatnonzero(sizes == size)
        rows = (starts[mine][:, None] + np.arange(size)).ravel()
        out[mine] = spectra[rows].reshape(len(mine), size, -1).mean(axis=1)
    return out


def warn_isolated(has_neighbor, empty_pairs, where, stacklevel):
    """IsolatedAtomsWarning for the atoms of a structure without a neighbour (``has_neighbor``
    False) and for its species pairs (atomic numbers) without one; ``where`` opens the text."""
    if not has_neighbor.all():
        lonely = np.flatnonzero(~has_neighbor)
        warnings.warn(
            f"{where}{len(lonely)} of {len(has_neighbor)} atoms have no neighbour within the "
            f"cutoff (indices {lonely[:10].tolist()}{'...' if len(lonely) > 10 else ''}); they "
            "contribute nothing to the descriptor.", IsolatedAtomsWarning,
            stacklevel=stacklevel)
    if empty_pairs:
        pairs = sorted(empty_pairs)
        warnings.warn(
            f"{where}Species pairs {pairs} have no neighbour within the cutoff and are left out "
            "of the pair average.", IsolatedAtomsWarning, stacklevel=stacklevel)


def nothing_to_describe(where, n_atoms, r_cut):
    """The InputError of a structure of ``n_atoms`` atoms none of which has a neighbour
    within ``r_cut`` (units of d_NN); ``where`` opens the text."""
    return InputError(
        f"{where}No atom of this {n_atoms}-atom structure has a neighbour within r_cut = "
        f"{r_cut} d_NN: there is nothing to describe. Pass a structure with at least two atoms "
        "of a species, or a periodic cell.")
