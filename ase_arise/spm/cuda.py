"""Fast mode's box sums and power spectra on a CUDA card (CuPy): a slab's coefficient rows stay
on the card from the SOAP kernel to the box descriptors.

:func:`box_descriptors` is :meth:`.boxes.FastBoxes.describe`'s work after the rows: per centre
species, the points of the slab in a cell list (cells half a box wide, sorted on the card); one
thread block per box walks the cells that reach into the box in the CPU kernel's order
(:func:`._kernels.box_sums`), tests |p - c| <= half as it does and adds the rows of the points
inside, each thread its own columns: sums in a fixed order, no atomics, so the card gives the
same bits run to run and the CPU per-box kernel's sums exactly. The power spectra follow, one
thread per box and species pair (:func:`ase_arise.descriptor.cuda.power_spectra`); the
(n_boxes, 316) descriptors stay on the card for the network. On the scan's tensor grid,
:func:`grid_descriptors` sums boxes as the CPU does instead (:mod:`.grid_sums`).
:func:`best_boxes` is the per-atom rule's search (``label``).
"""

import numpy as np

from ..descriptor.cuda import power_spectra
from ..descriptor.cuda_search import SEARCH, card_cells
from .grid_sums import grid_box_sums

SOURCE = r"""
extern "C" __global__ void box_sums(
        const double* centres, const double half, const double* points, const long long* rows,
        const long long* cell_start, const double* origin, const double* step,
        const long long* dims, const double* values, const long long n_values,
        const double* extra, const long long n_extra, const long long n_boxes,
        const long long out_stride, const long long extra_stride,
        double* out, double* out_extra, long long* counts) {
    const long long b = blockIdx.x;
    if (b >= n_boxes) return;
    double c[3];
    long long lo[3], hi[3];
    for (int d = 0; d < 3; ++d) {
        c[d] = centres[3 * b + d];
        const long long top = dims[d] - 1;
        long long l = (long long)floor((c[d] - half - origin[d]) / step[d]);
        long long h = (long long)floor((c[d] + half - origin[d]) / step[d]);
        lo[d] = min(max(l, 0LL), top);
        hi[d] = min(max(h, 0LL), top);
    }
    const long long n_columns = n_values + n_extra + 1;  // the last column: the count
    for (long long f = threadIdx.x; f < n_columns; f += blockDim.x) {
        double total = 0.0;
        long long count = 0;
        for (long long ix = lo[0]; ix <= hi[0]; ++ix)
        for (long long iy = lo[1]; iy <= hi[1]; ++iy)
        for (long long iz = lo[2]; iz <= hi[2]; ++iz) {
            const long long k = (ix * dims[1] + iy) * dims[2] + iz;
            for (long long p = cell_start[k]; p < cell_start[k + 1]; ++p) {
                if (fabs(points[3 * p] - c[0]) <= half && fabs(points[3 * p + 1] - c[1]) <= half
                        && fabs(points[3 * p + 2] - c[2]) <= half) {
                    const long long r = rows[p];
                    if (f < n_values) total += values[r * n_values + f];
                    else if (f < n_values + n_extra) total += extra[r * n_extra + f - n_values];
                    else ++count;
                }
            }
        }
        if (f < n_values) out[b * out_stride + f] += total;
        else if (f < n_values + n_extra) out_extra[b * extra_stride + f - n_values] += total;
        else counts[b] += count;
    }
}
"""
_THREADS = 128
_KERNELS = {}


def _kernel(cupy):
    key = cupy.cuda.Device().id
    if key not in _KERNELS:
        _KERNELS[key] = cupy.RawKernel(SOURCE, "box_sums")
    return _KERNELS[key]


def box_descriptors(calculator, cupy, species, centres, half, points, centre_species, rows,
                    values, n_neighbors):
    """The descriptors (n_boxes, n_features), a CuPy array, and atom counts (n_boxes,),
    numpy, of the boxes at ``centres`` (Å) of half-edge ``half`` (Å).

    ``points`` (Å) are the slab's atoms and images, ``centre_species`` the species number
    of each, ``rows`` the row of ``values`` (a CuPy array (n_rows, n_species * n_max *
    (l_max + 1)**2) of coefficients) that each carries; ``n_neighbors`` (n_rows,
    n_species) their neighbour counts (host or card)."""
    n_boxes, n_species = len(centres), len(species)
    width = values.shape[1]
    sums = cupy.zeros((n_boxes, n_species, width))
    neighbor_sums = cupy.zeros((n_boxes, n_species, n_species))
    counts = cupy.zeros(n_boxes, dtype=cupy.int64)
    extra = cupy.asarray(n_neighbors.astype(np.float64))
    boxes = cupy.asarray(np.ascontiguousarray(centres, dtype=np.float64))
    kernel = _kernel(cupy)
    for a, z in enumerate(species):
        mine = centre_species == z
        if not mine.any():
            continue
        cells = card_cells(cupy, points[mine], rows[mine], half)
        kernel((max(n_boxes, 1),), (_THREADS,), (
            boxes, np.float64(half), cells.points, cells.index, *cells.grid(cupy), values,
            np.int64(width), extra, np.int64(n_species), np.int64(n_boxes),
            np.int64(n_species * width),
            np.int64(n_species * n_species), sums[:, a], neighbor_sums[:, a], counts))
    return _descriptors(calculator, cupy, sums, neighbor_sums), counts.get()


def grid_descriptors(calculator, cupy, species, ticks, centres, half, points, centre_species,
                     rows, values, n_neighbors):
    """:func:`box_descriptors` of centres on the scan's tensor grid ``ticks`` (Å): the box
    sums of :func:`.grid_sums.grid_box_sums` on the card (the CPU's grid sums bit for bit),
    a few passes over (y, z) planes instead of every box walking its atoms."""
    where = [np.searchsorted(t, centres[:, d]) for d, t in enumerate(ticks)]
    lo = [int(w.min()) for w in where[:2]]
    hi = [int(w.max()) + 1 for w in where[:2]]
    sums = grid_box_sums(cupy, ticks, half, points, centre_species, rows, values,
                         n_neighbors.astype(np.float64), species, (lo[0], hi[0]),
                         (lo[1], hi[1]))
    at = tuple(cupy.asarray(w - first) for w, first in zip(where, lo + [0]))
    picked = cupy.moveaxis(sums[(slice(None),) + at], 0, 1)  # (n_boxes, n_species, width)
    n_values = values.shape[1]
    counts = cupy.rint(picked[..., -1].sum(axis=1)).astype(cupy.int64)
    return (_descriptors(calculator, cupy, picked[..., :n_values],
                         picked[..., n_values:-1]), counts.get())


def _descriptors(calculator, cupy, sums, neighbor_sums):
    """Box descriptors (CuPy, (n_boxes, n_features)) from the boxes' coefficient sums
    (n_boxes, n_species, n_values) and neighbour counts (n_boxes, n_species, n_species) on
    the card, as :func:`.boxes.box_spectra` computes them."""
    n_boxes, n_species = sums.shape[:2]
    basis = calculator.basis
    spectra = power_spectra(basis, cupy, sums.reshape(n_boxes * n_species * n_species,
                                                      basis.n_max, -1))
    spectra = spectra.reshape(n_boxes, n_species, n_species, -1)
    has_pair = neighbor_sums > 0
    n_pairs = has_pair.sum(axis=(1, 2))
    return (spectra * has_pair[..., None]).sum(axis=(1, 2)) / n_pairs[:, None]


_CHOICE = SEARCH + r"""
extern "C" __global__ void best_boxes(
        const double* atoms, const long long n_atoms, const double* centres,
        const long long* index, const long long* cell_start, const double* origin,
        const double* step, const long long* dims, const double search, const int k,
        const double half, const double* penalties, const int n_scores,
        const long long n_centres, long long* out, int* found) {
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n_atoms) return;
    const double x[3] = {atoms[3 * i], atoms[3 * i + 1], atoms[3 * i + 2]};
    double best[K_MAX];
    long long who[K_MAX], where[K_MAX];
    // the k nearest centres strictly within search, ties by index
    const int m = k_smallest(x, search, nextafter(search * search, 0.0), centres, index,
                             cell_start, origin, step, dims, k, best, who, where);
    found[i] = m;
    double top[4];
    for (int s = 0; s < n_scores; ++s) { out[s * n_atoms + i] = -1; top[s] = 1.0 / 0.0; }
    for (int j = 0; j < m; ++j) {  // _kernels.best_containing's rule
        const double* c = centres + 3 * where[j];
        if (fabs(x[0] - c[0]) > half + 1e-9 || fabs(x[1] - c[1]) > half + 1e-9
                || fabs(x[2] - c[2]) > half + 1e-9)
            continue;
        const double scaled = sqrt(best[j]) / half;
        for (int s = 0; s < n_scores; ++s) {
            const double score = scaled + penalties[s * n_centres + who[j]];
            if (score < top[s]) {
                top[s] = score;
                out[s * n_atoms + i] = who[j];
            }
        }
    }
}
"""


def best_boxes(cupy, centres, atoms, k, half, penalties):
    """:func:`ase_arise.labels.nearest_boxes`'s search on the card: per atom (wrapped, Å) and
    per row of ``penalties`` (n_scores <= 4, n_centres), the index of the containing centre
    (Å, images included) with the lowest distance / ``half`` + penalty among the ``k`` <= 32
    nearest (equal distances by centre index; the host's k-d tree orders them its own way),
    -1 where none; shape (n_scores, n_atoms).

    The search first reaches 1.5 x the radius that holds k centres of the scan's density;
    atoms with fewer there (a sample's rim) search the whole reach, half * sqrt(3)."""
    atoms = np.ascontiguousarray(atoms, dtype=np.float64)
    out = np.full((len(penalties), len(atoms)), -1, dtype=np.int64)
    if not len(atoms) or not len(centres):
        return out
    whole = half * np.sqrt(3.0) + 1e-9
    volume = np.prod(np.maximum(np.ptp(centres, axis=0), 1.0)) / len(centres)
    first = min(whole, 1.5 * (3.0 * k * volume / (4.0 * np.pi)) ** (1 / 3))
    key = ("choice", cupy.cuda.Device().id)
    if key not in _KERNELS:
        _KERNELS[key] = cupy.RawKernel(_CHOICE, "best_boxes")
    scores = cupy.asarray(np.ascontiguousarray(penalties, dtype=np.float64))
    rows = np.arange(len(atoms))
    for search in (first, whole) if first < whole else (whole,):
        cells = card_cells(cupy, centres, np.arange(len(centres)), search / 2)
        n = len(rows)
        part = cupy.empty((len(penalties), n), dtype=cupy.int64)
        found = cupy.empty(n, dtype=cupy.int32)
        _KERNELS[key](((n + _THREADS - 1) // _THREADS,), (_THREADS,), (
            cupy.asarray(atoms[rows]), np.int64(n), cells.points, cells.index,
            *cells.grid(cupy), np.float64(search), np.int32(k), np.float64(half), scores,
            np.int32(len(penalties)), np.int64(len(centres)), part, found))
        out[:, rows] = part.get()
        rows = rows[found.get() < k]
        if not len(rows):
            break
    return out
