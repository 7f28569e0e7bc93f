"""Box sums on a tensor grid as fixed-order sums over pairs of box ranges.

Along each axis, a point's *pair* is the range [i0, i1) of box indices (of the whole scan's
grid) whose boxes contain it (:func:`grid_pairs`). A box's sum adds, over its x-pairs
(ascending), the sums over its y-pairs of the sums over its z-pairs of block sums, and each
block adds its points in input order. No partition of the grid into slabs or spatial domains
changes that order. :func:`.boxes.grid_planes` (numba, the CPU) and :func:`grid_box_sums`
(its sums by array operations only, so that CuPy runs them on a card) follow it term by
term, so the two give the same bits: they only add, and no fused multiply-add can enter.
"""

import numpy as np

from .._counting import dense_unique
from . import _kernels


def grid_pairs(ticks, half, points, x_range, y_range):
    """The points (Å) whose boxes on the tensor grid ``ticks`` (Å) meet x indices
    ``x_range`` and y indices ``y_range`` ((start, stop)), and their pairs.

    Returns (inside, pair_of, pairs): a bool mask of the points, and per axis each inside
    point's pair id and the pairs (rows (i0, i1), ascending)."""
    keys = np.empty((len(points), 3), dtype=np.int64)
    inside = np.empty(len(points), dtype=bool)
    _kernels.pair_keys(*ticks, half, np.ascontiguousarray(points, dtype=np.float64),
                       np.asarray(x_range, dtype=np.int64), np.asarray(y_range, dtype=np.int64),
                       keys, inside)
    keys = keys[inside]
    pair_of, pairs = [], []
    for d, t in enumerate(ticks):
        unique, inverse = dense_unique(keys[:, d], (len(t) + 1) ** 2)
        pair_of.append(inverse)
        pairs.append(np.stack([unique // (len(t) + 1), unique % (len(t) + 1)], axis=1))
    return inside, pair_of, pairs


def pairs_of_boxes(pairs, n_boxes):
    """(start, ids): the pairs (rows (i0, i1) of ``pairs``, sorted) that contain box i are
    ids[start[i]:start[i + 1]], ascending."""
    widths = pairs[:, 1] - pairs[:, 0]
    ids = np.repeat(np.arange(len(pairs)), widths)
    boxes = np.repeat(pairs[:, 0], widths) + np.arange(int(widths.sum())) - np.repeat(
        np.cumsum(widths) - widths, widths)
    order = np.lexsort((ids, boxes))
    start = np.zeros(n_boxes + 1, dtype=np.int64)
    np.cumsum(np.bincount(boxes, minlength=n_boxes), out=start[1:])
    return start, ids[order].astype(np.int64)


def _padded(lists, first, count, pad):
    """The pair ids of boxes first..first+count-1 (``pairs_of_boxes``'s lists) as rows of
    equal length, ``pad`` (a zero row's id) after each box's own."""
    start, ids = lists
    lengths = np.diff(start[first:first + count + 1])
    out = np.full((count, int(lengths.max()) if count else 0), pad, dtype=np.int64)
    for k in range(out.shape[1]):
        has = lengths > k
        out[has, k] = ids[start[first:first + count][has] + k]
    return out


# Numbers in one group's (y, z) sums along z of grid_box_sums (float64: 1 GB).
_GROUP_VALUES = 1 << 27


def grid_box_sums(xp, ticks, half, points, point_species, rows, values, extra, species,
                  x_range, y_range):
    """Box sums of the boxes ``x_range`` x ``y_range`` x all z of the tensor grid ``ticks``
    (Å) in the module's order, with array operations of ``xp`` (numpy or CuPy).

    ``points`` (Å, host) carry their species and the rows of ``values`` (an ``xp`` array
    (n_rows, n_values)) and ``extra`` ((n_rows, n_extra), host or ``xp``). Returns an ``xp``
    array of shape (n_species, nx, ny, nz, n_values + n_extra + 1): the rows, the extra
    columns and the point count, as ``add_planes(*grid_planes(...))`` of :mod:`.boxes` gives
    them, bit for bit."""
    inside, pair_of, pairs = grid_pairs(ticks, half, points, x_range, y_range)
    n_values, n_extra = values.shape[1], extra.shape[1]
    width = n_values + n_extra + 1
    nx, ny, nz = x_range[1] - x_range[0], y_range[1] - y_range[0], len(ticks[2])
    n_py, n_pz = len(pairs[1]), len(pairs[2])
    by_z = xp.asarray(_padded(pairs_of_boxes(pairs[2], nz), 0, nz, n_pz))
    by_y = xp.asarray(_padded(pairs_of_boxes(pairs[1], len(ticks[1])), y_range[0], ny, n_py))
    # a point's extra columns and count beside its row: one gather per block step
    tail = xp.hstack([xp.asarray(extra), xp.ones((len(extra), 1))])
    sums = xp.zeros((len(species), nx, ny, nz, width))
    kept_species, kept_rows = point_species[inside], rows[inside]
    for a, z in enumerate(species):
        ids, which, source, bounds = _kernels.block_steps(
            kept_species, z, *pair_of, n_py, n_pz, len(pairs[0]) * n_py * n_pz, kept_rows)
        if not len(ids):
            continue
        which, source = xp.asarray(which), xp.asarray(source)
        blocks = xp.zeros((len(ids) + 1, width))  # the last row: zero, for absent blocks
        for k in range(len(bounds) - 1):  # each block adds its points in input order
            at = slice(int(bounds[k]), int(bounds[k + 1]))
            blocks[which[at], :n_values] += values[source[at]]
            blocks[which[at], n_values:] += tail[source[at]]
        present, slot = dense_unique(ids // (n_py * n_pz), len(pairs[0]))  # x-pairs ascending
        block_at = np.full((len(present), n_py, n_pz + 1), len(ids), dtype=np.int64)
        block_at[slot, ids // n_pz % n_py, ids % n_pz] = np.arange(len(ids))
        group = max(1, _GROUP_VALUES // ((n_py + 1) * nz * width))
        for g in range(0, len(present), group):  # x-pairs ascending, a group's at once
            mine = present[g:g + group]
            at = xp.asarray(block_at[g:g + group])
            along_z = xp.zeros((len(mine), n_py + 1, nz, width))  # py = n_py: the zero row
            for k in range(by_z.shape[1]):
                along_z[:, :n_py] += blocks[at[:, :, by_z[:, k]]]
            plane = xp.zeros((len(mine) + 1, ny, nz, width))  # the last: a zero plane
            for k in range(by_y.shape[1]):
                plane[:-1] += along_z[:, by_y[:, k]]
            by_x = xp.asarray(_padded(pairs_of_boxes(pairs[0][mine], len(ticks[0])),
                                      x_range[0], nx, len(mine)))
            for k in range(by_x.shape[1]):  # each x box adds its x-pairs ascending
                sums[a] += plane[by_x[:, k]]
    return sums
