"""Fast mode's box sums and power spectra on a CUDA card (CuPy): a slab's coefficient rows stay
on the card from the SOAP kernel to the box descriptors.

:func:`box_descriptors` is :meth:`.boxes.FastBoxes.describe`'s work after the rows: per centre
species, the points of the slab in a cell list (cells half a box wide, built on the host); one
thread block per box walks the cells that reach into the box in the CPU kernel's order
(:func:`._kernels.box_sums`), tests |p - c| <= half as it does and adds the rows of the points
inside, each thread its own columns: sums in a fixed order, no atomics, so the card gives the
same bits run to run and the CPU per-box kernel's sums exactly. The power spectra follow, one
thread per box and species pair (:func:`ase_arise.descriptor.cuda.power_spectra`); only the
(n_boxes, 316) descriptors come back to the host.
"""

import numpy as np

from ..descriptor.cuda import power_spectra
from ..descriptor.neighbors import CellList

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
    """The descriptors (n_boxes, n_features) and atom counts (n_boxes,) of the boxes at
    ``centres`` (Å) of half-edge ``half`` (Å), as numpy arrays.

    ``points`` (Å) are the slab's atoms and images, ``centre_species`` the species number
    of each, ``rows`` the row of ``values`` (a CuPy array (n_rows, n_species * n_max *
    (l_max + 1)**2) of coefficients) that each carries; ``n_neighbors`` (n_rows,
    n_species) their neighbour counts (host)."""
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
        cells = CellList.build(points[mine], rows[mine], half)
        kernel((max(n_boxes, 1),), (_THREADS,), (
            boxes, np.float64(half), cupy.asarray(cells.points), cupy.asarray(cells.index),
            cupy.asarray(cells.cell_start), cupy.asarray(cells.origin),
            cupy.asarray(cells.step), cupy.asarray(cells.dims), values, np.int64(width),
            extra, np.int64(n_species), np.int64(n_boxes), np.int64(n_species * width),
            np.int64(n_species * n_species), sums[:, a], neighbor_sums[:, a], counts))
    basis = calculator.basis
    spectra = power_spectra(basis, cupy, sums.reshape(n_boxes * n_species * n_species,
                                                      basis.n_max, -1))
    spectra = spectra.reshape(n_boxes, n_species, n_species, -1)
    has_pair = neighbor_sums > 0
    n_pairs = has_pair.sum(axis=(1, 2))
    out = (spectra * has_pair[..., None]).sum(axis=(1, 2)) / n_pairs[:, None]
    return out.get(), counts.get()
