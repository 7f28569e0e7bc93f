"""CUDA kernel of the per-centre SOAP node coefficients (CuPy RawModule; fp64 throughout).

The same expansion as :mod:`._centre_kernels` (QUIP's formulas, shared/DESIGN.md §5), laid out
for a GPU: one warp per centre. The warp walks the centre's candidate cells; its 32 lanes test
32 points at a time, and the accepted neighbours are compacted by ballot into a tile of 32 in
the order of the walk (so sums never depend on timing: no atomics). For a full tile each lane
computes one neighbour's 49 harmonics and 9 x 7 radial factors into shared memory, then each
lane adds the tile into the ~14 of the 9 x 49 node coefficients it owns. The node-to-basis
transform is a matrix product afterwards (:func:`ase_arise.descriptor.cuda.center_coefficients`).
"""

SOURCE = r"""
#define NL (L_MAX + 1)
#define NLM (NL * NL)
#define NOUT (N_MAX * NLM)
#define TILE 32
#define ROW (TILE + 1)  // a tile row's stride: rows one bank apart, no conflicts across lanes
#define PER_LANE ((NOUT + TILE - 1) / TILE)
#define FULL 0xffffffffu

__device__ double squared_gap(double x, double start, double width) {
    if (x < start) return (start - x) * (start - x);
    if (x > start + width) return (x - start - width) * (x - start - width);
    return 0.0;
}

// exp(-x) i_l(x) times g, l = 0..L_MAX, into out[l * ROW] (the CPU kernel's series / recurrence)
__device__ void radial_terms(double x, double g, double* out) {
    if (x < 1e-300) {
        out[0] = g;
        for (int l = 1; l <= L_MAX; ++l) out[l * ROW] = 0.0;
        return;
    }
    if (x < SERIES_BELOW) {
        double half_x2 = 0.5 * x * x, ex = exp(-x), lead = 1.0;
        for (int l = 0; l <= L_MAX; ++l) {
            if (l > 0) lead *= x / (2 * l + 1);
            double term = 1.0, total = 1.0;
            for (int k = 1; term > 1e-17 * total; ++k) {
                term *= half_x2 / (k * (2 * l + 2 * k + 1));
                total += term;
            }
            out[l * ROW] = g * lead * total * ex;
        }
        return;
    }
    double ix = 1.0 / x;
    double lo = 0.5 * g * ix, mid = lo * (1.0 - ix);
    out[0] = lo;
    if (L_MAX >= 1) out[ROW] = mid;
    for (int l = 1; l < L_MAX; ++l) {
        double hi = lo - (2 * l + 1) * ix * mid;
        out[(l + 1) * ROW] = hi;
        lo = mid;
        mid = hi;
    }
}

// One tile of n neighbours (their vectors in vec): lane q < n computes neighbour q's harmonics
// and radial factors into shared memory, then every lane adds the tile into the node
// coefficients it owns (output o = lane + 32 k is node o / 49, harmonic o % 49), in tile order.
__device__ __forceinline__ void tile_step(
        const int n_, const int lane, const double* vec, double* ylm, double* rad, double* acc,
        const bool even_only, const double r_cut, const double cutoff_width, const double alpha,
        const double reach2, const double* nodes, const double* ylm_norm, const double* f1,
        const double* f2) {
    if (lane < n_) {
        const int q = lane;
        const double ux = vec[q], uy = vec[TILE + q], uz = vec[2 * TILE + q];
        const double r = vec[3 * TILE + q], w = vec[4 * TILE + q];
        double leg[NL * NL];
        double pmm = 1.0;
        for (int m = 0; m <= L_MAX; ++m) {
            if (m > 0) pmm *= -(2 * m - 1);
            leg[m * NL + m] = pmm;
            if (m + 1 <= L_MAX) leg[(m + 1) * NL + m] = f1[(m + 1) * NL + m] * uz * pmm;
            for (int l = m + 2; l <= L_MAX; ++l)
                leg[l * NL + m] = f1[l * NL + m] * uz * leg[(l - 1) * NL + m]
                                  - f2[l * NL + m] * leg[(l - 2) * NL + m];
        }
        double cosm = 1.0, sinm = 0.0;
        for (int m = 0; m <= L_MAX; ++m) {
            if (m > 0) {
                double c2 = cosm * ux - sinm * uy;
                sinm = cosm * uy + sinm * ux;
                cosm = c2;
            }
            for (int l = m; l <= L_MAX; ++l) {
                int centre = l * l + l;
                double v = w * ylm_norm[l * NL + m] * leg[l * NL + m];
                if (m == 0) {
                    ylm[centre * ROW + q] = v;
                } else {
                    ylm[(centre + m) * ROW + q] = v * cosm;
                    ylm[(centre - m) * ROW + q] = v * sinm;
                }
            }
        }
        double f_cut = 1.0;
        if (r > r_cut - cutoff_width)
            f_cut = 0.5 * (cos(3.141592653589793 * (r - r_cut + cutoff_width) / cutoff_width) + 1.0);
        for (int a = 0; a < N_MAX; ++a) {
            double d = r - nodes[a];
            double* slot = rad + a * NL * ROW + q;
            if (d * d > reach2) {
                for (int l = 0; l <= L_MAX; ++l) slot[l * ROW] = 0.0;
                continue;
            }
            radial_terms(2.0 * alpha * nodes[a] * r, exp(-alpha * d * d) * f_cut, slot);
        }
    }
    __syncwarp();
    for (int k = 0; k < PER_LANE; ++k) {
        int o = lane + TILE * k;
        if (o >= NOUT) break;
        int a = o / NLM, lm = o - a * NLM;
        int l = (int)sqrt((double)lm + 0.5);
        if (even_only && (l & 1)) continue;
        const double* rr = rad + (a * NL + l) * ROW;
        const double* yy = ylm + lm * ROW;
        double s = 0.0;
        for (int q = 0; q < n_; ++q) s += rr[q] * yy[q];
        acc[k] += s;
    }
    __syncwarp();
}

extern "C" __global__ void node_coefficients(
        const double* centres, const double* inv_scale, const long long* grid_of,
        const long long* self_index, const double* points, const long long* point_index,
        const long long* cell_start, const double* grid_origin, const double* grid_step,
        const long long* grid_dims, const long long* cell_base, const double r_cut,
        const double cutoff_width, const double alpha, const double* nodes,
        const double* ylm_norm, const double* f1, const double* f2, const long long n_centres,
        double* out, long long* n_neighbors) {
    __shared__ double ylm[NLM * ROW];
    __shared__ double rad[N_MAX * NL * ROW];
    __shared__ double vec[5 * TILE];  // unit vector, distance (d_NN) and weight per neighbour
    const long long i = blockIdx.x;
    const int lane = threadIdx.x;
    if (i >= n_centres) return;
    const double inv = inv_scale[i];
    const double span = r_cut / inv, span2 = span * span, r_cut2 = r_cut * r_cut;
    const long long g = grid_of[i], me = self_index[i], base = cell_base[g];
    const double cx = centres[3 * i], cy = centres[3 * i + 1], cz = centres[3 * i + 2];
    const double c[3] = {cx, cy, cz};
    long long low[3], high[3], dims[3];
    double origin[3], step[3];
    for (int k = 0; k < 3; ++k) {
        dims[k] = grid_dims[3 * g + k];
        origin[k] = grid_origin[3 * g + k];
        step[k] = grid_step[3 * g + k];
        long long top = dims[k] - 1;
        long long a = (long long)floor((c[k] - span - origin[k]) / step[k]);
        long long b = (long long)floor((c[k] + span - origin[k]) / step[k]);
        low[k] = min(max(a, 0LL), top);
        high[k] = min(max(b, 0LL), top);
    }
    double acc[PER_LANE];
    for (int k = 0; k < PER_LANE; ++k) acc[k] = 0.0;
    const bool even_only = me >= 0;
    const double reach2 = GAUSS_SKIP / alpha;
    long long total = 0;
    int count = 0;  // neighbours in the tile
    for (long long ix = low[0]; ix <= high[0]; ++ix) {
        double gx = (ix > 0 && ix < dims[0] - 1) ? squared_gap(cx, origin[0] + ix * step[0], step[0]) : 0.0;
        for (long long iy = low[1]; iy <= high[1]; ++iy) {
            double gy = (iy > 0 && iy < dims[1] - 1) ? squared_gap(cy, origin[1] + iy * step[1], step[1]) : 0.0;
            if (gx + gy >= span2) continue;
            for (long long iz = low[2]; iz <= high[2]; ++iz) {
                double gz = (iz > 0 && iz < dims[2] - 1) ? squared_gap(cz, origin[2] + iz * step[2], step[2]) : 0.0;
                if (gx + gy + gz >= span2) continue;
                long long cell = base + (ix * dims[1] + iy) * dims[2] + iz;
                long long start = cell_start[cell], end = cell_start[cell + 1];
                for (long long p0 = start; p0 < end; p0 += TILE) {
                    long long p = p0 + lane;
                    bool taken = false;
                    double vx = 0.0, vy = 0.0, vz = 0.0, r2 = 0.0, w = 1.0;
                    if (p < end) {
                        vx = (points[3 * p] - cx) * inv;
                        vy = (points[3 * p + 1] - cy) * inv;
                        vz = (points[3 * p + 2] - cz) * inv;
                        r2 = vx * vx + vy * vy + vz * vz;
                        if (r2 < r_cut2 && r2 != 0.0) {
                            ++total;
                            taken = true;
                            if (me >= 0) {
                                long long j = point_index[p];
                                if (j < me) taken = false;
                                else if (j == me) w = 0.5;
                            }
                        }
                    }
                    unsigned mask = __ballot_sync(FULL, taken);
                    int pos = count + __popc(mask & ((1u << lane) - 1u));
                    int added = __popc(mask);
                    double r = taken ? sqrt(r2) : 1.0;
                    if (taken && pos < TILE) {
                        vec[pos] = vx / r; vec[TILE + pos] = vy / r; vec[2 * TILE + pos] = vz / r;
                        vec[3 * TILE + pos] = r; vec[4 * TILE + pos] = w;
                    }
                    if (count + added >= TILE) {
                        __syncwarp();
                        tile_step(TILE, lane, vec, ylm, rad, acc, even_only, r_cut, cutoff_width, alpha,
                                  reach2, nodes, ylm_norm, f1, f2);
                        if (taken && pos >= TILE) {
                            int q = pos - TILE;
                            vec[q] = vx / r; vec[TILE + q] = vy / r; vec[2 * TILE + q] = vz / r;
                            vec[3 * TILE + q] = r; vec[4 * TILE + q] = w;
                        }
                        count = count + added - TILE;
                    } else {
                        count += added;
                    }
                    __syncwarp();
                }
            }
        }
    }
    if (count > 0) {
        __syncwarp();
        tile_step(count, lane, vec, ylm, rad, acc, even_only, r_cut, cutoff_width, alpha,
                  reach2, nodes, ylm_norm, f1, f2);
    }
    for (int off = 16; off > 0; off >>= 1) total += __shfl_down_sync(FULL, total, off);
    if (lane == 0) n_neighbors[i] = total;
    const double weight = even_only ? 2.0 : 1.0;
    for (int k = 0; k < PER_LANE; ++k) {
        int o = lane + TILE * k;
        if (o < NOUT) out[i * NOUT + o] = weight * acc[k];
    }
}
"""

# One tile of `n` neighbours (their vectors in `vec`): lane q < n computes neighbour q's
# harmonics and radial factors into shared memory, then every lane adds the tile into the node
# coefficients it owns (output o = lane + 32 k is node o / 49, harmonic o % 49), in tile order.
