"""The per-centre SOAP coefficients on a CUDA GPU (fp64), as :meth:`.soap.SOAPBasis.
center_coefficients` computes them on the CPU: same arguments, same results to ~1e-13.

The kernel (:mod:`._cuda_kernels`) writes node coefficients; the node-to-basis transform is a
batched matrix product (cuBLAS, deterministic), and segment sums are one reduction per segment
in centre order. Centres go through the card in chunks of ``chunk`` (memory ~3.5 kB each).
"""

import numpy as np

from ._cuda_kernels import SOURCE
from .neighbors import CellList, CellStack
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
    C-contiguous, and a CuPy array to keep the rows on the card).
    """
    n = len(centres)
    n_max, n_l = basis.n_max, basis.l_max + 1
    stack = cells if isinstance(cells, CellStack) else CellStack.of([cells])
    f1, f2 = legendre_factors(basis.l_max)
    dev = {name: cupy.asarray(np.ascontiguousarray(value)) for name, value in (
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
    n_neighbors = np.empty(n, dtype=np.int64)
    for start, stop, local in pieces:
        size = stop - start
        nodes_out = cupy.empty((size, n_max, n_l * n_l))
        counts = cupy.empty(size, dtype=cupy.int64)
        args = (cupy.asarray(np.ascontiguousarray(centres[start:stop], dtype=np.float64)),
                cupy.asarray(np.ascontiguousarray(inv_scale[start:stop], dtype=np.float64)),
                cupy.asarray(grid_of[start:stop]), cupy.asarray(self_index[start:stop]),
                dev["points"], dev["index"], dev["cell_start"], dev["origin"], dev["step"],
                dev["dims"], dev["base"], np.float64(basis.r_cut),
                np.float64(basis.cutoff_width), np.float64(basis.alpha), dev["nodes"],
                dev["norm"], dev["f1"], dev["f2"], np.int64(size), nodes_out, counts)
        if size:
            kernel((size,), (32,), args)
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


_NEAREST = r"""
#define K_MAX 32
#define INF_D __longlong_as_double(0x7ff0000000000000LL)
extern "C" __global__ void nearest(
        const double* queries, const long long n_queries, const double* points,
        const long long* cell_start, const double* origin, const double* step,
        const long long* dims, const double reach, const int k, double* out_dist,
        long long* out_index, const long long missing) {
    const long long q = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (q >= n_queries) return;
    double best[K_MAX];
    long long which[K_MAX];
    for (int j = 0; j < k; ++j) { best[j] = INF_D; which[j] = missing; }
    const double x = queries[3 * q], y = queries[3 * q + 1], z = queries[3 * q + 2];
    const double c[3] = {x, y, z};
    long long lo[3], hi[3];
    for (int d = 0; d < 3; ++d) {
        const long long top = dims[d] - 1;
        lo[d] = min(max((long long)floor((c[d] - reach - origin[d]) / step[d]), 0LL), top);
        hi[d] = min(max((long long)floor((c[d] + reach - origin[d]) / step[d]), 0LL), top);
    }
    const double reach2 = reach * reach;
    for (long long ix = lo[0]; ix <= hi[0]; ++ix)
    for (long long iy = lo[1]; iy <= hi[1]; ++iy)
    for (long long iz = lo[2]; iz <= hi[2]; ++iz) {
        const long long cell = (ix * dims[1] + iy) * dims[2] + iz;
        for (long long p = cell_start[cell]; p < cell_start[cell + 1]; ++p) {
            const double dx = points[3 * p] - x, dy = points[3 * p + 1] - y,
                         dz = points[3 * p + 2] - z;
            const double d2 = __dadd_rn(__dadd_rn(__dmul_rn(dx, dx), __dmul_rn(dy, dy)),
                                        __dmul_rn(dz, dz));
            if (d2 > reach2 || d2 >= best[k - 1]) continue;
            int j = k - 1;  // insertion: ascending, earlier points first among equals
            while (j > 0 && best[j - 1] > d2) {
                best[j] = best[j - 1];
                which[j] = which[j - 1];
                --j;
            }
            best[j] = d2;
            which[j] = p;
        }
    }
    for (int j = 0; j < k; ++j) {
        out_dist[q * k + j] = isinf(best[j]) ? INF_D : sqrt(best[j]);
        out_index[q * k + j] = which[j];
    }
}
"""
# Most neighbours one query keeps (the kernel's registers).
NEAREST_K_MAX = 32


def nearest_points(cupy, points, queries, k, reach):
    """The ``k`` nearest of ``points`` (Å) within ``reach`` (Å, finite) of each query, as
    ``scipy.spatial.cKDTree(points).query(queries, k, distance_upper_bound=reach)`` returns
    them: distances (m, k) ascending, inf where fewer lie within reach, and point indices (m, k),
    ``len(points)`` there. One thread per query scans a cell list (cells half the reach wide,
    built on the host); exact squared distances (no fused multiply-adds), so a distance is
    the host's to the rounding of the square root; among equal distances the first scanned
    comes first."""
    if not 1 <= k <= NEAREST_K_MAX:
        raise ValueError(f"k must lie in 1..{NEAREST_K_MAX}; got {k}")
    queries = np.ascontiguousarray(queries, dtype=np.float64)
    n = len(queries)
    if len(points) == 0 or n == 0:
        return np.full((n, k), np.inf), np.full((n, k), len(points), dtype=np.int64)
    cells = CellList.build(points, np.arange(len(points)), reach / 2)
    key = ("nearest", cupy.cuda.Device().id)
    if key not in _MODULES:
        _MODULES[key] = cupy.RawKernel(_NEAREST, "nearest")
    dist = cupy.empty((n, k))
    which = cupy.empty((n, k), dtype=cupy.int64)
    _MODULES[key](((n + 127) // 128,), (128,), (
        cupy.asarray(queries), np.int64(n), cupy.asarray(cells.points),
        cupy.asarray(cells.cell_start), cupy.asarray(cells.origin), cupy.asarray(cells.step),
        cupy.asarray(cells.dims), np.float64(reach), np.int32(k), dist, which,
        np.int64(len(points))))
    which = which.get()
    found = which < len(points)
    which[found] = cells.index[which[found]]  # sorted position -> the caller's index
    return dist.get(), which
