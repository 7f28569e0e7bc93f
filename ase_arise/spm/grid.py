"""The scan grid of strided pattern matching: where the boxes sit (Å), and the periodic axes
that a vacuum gap makes open."""

import math

import numba
import numpy as np
from ase.geometry import complete_cell

from .._counting import column_bounds
from .._validation import check_atoms, check_scalar
from ..descriptor.neighbors import cartesian, cell_heights, fractional, wrap_positions
from ..errors import InputError
from ..limits import check_work
from ..settings import check_axes


def box_grid(atoms, *, box=16.0, stride=4.0, axes=None):
    """Centres of the SPM boxes of a sample.

    Parameters
    ----------
    atoms : ase.Atoms
    box : float, default=16.0
        Box edge (Å).
    stride : float, default=4.0
        Step between box centres (Å). Along a periodic axis the step is adjusted so that a
        whole number of steps spans the cell vector.
    axes : None or sequence of int, optional
        Cell axes to scan; None: every periodic axis and every open axis along which the
        sample is at least one box long. Along an axis not scanned, one box sits at the middle.

    Returns
    -------
    centres : ndarray of shape (n_boxes, 3), float64
        Å, C order of ``shape``.
    shape : tuple of int
        Number of boxes along each cell axis.

    Raises
    ------
    InputError
        Box or stride <= 0; a forced open axis along which the sample is thinner than the box;
        an open sample smaller than the box along every axis.
    """
    return scan_grid(atoms, check_scalar(box, "box", low=0.0, unit=" (Å)"),
                     check_scalar(stride, "stride", low=0.0, unit=" (Å)"), check_axes(axes))


def scan_grid(atoms, box, stride, axes):
    """:func:`box_grid` for validated ``box``, ``stride`` (Å, floats > 0) and ``axes`` (None
    or a sorted tuple of distinct axes, as :class:`~ase_arise.settings.Settings` holds them)."""
    positions, _, cell, pbc = check_atoms(atoms)
    full = complete_cell(cell)
    frac = fractional(wrap_positions(positions, cell, pbc), full)
    heights = cell_heights(full)
    lengths = np.linalg.norm(full, axis=1)
    lo, hi = column_bounds(frac)
    extent = np.where(pbc, heights, (hi - lo) * heights)
    if axes is None:
        scanned = [bool(pbc[k] or extent[k] >= box) for k in range(3)]
        if not any(scanned):
            raise InputError(
                f"The box ({box:g} Å) is larger than the sample along every axis (extent "
                f"{' x '.join(f'{e:.1f}' for e in extent)} Å): there is nothing to scan. Use a "
                "smaller box, or classify(atoms) for the whole structure.")
    else:
        scanned = [k in axes for k in range(3)]
        for k in axes:
            if not pbc[k] and extent[k] < box:
                raise InputError(
                    f"The box ({box:g} Å) is larger than the sample along the non-periodic axis "
                    f"{k} ({extent[k]:.1f} Å). Use a box of at most {extent[k]:.1f} Å, or leave "
                    f"axis {k} out of 'axes' (one box across it).")
    counts = [(max(1, round(lengths[k] / stride)) if pbc[k] else
               int(math.floor((extent[k] - box) / stride + 1e-9)) + 1) if scanned[k] else 1
              for k in range(3)]
    check_work("max_boxes", float(np.prod(np.array(counts, dtype=float))),
               f"Boxes of the scan ({' x '.join(map(str, counts))} at stride {stride:g} Å)",
               "Use a larger stride")
    ticks = []
    for k in range(3):
        if pbc[k]:
            n = counts[k]
            ticks.append((np.arange(n) + 0.5) / n)
        elif scanned[k]:
            n = counts[k]
            first = box / 2 + (extent[k] - box - (n - 1) * stride) / 2
            ticks.append(frac[:, k].min() + (first + stride * np.arange(n)) / heights[k])
        else:
            ticks.append(np.array([(frac[:, k].min() + frac[:, k].max()) / 2]))
    grid = np.stack(np.meshgrid(*ticks, indexing="ij"), axis=-1).reshape(-1, 3)
    return cartesian(grid, full), tuple(len(t) for t in ticks)


# Bins per axis past which vacuum_axes sorts instead (a gap under ~1e-7 of the cell height).
_MAX_BINS = 1 << 24


def vacuum_axes(positions, cell, pbc, gap):
    """Periodic axes along which the atoms leave an atom-free slab wider than ``gap`` (Å).

    Such an axis is periodic in name only (a slab or a nanoparticle in a vacuum box, the usual
    DFT file): nothing within ``gap`` of an atom sees across it. The widest gap is found
    without a sort: the fractions go into bins under half the gap wide, so any gap wider than
    ``gap`` falls between two consecutive occupied bins, where it is the difference of the
    same two fractions that a sort would put side by side (the same answer, bit for bit).

    Returns
    -------
    ndarray of shape (3,), bool
    """
    out = np.zeros(3, dtype=bool)
    if not len(positions) or not np.any(pbc):
        return out
    full = complete_cell(cell)
    frac = np.mod(fractional(positions, full), 1.0)
    heights = cell_heights(full)
    n_bins = np.zeros(3, dtype=np.int64)
    for k in np.flatnonzero(pbc):
        bins = math.ceil(2.0 * heights[k] / gap) if gap > 0 else _MAX_BINS + 1
        if bins <= _MAX_BINS:
            n_bins[k] = bins
        else:  # a gap too narrow for bins: sort
            ordered = np.sort(frac[:, k])
            out[k] = np.diff(np.append(ordered, ordered[0] + 1.0)).max() * heights[k] > gap
    widest = _widest_gaps(frac, n_bins)
    for k in np.flatnonzero(n_bins):
        out[k] = widest[k] * heights[k] > gap
    return out


@numba.njit(cache=True, nogil=True)
def _widest_gaps(frac, n_bins):
    """Per column k of ``frac`` (fractions in [0, 1]) with ``n_bins[k]`` > 0 bins: the widest
    gap, across the cell's end too, between consecutive fractions in different bins."""
    out = np.zeros(3)
    for k in range(3):
        n = n_bins[k]
        if n == 0:
            continue
        lo, hi = np.full(n, np.inf), np.full(n, -np.inf)
        for i in range(frac.shape[0]):
            b = min(int(frac[i, k] * n), n - 1)
            lo[b] = min(lo[b], frac[i, k])
            hi[b] = max(hi[b], frac[i, k])
        first, last, widest = -1, -1, 0.0
        for b in range(n):
            if hi[b] < lo[b]:  # empty
                continue
            if last < 0:
                first = b
            else:
                widest = max(widest, lo[b] - hi[last])
            last = b
        out[k] = max(widest, (lo[first] + 1.0) - hi[last])
    return out
