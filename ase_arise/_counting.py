"""Counting sorts of small non-negative integer keys (cell, block and pair ids): the results
of ``np.argsort(keys, kind="stable")`` and ``np.unique(keys, return_inverse=True)`` in time
linear in the keys and their range, not n log n (numpy sorts int64 keys by timsort); and the
columns' bounds of (n, 3) coordinates, one column at a time."""

import numba
import numpy as np


def stable_order(keys, n_keys):
    """``np.argsort(keys, kind="stable")`` of int keys in [0, n_keys): int64 indices."""
    keys = np.ascontiguousarray(keys, dtype=np.int64)
    start = np.zeros(n_keys + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=n_keys), out=start[1:])
    order = np.empty(len(keys), dtype=np.int64)
    _place(keys, start[:-1].copy(), order)
    return order


@numba.njit(cache=True, nogil=True)
def _place(keys, cursor, order):
    for i in range(keys.shape[0]):
        order[cursor[keys[i]]] = i
        cursor[keys[i]] += 1


def dense_unique(keys, n_keys):
    """``np.unique(keys, return_inverse=True)`` of int keys in [0, n_keys): (the keys
    present, ascending; each key's rank among them), both int64."""
    keys = np.asarray(keys, dtype=np.int64).ravel()
    present = np.bincount(keys, minlength=n_keys) > 0
    rank = np.cumsum(present) - 1
    return np.flatnonzero(present), rank[keys]


def distinct(keys):
    """``np.unique(keys)`` of int keys (atomic numbers): one counting pass where they are
    non-negative and below 2**16, a sort otherwise."""
    keys = np.asarray(keys).ravel()
    if keys.size and keys.dtype.kind in "iu" and 0 <= keys.min() and keys.max() < 2 ** 16:
        return np.flatnonzero(np.bincount(keys)).astype(keys.dtype)
    return np.unique(keys)


def column_bounds(rows):
    """(minimum, maximum) of each column of ``rows`` (n >= 1, k): ``rows.min(axis=0)`` and
    ``rows.max(axis=0)``, one column at a time (numpy reduces the C-ordered rows of an (n, 3)
    array along axis 0 ~18x slower: 26 vs 1.4 ms for 10^6 x 3, measured)."""
    rows = np.asarray(rows)
    return (np.array([rows[:, k].min() for k in range(rows.shape[1])]),
            np.array([rows[:, k].max() for k in range(rows.shape[1])]))
