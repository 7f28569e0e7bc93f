"""The per-centre SOAP coefficients on a CUDA GPU (fp64), as :meth:`.soap.SOAPBasis.
center_coefficients` computes them on the CPU: same arguments, same results to ~1e-13.

The kernel (:mod:`._cuda_kernels`) writes node coefficients; the node-to-basis transform is a
batched matrix product (cuBLAS, deterministic), and segment sums are one reduction per segment
in centre order. Centres go through the card in chunks of ``chunk`` (memory ~3.5 kB each).
"""

import numpy as np

from ._cuda_kernels import SOURCE
from .cuda_search import CardCells
from .neighbors import CellStack
from ._soap_kernels import _GAUSS_SKIP, _SERIES_BELOW, legendre_factors

# Centres per kernel launch (node coefficients on the card: chunk x 3.5 kB).
CHUNK = 1 << 18
_MODULES = {}


def _kernel(cupy, n_max, l_max):
    key = (cupy.cuda.Device().id, n_max, l_max)
    if key not in _MODULES:
        options = (f"-DN_MAX={n_max}", f"-DL_MAX={l_max}", f"-DGAUSS_SKIP={_GAUSS_SKIP!r}",
                   f"-DSERIES_BELOW={_SERIES_BELOW!r}", "--std=c++17")
        module = cupy.RawModule(code=SOURCE, options=options)
        _MODULES[key] = module.get_function("node_coefficients")
    return _MODULES[key]


def center_coefficients(basis, cupy, centres, inv_scale, cells, out=None, *, grid_of=None,
                        self_index=None, segments=None, chunk=CHUNK):
    """:meth:`.soap.SOAPBasis.center_coefficients` on the current CUDA card.

    ``cupy`` is the CuPy module (:func:`ase_arise.device.cuda_module`); the other parameters
    and the results are those of the CPU method (numpy arrays in and out; ``out``, if given,
    C-contiguous, and a CuPy array to keep the rows on the card: then the neighbour counts
    stay there too, and nothing waits for the kernel, so the host works on beside it).
    """
    n = len(centres)
    n_max, n_l = basis.n_max, basis.l_max + 1
    if isinstance(cells, CardCells):  # sorted on the card: one grid, no upload
        stack = CellStack(cells.points, cells.index, cells.cell_start, cells.origin[None],
                          cells.step[None], cells.dims[None], np.zeros(1, dtype=np.int64))
    else:
        stack = cells if isinstance(cells, CellStack) else CellStack.of([cells])
    f1, f2 = legendre_factors(basis.l_max)
    dev = {name: cupy.ascontiguousarray(cupy.asarray(value)) for name, value in (
        ("points", stack.points), ("index", stack.index), ("cell_start", stack.cell_start),
        ("origin", stack.origin), ("step", stack.step), ("dims", stack.dims),
        ("base", stack.cell_base), ("nodes", basis.nodes), ("norm", basis.ylm_norm),
        ("f1", f1), ("f2", f2))}
    transform = cupy.asarray(basis.transform.T)  # (n, a)
    kernel = _kernel(cupy, n_max, basis.l_max)
    grid_of = np.zeros(n, np.int64) if grid_of is None else np.asarray(grid_of, np.int64)
    self_index = np.full(n, -1, np.int64) if self_index is None else np.asarray(self_index,
                                                                                  np.int64)
    if segments is None:
        pieces = [(start, min(start + chunk, n), None) for start in range(0, n, chunk)]
    else:  # whole segments per launch, ~chunk centres
        bounds, pieces, k = np.asarray(segments, dtype=np.int64), [], 0
        while k < len(bounds) - 1:
            k2 = max(k + 1, int(np.searchsorted(bounds, bounds[k] + chunk, side="right")) - 1)
            pieces.append((int(bounds[k]), int(bounds[k2]), bounds[k:k2 + 1] - bounds[k]))
            k = k2
    rows = None if segments is not None else np.empty((n, n_max, n_l * n_l)) if out is None \
        else out
    on_card = isinstance(rows, cupy.ndarray)
    parts = []
    n_neighbors = (cupy if on_card else np).empty(n, dtype=np.int64)
    for start, stop, local in pieces:
        size = stop - start
        nodes_out = cupy.empty((size, n_max, n_l * n_l))
        counts = n_neighbors[start:stop] if on_card else cupy.empty(size, dtype=cupy.int64)
        args = (cupy.asarray(np.ascontiguousarray(centres[start:stop], dtype=np.float64)),
                cupy.asarray(np.ascontiguousarray(inv_scale[start:stop], dtype=np.float64)),
                cupy.asarray(grid_of[start:stop]), cupy.asarray(self_index[start:stop]),
                dev["points"], dev["index"], dev["cell_start"], dev["origin"], dev["step"],
                dev["dims"], dev["base"], np.float64(basis.r_cut),
                np.float64(basis.cutoff_width), np.float64(basis.alpha), dev["nodes"],
                dev["norm"], dev["f1"], dev["f2"], np.int64(size), nodes_out, counts)
        if size:
            kernel((size,), (32,), args)
        if not on_card:
            n_neighbors[start:stop] = counts.get()
        if local is not None:  # each segment summed on the card in centre order
            summed = cupy.empty((len(local) - 1, n_max, n_l * n_l))
            width = n_max * n_l * n_l
            _segment_sums(cupy)(((summed.size + 127) // 128,), (128,), (
                nodes_out, cupy.asarray(local), np.int64(len(local) - 1), np.int64(width),
                summed))
            parts.append(cupy.matmul(transform, summed).get())
        elif on_card:  # the rows stay on the card (fast mode's box sums, ase_arise.spm.cuda)
            cupy.matmul(transform, nodes_out, out=rows[start:stop])
        else:
            cupy.matmul(transform, nodes_out).get(out=rows[start:stop])
    if segments is None:
        return rows, n_neighbors
    return (np.concatenate(parts) if parts else np.empty((0, n_max, n_l * n_l))), n_neighbors


_SEGMENT_SUMS = r"""
extern "C" __global__ void segment_sums(const double* rows, const long long* bounds,
                                        const long long n_segments, const long long width,
                                        double* out) {
    const long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= n_segments * width) return;
    const long long s = t / width, o = t - s * width;
    double total = 0.0;
    for (long long i = bounds[s]; i < bounds[s + 1]; ++i) total += rows[i * width + o];
    out[t] = total;
}
"""


def _segment_sums(cupy):
    key = ("segments", cupy.cuda.Device().id)
    if key not in _MODULES:
        _MODULES[key] = cupy.RawKernel(_SEGMENT_SUMS, "segment_sums")
    return _MODULES[key]


_POWER_SPECTRA = r"""
extern "C" __global__ void power_spectra(const double* coefficients, const long long n_sums,
                                         const int n_max, const int l_max, double* out) {
    const long long k = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= n_sums) return;
    const int n_l = l_max + 1, n_lm = n_l * n_l;
    const long long n_features = (long long)n_max * (n_max + 1) / 2 * n_l + 1;
    const double* c = coefficients + k * n_max * n_lm;
    double* row = out + k * n_features;
    double norm2 = 0.0;
    for (int n1 = 0; n1 < n_max; ++n1)
        for (int n2 = 0; n2 <= n1; ++n2) {
            const double factor = n1 == n2 ? 1.0 : sqrt(2.0);
            for (int l = 0; l < n_l; ++l) {
                double s = 0.0;
                for (int lm = l * l; lm < (l + 1) * (l + 1); ++lm)
                    s += c[n1 * n_lm + lm] * c[n2 * n_lm + lm];
                const double value = factor * s / sqrt(2.0 * l + 1.0);
                row[l + n_l * (n1 * (n1 + 1) / 2 + n2)] = value;
                norm2 += value * value;
            }
        }
    row[n_features - 1] = 0.0;
    if (norm2 > 0.0) {
        const double inv = 1.0 / sqrt(norm2);
        for (long long f = 0; f < n_features - 1; ++f) row[f] *= inv;
    }
}
"""


def power_spectra(basis, cupy, coefficients):
    """:meth:`.soap.SOAPBasis.power_spectrum` of a CuPy batch of summed coefficients (shape
    (k, n_max, (l_max + 1)**2)) on the current card: a CuPy array (k, n_features), one thread
    per sum in the CPU kernel's order (~1e-16 relative from it: the card fuses multiply-adds)."""
    coefficients = cupy.ascontiguousarray(coefficients, dtype=cupy.float64)
    out = cupy.empty((len(coefficients), basis.n_features))
    key = ("spectra", cupy.cuda.Device().id)
    if key not in _MODULES:
        _MODULES[key] = cupy.RawKernel(_POWER_SPECTRA, "power_spectra")
    if len(coefficients):
        _MODULES[key](((len(coefficients) + 127) // 128,), (128,), (
            coefficients, np.int64(len(coefficients)), np.int32(basis.n_max),
            np.int32(basis.l_max), out))
    return out
