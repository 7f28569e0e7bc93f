"""d_NN, the length unit of the ARISE descriptor: the paper's histogram rule, nearest distances.

Leitherer, Ziletti & Ghiringhelli, Nature Communications 12, 6234 (2021), Supplementary
Methods: for an ordered species pair (a, b), every a-atom's distance to its nearest b-atom is
histogrammed (100 bins), each bin count divided by the square of the bin's lower edge, and the
most populated bin gives d_NN(a, b) (:func:`dnn_from_distances`). Strided pattern matching in
fast mode scales each atom by a *local* d_NN instead (:mod:`.local_dnn`). All distances
in Å; periodic images along periodic axes are included.
"""

import warnings

import numba
import numpy as np
from ase.geometry import complete_cell
from scipy.spatial import cKDTree

from .._counting import column_bounds, distinct
from .._deprecation import renamed_parameters
from .._validation import check_atoms
from ..device import check_device, cuda_module
from ..errors import InputError, OverlappingAtomsWarning
from .cuda_search import NEAREST_K_MAX, nearest_points
from .neighbors import cell_heights, fractional, periodic_images, species_near, wrap_positions

DEFAULT_BINS = 100
# Two atoms closer than this fraction of their species pair's d_NN overlap (a duplicated atom,
# not a bond); d_NN for this rule leaves out the distances below the same fraction of their
# median (else one duplicate would be the d_NN). They are reported by name (find_overlaps).
OVERLAP_FRACTION = 0.5
# A centre "has a neighbour shell" when its nearest neighbour lies within these fractions of
# d_NN (a crystal's, displaced by up to 10 % per component: ~0.8-1.2).
SHELL = (0.75, 4 / 3)


def dnn_from_distances(distances, bins=DEFAULT_BINS):
    """d_NN by the paper's histogram rule from a set of nearest-neighbour distances.

    The distances are histogrammed into ``bins`` bins between their minimum and maximum, each
    count is divided by the square of its bin's lower edge, and the most populated bin is taken;
    the paper then uses that bin's centre. We return the median of the distances inside it
    instead: the same bin, but not off by up to half a bin width when one far outlier (a stray
    atom) stretches the histogram (docs/DECISIONS.md). One duplicated atom makes its tiny
    distance the d_NN (the 1 / edge² weight): :func:`find_overlaps` names such atoms.

    Parameters
    ----------
    distances : array_like of shape (n,)
        Each centre's distance to its nearest neighbour (Å); non-finite values are ignored.
    bins : int, default=100
        Number of histogram bins.

    Returns
    -------
    float
        d_NN in Å; NaN if no distance is finite.
    """
    distances = np.asarray(distances, dtype=np.float64)
    distances = distances[np.isfinite(distances)]
    if len(distances) == 0:
        return float("nan")
    return float(_histogram_rule(distances, int(bins)))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _histogram_rule(distances, bins):
    """:func:`dnn_from_distances` of finite distances, binned exactly as ``np.histogram``
    (edges ``low + k * step``; a value on an inner edge belongs to the upper bin, the last bin
    holds the maximum) and with ``np.median``'s value, one pass and no temporaries."""
    low, high = distances.min(), distances.max()
    if high - low <= 1e-12 * high:
        return np.median(distances)
    step = (high - low) / bins
    edges = np.empty(bins + 1)
    for k in range(bins):
        edges[k] = k * step + low
    edges[bins] = high
    counts = np.zeros(bins, dtype=np.int64)
    for x in distances:
        k = int((x - low) / (high - low) * bins)
        if k == bins:
            k -= 1
        if x < edges[k]:
            k -= 1
        elif k != bins - 1 and x >= edges[k + 1]:
            k += 1
        counts[k] += 1
    best, top = 0, -1.0
    for k in range(bins):
        weight = counts[k] / (edges[k] * edges[k])
        if weight > top:
            best, top = k, weight
    inside = distances[(distances >= edges[best]) & (distances <= edges[best + 1])]
    return np.median(inside)


def shell_share(distances, dnn):
    """Share of the finite nearest-neighbour ``distances`` (Å) within ``SHELL`` × ``dnn``: ~1
    for crystals, liquids and glasses, ~0.01 for an ideal gas, whose histogram d_NN is one of
    its few close pairs; NaN without finite distances."""
    distances = np.asarray(distances, dtype=np.float64)
    distances = distances[np.isfinite(distances)]
    if not len(distances) or not np.isfinite(dnn):
        return float("nan")
    return float(np.mean((distances >= SHELL[0] * dnn) & (distances <= SHELL[1] * dnn)))


def sample_volume(points, cell, pbc):
    """Volume (Å^3) of the periodic cell's extent along periodic axes and of the points'
    bounding box along open ones (at least 1 Å thick; a cluster's Cartesian bounding box),
    for work estimates."""
    if not np.any(pbc):
        if not len(points):
            return 1.0
        lo, hi = column_bounds(points)
        return float(np.prod(np.maximum(hi - lo, 1.0)))
    full = complete_cell(cell)
    extent = np.ones(3)
    if not np.all(pbc):  # fractional extents along the open axes
        lo, hi = column_bounds(fractional(points, full))
        extent = np.where(pbc, 1.0, hi - lo)
    return float(np.prod(np.maximum(extent * cell_heights(full), 1.0)))


def nearest_distances(centres, points, cell, pbc, device="cpu", window=False):
    """Distance from each centre to its nearest point at non-zero distance, images included (Å).

    ``centres`` and ``points`` are wrapped positions; inf where there is no such point.
    ``device`` ("cpu" or "cuda:N", checked) runs the search (:func:`k_nearest`); on a card an
    open sample is searched within a widening reach too. ``window``: search only the points
    within the reach of the centres' bounding box (the same distances: for centres that fill
    a small part of the sample, a spatial domain's); a function near(x_lo, x_hi) (Å) -> the
    indices (ascending) of the ``points`` that may have an image there: the same, without a
    pass over every point.
    """
    if len(points) == 0:
        return np.full(len(centres), np.inf)
    periodic = bool(np.any(pbc))
    reach = np.inf  # an open sample on the CPU: one unbounded query
    if periodic or device != "cpu" or window:
        # Start at a few mean atomic spacings (or one lattice vector, where an atom's own image
        # lies), widen until every answer lies inside the image shell (then no image farther
        # out can be nearer).
        reach = 3.0 * (sample_volume(points, cell, pbc) / len(points)) ** (1 / 3)
        if periodic:
            reach = min(float(np.linalg.norm(cell[pbc], axis=1).min()), reach)
    while True:
        lo, hi = column_bounds(centres) if window else (None, None)
        within = (lo - reach, hi + reach) if window else None
        images = periodic_images(points, cell, pbc, reach, within,
                                 window if callable(window) else None)[0]
        if not len(images):
            images = points[:1]
        k = min(2, len(images))
        dist = k_nearest(images, centres, k, np.inf if device == "cpu" else reach, device)[0]
        nearest = np.where(dist[:, 0] > 0.0, dist[:, 0], dist[:, -1] if k > 1 else np.inf)
        if np.all(nearest <= reach) or not np.isfinite(reach):
            return np.where(nearest > 0.0, nearest, np.inf)
        if reach > 1e4:
            return np.where(nearest <= reach, nearest, np.inf)
        reach *= 2.0


def k_nearest(points, centres, k, reach, device):
    """The ``k`` nearest of ``points`` within ``reach`` (Å; inf: no bound, CPU only) of each
    centre: distances (n, k), inf where fewer, and point indices (n, k), ``len(points)``
    there; scipy's k-d tree on the CPU, :func:`.cuda_search.nearest_points` on a card."""
    if device == "cpu" or k > NEAREST_K_MAX:
        # threads pay off only for many centres (starting them costs ~1 ms)
        # numba's thread count is this process's budget (a Dask worker's own threads)
        dist, near = cKDTree(points).query(
            centres, k=k, distance_upper_bound=reach,
            workers=numba.get_num_threads() if len(centres) > 20000 else 1)
        return dist.reshape(len(centres), k), near.reshape(len(centres), k)
    cupy, card = cuda_module(device)
    with card:
        return nearest_points(cupy, points, centres, k, reach)


@renamed_parameters(center_species="centre_species")
def nearest_neighbor_distances(atoms, *, centre_species=None, neighbor_species=None):
    """Each centre's distance to its nearest neighbour, periodic images included.

    Parameters
    ----------
    atoms : ase.Atoms
    centre_species, neighbor_species : int or str, optional
        Restrict centres / neighbours to one species (atomic number or symbol); all atoms if None.

    Returns
    -------
    ndarray of shape (n_centres,), float64
        Distances in Å (inf for a centre with no neighbour at all).
    """
    positions, numbers_, cell, pbc = check_atoms(atoms)
    wrapped = wrap_positions(positions, cell, pbc)
    is_centre = _species_mask(numbers_, centre_species)
    is_neighbor = _species_mask(numbers_, neighbor_species)
    return nearest_distances(wrapped[is_centre], wrapped[is_neighbor], cell, pbc)


def _species_mask(numbers_, species):
    if species is None:
        return np.ones(len(numbers_), dtype=bool)
    if isinstance(species, str):
        from ase.data import atomic_numbers
        if species not in atomic_numbers:
            raise InputError(f"Unknown chemical symbol {species!r}.")
        species = atomic_numbers[species]
    return numbers_ == int(species)


@renamed_parameters(center_species="centre_species")
def nearest_neighbor_distance(atoms, *, centre_species=None, neighbor_species=None,
                              bins=DEFAULT_BINS):
    """d_NN of a structure or of one species pair, by the paper's histogram rule (Å).

    See :func:`dnn_from_distances`; NaN if no centre has a neighbour.
    """
    return dnn_from_distances(nearest_neighbor_distances(
        atoms, centre_species=centre_species, neighbor_species=neighbor_species), bins)


def nearest_by_species(wrapped, numbers, cell, pbc, centres, device="cpu", window=False):
    """Distance (Å) from each atom of ``centres`` (indices) to its nearest atom of each
    species (columns in sorted order; :func:`nearest_distances`, images included, itself
    not, ``window`` passed on): shape (len(centres), n_species). A row depends on nothing but
    the sample, so a subset of centres gets the rows of the whole."""
    species = distinct(numbers)
    out = np.empty((len(centres), len(species)))
    for j, b in enumerate(species):
        near = species_near(window, numbers, b) if callable(window) else window
        out[:, j] = nearest_distances(wrapped[centres], wrapped[numbers == b], cell, pbc, device,
                                      near)
    return out


def sample_nearest(wrapped, numbers, cell, pbc, centres=None, device="cpu", window=False):
    """Each centre's (``centres``: indices, all atoms if None) distance to its nearest atom
    and to its nearest atom of each species (Å; :func:`nearest_distances`,
    :func:`nearest_by_species`): shapes (n,) and (n, n_species). A one-species sample
    searches once; the sample check and the local d_NN both take them."""
    centres = np.arange(len(wrapped)) if centres is None else centres
    by_species = nearest_by_species(wrapped, numbers, cell, pbc, centres, device, window)
    if by_species.shape[1] == 1:  # the same search
        return by_species[:, 0], by_species
    return nearest_distances(wrapped[centres], wrapped, cell, pbc, device, window), by_species


def robust_dnn(distances):
    """d_NN by the paper's rule over the nearest-neighbour ``distances`` (Å) that are at least
    ``OVERLAP_FRACTION`` × their median, so that a few duplicated atoms do not set it; NaN
    without finite distances."""
    finite = np.asarray(distances, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if not len(finite):
        return float("nan")
    return float(_robust_rule(finite, DEFAULT_BINS))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _robust_rule(finite, bins):
    return _histogram_rule(finite[finite >= OVERLAP_FRACTION * np.median(finite)], bins)


def find_overlaps(wrapped, numbers, cell, pbc, nearest=None, by_species=None):
    """Pairs of overlapping atoms: closer than ``OVERLAP_FRACTION`` × the d_NN of their species
    pair (:func:`robust_dnn`), so that a C-H bond beside Si-Si bonds is no overlap.

    Parameters
    ----------
    wrapped : ndarray of shape (n, 3)
        Positions wrapped along periodic axes (Å).
    numbers : ndarray of shape (n,), int
    cell, pbc
        As from ``check_atoms``.
    nearest : ndarray of shape (n,), optional
        Each atom's nearest-neighbour distance (Å), if known (used for one species).
    by_species : ndarray of shape (n, n_species), optional
        Each atom's distance to its nearest atom of each species (Å,
        :func:`nearest_by_species`), if known.

    Returns
    -------
    pairs : ndarray of shape (n_pairs, 2), int64
        Atom indices (i < j), closest pair first.
    distances : ndarray of shape (n_pairs,), float64
        Their distances (Å).
    """
    none = np.empty((0, 2), dtype=np.int64), np.empty(0)
    species = distinct(numbers)
    threshold = np.full((len(species), len(species)), np.nan)
    suspect = False
    for i, a in enumerate(species):
        for j, b in enumerate(species):
            if by_species is not None:
                pair = by_species[numbers == a, j]
            elif nearest is not None and len(species) == 1:
                pair = nearest
            else:
                pair = nearest_distances(wrapped[numbers == a], wrapped[numbers == b], cell, pbc)
            threshold[i, j] = OVERLAP_FRACTION * robust_dnn(pair)
            suspect |= bool(np.any(pair < threshold[i, j]))
    if not suspect:
        return none
    threshold = np.fmin(threshold, threshold.T)  # a-b and b-a: the shorter
    points, index = periodic_images(wrapped, cell, pbc, float(np.nanmax(threshold)))
    close = cKDTree(points).query_pairs(float(np.nanmax(threshold)), output_type="ndarray")
    first, second = index[close[:, 0]], index[close[:, 1]]
    distances = np.linalg.norm(points[close[:, 0]] - points[close[:, 1]], axis=1)
    kind = np.searchsorted(species, numbers)
    keep = (first != second) & (distances < threshold[kind[first], kind[second]])
    pairs = np.sort(np.stack([first[keep], second[keep]], axis=1), axis=1)
    pairs, unique = np.unique(pairs, axis=0, return_index=True)
    distances = distances[keep][unique]
    order = np.argsort(distances, kind="stable")
    return pairs[order], distances[order]


def warn_overlaps(wrapped, numbers, cell, pbc, nearest=None, *, by_species=None,
                  stacklevel=3):
    """Warn (OverlappingAtomsWarning) naming the pairs of :func:`find_overlaps`; returns their
    number."""
    pairs, distance = find_overlaps(wrapped, numbers, cell, pbc, nearest, by_species)
    if len(pairs):
        shown = "; ".join(f"atoms {i} and {j}: {d:.3g} Å" for (i, j), d in
                          zip(pairs[:5].tolist(), distance[:5]))
        warnings.warn(f"{len(pairs)} pair(s) of atoms are closer than half the nearest-neighbour "
                      f"distance ({shown}{'; ...' if len(pairs) > 5 else ''}). These look like "
                      "duplicated atoms: remove one of each pair.",
                      OverlappingAtomsWarning, stacklevel=stacklevel)
    return len(pairs)


def sample_spacing(wrapped, numbers, cell, pbc, device="cpu", *, nearest=None,
                   by_species=None):
    """d_NN of a whole sample (any species, Å; NaN when no atom has a neighbour), warning about
    overlapping atoms (:func:`warn_overlaps`). The robust rule (:func:`robust_dnn`): a few
    overlapping pairs, or the many close pairs of a gas, do not make it a fraction of the
    typical spacing (an ideal gas's histogram d_NN is ~0.2 Å, which made its random gaps look
    like vacuum). ``device`` runs the nearest-neighbour search; ``nearest`` (every atom's
    nearest-neighbour distance, Å) and ``by_species`` (:func:`nearest_by_species`) spare it
    where known."""
    if nearest is None:
        nearest = nearest_distances(wrapped, wrapped, cell, pbc, device)
    warn_overlaps(wrapped, numbers, cell, pbc, nearest, by_species=by_species, stacklevel=4)
    return robust_dnn(nearest)
