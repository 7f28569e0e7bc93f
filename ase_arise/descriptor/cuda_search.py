"""Neighbour searches on a CUDA card (CuPy, fp64): cell lists sorted on the card, the k
nearest points of each query, and fast mode's local d_NN.

:func:`card_cells` bins points exactly as :meth:`.neighbors.CellList.build` does (the same
grid, CuPy's stable sort), so a kernel walks the host's cells in the host's order. One thread
per query walks the cells within its reach; squared distances are exact, ``(dx*dx + dy*dy) +
dz*dz`` with no fused multiply-adds, as on the host.
"""

from dataclasses import dataclass

import numpy as np

from .neighbors import grid_shape

# Shared by the search kernels (``SEARCH`` is also the per-atom rule's, .spm.cuda).
SEARCH = r"""
#define K_MAX 32
#define INF_D __longlong_as_double(0x7ff0000000000000LL)
#define NAN_D __longlong_as_double(0x7ff8000000000000LL)

// Per query c, the k (<= K_MAX) points within reach2 (squared Å) with the smallest (exact
// squared distance, owner), ascending, from the cells within search (Å): their squared
// distances in best, owners in who (owners[p]; p itself where owners is null: scan order,
// so earlier points first among equals) and sorted positions p in where (unless null).
// Returns how many were found.
__device__ int k_smallest(const double* c, const double search, const double reach2,
                          const double* points, const long long* owners,
                          const long long* cell_start, const double* origin,
                          const double* step, const long long* dims, const int k,
                          double* best, long long* who, long long* where) {
    long long lo[3], hi[3];
    for (int d = 0; d < 3; ++d) {
        const long long top = dims[d] - 1;
        lo[d] = min(max((long long)floor((c[d] - search - origin[d]) / step[d]), 0LL), top);
        hi[d] = min(max((long long)floor((c[d] + search - origin[d]) / step[d]), 0LL), top);
    }
    int m = 0;
    for (long long ix = lo[0]; ix <= hi[0]; ++ix)
    for (long long iy = lo[1]; iy <= hi[1]; ++iy)
    for (long long iz = lo[2]; iz <= hi[2]; ++iz) {
        const long long cell = (ix * dims[1] + iy) * dims[2] + iz;
        for (long long p = cell_start[cell]; p < cell_start[cell + 1]; ++p) {
            const double dx = points[3 * p] - c[0], dy = points[3 * p + 1] - c[1],
                         dz = points[3 * p + 2] - c[2];
            const double d2 = __dadd_rn(__dadd_rn(__dmul_rn(dx, dx), __dmul_rn(dy, dy)),
                                        __dmul_rn(dz, dz));
            if (d2 > reach2) continue;
            const long long o = owners ? owners[p] : p;
            if (m == k && (d2 > best[k - 1] || (d2 == best[k - 1] && o >= who[k - 1])))
                continue;
            int j = m < k ? m++ : k - 1;
            while (j > 0 && (best[j - 1] > d2 || (best[j - 1] == d2 && who[j - 1] > o))) {
                best[j] = best[j - 1];
                who[j] = who[j - 1];
                if (where) where[j] = where[j - 1];
                --j;
            }
            best[j] = d2;
            who[j] = o;
            if (where) where[j] = p;
        }
    }
    return m;
}
"""

_SOURCE = SEARCH + r"""
extern "C" __global__ void nearest(
        const double* queries, const long long n_queries, const double* points,
        const long long* cell_start, const double* origin, const double* step,
        const long long* dims, const double reach, const int k, double* out_dist,
        long long* out_index, const long long missing) {
    const long long q = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (q >= n_queries) return;
    double best[K_MAX];
    long long which[K_MAX];
    const int m = k_smallest(queries + 3 * q, reach, reach * reach, points, nullptr,
                             cell_start, origin, step, dims, k, best, which, nullptr);
    for (int j = 0; j < k; ++j) {
        out_dist[q * k + j] = j < m ? sqrt(best[j]) : INF_D;
        out_index[q * k + j] = j < m ? which[j] : missing;
    }
}

// Fast mode's local d_NN of one species: per query, the k points with the smallest (exact
// squared distance, owner) within reach2 (local_dnn's members), then per column j of
// nearest (n_atoms x n_columns) the median of the members' finite values (NaN: none).
extern "C" __global__ void local_units(
        const double* queries, const long long n_queries, const double* points,
        const long long* owners, const long long* cell_start, const double* origin,
        const double* step, const long long* dims, const double search, const double reach2,
        const int k, const double* nearest, const int n_columns, double* out, int* found) {
    const long long q = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (q >= n_queries) return;
    double best[K_MAX];
    long long who[K_MAX];
    const int m = k_smallest(queries + 3 * q, search, reach2, points, owners, cell_start,
                             origin, step, dims, k, best, who, nullptr);
    found[q] = m;
    for (int col = 0; col < n_columns; ++col) {
        double v[K_MAX];
        int n = 0;
        for (int i = 0; i < m; ++i) {  // the finite values, sorted by insertion
            const double x = nearest[who[i] * n_columns + col];
            if (!isfinite(x)) continue;
            int j = n++;
            while (j > 0 && v[j - 1] > x) { v[j] = v[j - 1]; --j; }
            v[j] = x;
        }
        out[q * n_columns + col] = n == 0 ? NAN_D
            : (n % 2 ? v[n / 2] : __ddiv_rn(__dadd_rn(v[n / 2 - 1], v[n / 2]), 2.0));
    }
}
"""
# Most neighbours one query keeps (the kernels' registers).
NEAREST_K_MAX = 32
_THREADS = 128
_KERNELS = {}


def _kernel(cupy, name):
    key = (name, cupy.cuda.Device().id)
    if key not in _KERNELS:
        _KERNELS[key] = cupy.RawModule(code=_SOURCE).get_function(name)
    return _KERNELS[key]


@dataclass(frozen=True)
class CardCells:
    """A :class:`.neighbors.CellList` on the card: ``points``, ``index`` and ``cell_start``
    are CuPy arrays, ``origin``, ``step`` (Å) and ``dims`` numpy arrays of shape (3,)."""
    points: object
    index: object
    cell_start: object
    origin: np.ndarray
    step: np.ndarray
    dims: np.ndarray

    def grid(self, cupy):
        """The kernels' grid arguments: cell_start, origin, step, dims on the card."""
        return (self.cell_start, cupy.asarray(self.origin), cupy.asarray(self.step),
                cupy.asarray(self.dims))


def card_cells(cupy, points, index, width, bounds=None):
    """:meth:`.neighbors.CellList.build` of ``points`` (m, 3) (Å) labelled ``index`` (m,) into
    cells at least ``width`` wide (Å) over ``bounds`` (the same), sorted on the card: the
    same cells and order."""
    points = cupy.ascontiguousarray(cupy.asarray(points, dtype=cupy.float64))
    index = cupy.asarray(index, dtype=cupy.int64)
    lower, upper, n_points = (points.min(axis=0).get(), points.max(axis=0).get(),
                              len(points)) if bounds is None else bounds
    lower = np.asarray(lower, dtype=np.float64)
    dims, step = grid_shape(lower, upper, n_points, width)
    coords = cupy.clip(((points - cupy.asarray(lower)) / cupy.asarray(step))
                       .astype(cupy.int64), 0, cupy.asarray(dims - 1))
    flat = (coords[:, 0] * int(dims[1]) + coords[:, 1]) * int(dims[2]) + coords[:, 2]
    order = cupy.argsort(flat)  # stable
    counts = cupy.bincount(flat, minlength=int(np.prod(dims)))
    cell_start = cupy.concatenate([cupy.zeros(1, dtype=cupy.int64),
                                   cupy.cumsum(counts).astype(cupy.int64)])
    return CardCells(cupy.ascontiguousarray(points[order]), index[order], cell_start, lower,
                     step, dims)


def nearest_points(cupy, points, queries, k, reach):
    """The ``k`` nearest of ``points`` (Å) within ``reach`` (Å, finite) of each query, as
    ``scipy.spatial.cKDTree(points).query(queries, k, distance_upper_bound=reach)`` returns
    them: distances (m, k) ascending, inf where fewer lie within reach, and point indices (m, k),
    ``len(points)`` there. Cells half the reach wide; a distance is the host's to the
    rounding of the square root; among equal distances the first scanned comes first."""
    if not 1 <= k <= NEAREST_K_MAX:
        raise ValueError(f"k must lie in 1..{NEAREST_K_MAX}; got {k}")
    queries = np.ascontiguousarray(queries, dtype=np.float64)
    n = len(queries)
    if len(points) == 0 or n == 0:
        return np.full((n, k), np.inf), np.full((n, k), len(points), dtype=np.int64)
    cells = card_cells(cupy, points, np.arange(len(points)), reach / 2)
    dist = cupy.empty((n, k))
    which = cupy.empty((n, k), dtype=cupy.int64)
    _kernel(cupy, "nearest")(((n + _THREADS - 1) // _THREADS,), (_THREADS,), (
        cupy.asarray(queries), np.int64(n), cells.points, *cells.grid(cupy), np.float64(reach),
        np.int32(k), dist, which, np.int64(len(points))))
    found = which < len(points)
    which = cupy.where(found, cells.index[cupy.minimum(which, len(points) - 1)], len(points))
    return dist.get(), which.get()  # sorted position -> the caller's index


def local_units(cupy, points, owners, queries, k, reaches, nearest):
    """Fast mode's local d_NN (Å) of ``queries`` (Å) on the card: per query the ``k`` points
    (atoms ``owners``) with the smallest (exact squared distance, owner) within a reach, and
    per column of ``nearest`` (n_atoms, n_columns; each atom's nearest distance to each
    species, Å) the median of the members' finite values: shape (len(queries), n_columns),
    NaN where none (:func:`.local_dnn.units_of`, bit for bit).

    ``reaches``: (reach, search >= reach) pairs (Å), tried in turn, as
    :func:`.local_dnn.local_members` does: the queries with fewer than k members within
    one reach go again with the next (k members within a shorter reach are the k within any
    longer one)."""
    if not 1 <= k <= NEAREST_K_MAX:
        raise ValueError(f"k must lie in 1..{NEAREST_K_MAX}; got {k}")
    nearest = cupy.asarray(np.ascontiguousarray(nearest, dtype=np.float64))
    n, n_columns = len(queries), nearest.shape[1]
    out = np.full((n, n_columns), np.nan)
    rows = np.arange(n)
    for reach, search in reaches:
        if len(points) == 0 or not len(rows):
            break
        cells = card_cells(cupy, points, owners, max(search / 2, 1e-3))
        part = cupy.empty((len(rows), n_columns))
        found = cupy.empty(len(rows), dtype=cupy.int32)
        _kernel(cupy, "local_units")(((len(rows) + _THREADS - 1) // _THREADS,), (_THREADS,), (
            cupy.asarray(np.ascontiguousarray(queries[rows], dtype=np.float64)),
            np.int64(len(rows)), cells.points, cells.index, *cells.grid(cupy),
            np.float64(search), np.float64(reach * reach), np.int32(k), nearest,
            np.int32(n_columns), part, found))
        out[rows] = part.get()
        rows = rows[found.get() < k]
    return out
