"""Numba kernels of QUIP's SOAP expansion (plain arrays in, plain arrays out).

The formulas are those of QUIP/GAP ``descriptors.f95`` (``soap`` descriptor), written out in
``shared/DESIGN.md`` §5 of the project: Gaussian radial functions on equally spaced nodes, made
orthonormal by a lower Cholesky factor of their overlap, an analytic radial integral through scaled
modified spherical Bessel functions, and real orthonormal spherical harmonics (the power spectrum is
the same in any orthonormal basis of each ``l``). Distances are in units of the nearest-neighbour
distance d_NN throughout; the caller scales. This module holds no validation and no ASE objects.
"""

import math

import numba
import numpy as np

# Terms whose Gaussian factor exp(-alpha (r - r_node)^2) is below exp(-_GAUSS_SKIP) are dropped:
# their contribution is < 1e-17 of the leading ones, far below the 1e-8 fidelity target.
_GAUSS_SKIP = 40.0
# Below this argument the scaled Bessel functions come from their power series, above it from
# the upward recurrence (stable there for l <= 8, relative error ~1e-14).
_SERIES_BELOW = 24.0
# Floating-point reassociation lets LLVM vectorise the sums over neighbours (results change at
# the 1e-16 level); no NaN/inf assumptions are made.
_FAST = {"reassoc", "contract", "arcp"}


@numba.njit(cache=True, fastmath=False)
def scaled_spherical_bessel_i(x, l_max, out):
    """Fill ``out[l] = exp(-x) * i_l(x)`` for l = 0..l_max (modified spherical Bessel, 1st kind).

    ``x >= 0``. Power series below ``_SERIES_BELOW`` (all terms positive: no cancellation),
    upward recurrence ``i_{l+1} = i_{l-1} - (2l + 1) / x * i_l`` above.
    """
    if x < 1e-300:
        out[0] = 1.0
        for l in range(1, l_max + 1):
            out[l] = 0.0
        return
    if x < _SERIES_BELOW:
        half_x2 = 0.5 * x * x
        ex = math.exp(-x)
        lead = 1.0  # x^l / (2l + 1)!!
        for l in range(l_max + 1):
            if l > 0:
                lead *= x / (2 * l + 1)
            term = 1.0
            total = 1.0
            k = 1
            while term > 1e-17 * total:
                term *= half_x2 / (k * (2 * l + 2 * k + 1))
                total += term
                k += 1
            out[l] = lead * total * ex
        return
    # exp(-2x) < 1e-20 here: i_0 = sinh(x)/x and i_1 = (x cosh x - sinh x)/x^2 lose it exactly
    inv_x = 1.0 / x
    out[0] = 0.5 * inv_x
    if l_max >= 1:
        out[1] = 0.5 * (x - 1.0) * inv_x * inv_x
    for l in range(1, l_max):
        out[l + 1] = out[l - 1] - (2 * l + 1) * inv_x * out[l]


@numba.njit(cache=True, fastmath=False)
def legendre_factors(l_max):
    """Factors of the recurrence q[l, m] = f1[l, m] z q[l-1, m] - f2[l, m] q[l-2, m]:
    f1 = (2l - 1) / (l - m), f2 = (l + m - 1) / (l - m), shape (l_max + 1, l_max + 1)."""
    f1 = np.zeros((l_max + 1, l_max + 1))
    f2 = np.zeros((l_max + 1, l_max + 1))
    for m in range(l_max + 1):
        for l in range(m + 1, l_max + 1):
            f1[l, m] = (2 * l - 1) / (l - m)
            f2[l, m] = (l + m - 1) / (l - m)
    return f1, f2


@numba.njit(cache=True, fastmath=_FAST)
def real_spherical_harmonics(u, count, l_max, norm, f1, f2, q, cos_m, sin_m, out):
    """Real orthonormal Y_lm of ``count`` unit vectors, vectorised over the vectors.

    Parameters
    ----------
    u : float64 array of shape (3, >= count)
        Unit vectors as columns.
    norm : float64 array of shape (l_max + 1, l_max + 1)
        sqrt((2l+1)/(4 pi) (l-m)!/(l+m)!), times sqrt(2) for m > 0.
    f1, f2 : from :func:`legendre_factors`.
    q : scratch of shape (l_max + 1, l_max + 1, >= count)
        Receives P_l^m(z) / sin^m(theta).
    cos_m, sin_m : scratch of shape (l_max + 1, >= count)
        Receive Re and Im of (x + i y)^m.
    out : float64 array of shape ((l_max + 1)**2, >= count)
        Row l*l + l + m holds the cosine-type harmonic for m >= 0, row l*l + l - m the sine type.
    """
    pmm = 1.0
    for m in range(l_max + 1):
        if m > 0:
            pmm *= -(2 * m - 1)
        for p in range(count):
            q[m, m, p] = pmm
        if m + 1 <= l_max:
            for p in range(count):
                q[m + 1, m, p] = f1[m + 1, m] * u[2, p] * pmm
        for l in range(m + 2, l_max + 1):
            a = f1[l, m]
            b = f2[l, m]
            for p in range(count):
                q[l, m, p] = a * u[2, p] * q[l - 1, m, p] - b * q[l - 2, m, p]
    for p in range(count):
        cos_m[0, p] = 1.0
        sin_m[0, p] = 0.0
    for m in range(1, l_max + 1):
        for p in range(count):
            cos_m[m, p] = cos_m[m - 1, p] * u[0, p] - sin_m[m - 1, p] * u[1, p]
            sin_m[m, p] = cos_m[m - 1, p] * u[1, p] + sin_m[m - 1, p] * u[0, p]
    for l in range(l_max + 1):
        base = l * l + l
        c0 = norm[l, 0]
        for p in range(count):
            out[base, p] = c0 * q[l, 0, p]
        for m in range(1, l + 1):
            c = norm[l, m]
            for p in range(count):
                out[base + m, p] = c * q[l, m, p] * cos_m[m, p]
                out[base - m, p] = c * q[l, m, p] * sin_m[m, p]


@numba.njit(cache=True, fastmath=_FAST)
def radial_terms(r, count, r_cut, cutoff_width, alpha, nodes, l_max, bessel, out):
    """Radial factors f_cut(r) exp(-alpha (r^2 + r_a^2)) i_l(2 alpha r r_a) of ``count``
    neighbours at distances ``r`` (d_NN), into ``out[a * (l_max + 1) + l, p]`` (zeros where the
    Gaussian factor is negligible). ``bessel`` is scratch of length l_max + 1.
    """
    n_max = nodes.shape[0]
    n_l = l_max + 1
    reach = math.sqrt(_GAUSS_SKIP / alpha)
    spacing = nodes[1] - nodes[0]
    decay = math.exp(-2.0 * alpha * spacing * spacing)
    for k in range(n_max * n_l):
        for p in range(count):
            out[k, p] = 0.0
    for p in range(count):
        rp = r[p]
        if rp <= r_cut - cutoff_width:
            f_cut = 1.0
        else:
            f_cut = 0.5 * (math.cos(math.pi * (rp - r_cut + cutoff_width) / cutoff_width) + 1.0)
        a_lo = max(0, int(math.ceil((rp - reach) / spacing)))
        a_hi = min(n_max - 1, int(math.floor((rp + reach) / spacing)))
        # Gaussian factors of successive nodes by a product recurrence (two exp per neighbour)
        d = rp - nodes[a_lo]
        gauss = math.exp(-alpha * d * d) * f_cut
        ratio = math.exp(alpha * spacing * (2.0 * d - spacing))
        for a in range(a_lo, a_hi + 1):
            scaled_spherical_bessel_i(2.0 * alpha * rp * nodes[a], l_max, bessel)
            for l in range(n_l):
                out[a * n_l + l, p] = gauss * bessel[l]
            gauss *= ratio
            ratio *= decay


@numba.njit(cache=True, parallel=True, fastmath=_FAST)
def center_coefficients(centres, inv_scale, points, cell_start, grid_origin, grid_step,
                        grid_dims, r_cut, cutoff_width, alpha, nodes, transform, l_max, ylm_norm,
                        n_blocks, out, n_neighbors):
    """Expansion coefficients of each centre's neighbourhood, with a cell list.

    Parameters
    ----------
    centres : float64 array of shape (n_centres, 3)
        Centre positions (Å).
    inv_scale : float64 array of shape (n_centres,)
        1 / (length unit of each centre, Å): neighbour vectors are multiplied by it, so that
        ``r_cut``, ``cutoff_width``, ``alpha`` and ``nodes`` are in that unit (d_NN).
    points : float64 array of shape (n_points, 3)
        Neighbour positions (Å), periodic images included, sorted by grid cell.
    cell_start : int64 array of shape (n_cells + 1,)
        Points of cell ``k`` (flat index (ix * ny + iy) * nz + iz) are
        ``points[cell_start[k]:cell_start[k + 1]]``.
    grid_origin, grid_step : float64 arrays of shape (3,)
        Lower corner and edge lengths of the grid cells (Å); every edge >= r_cut / inv_scale.
    grid_dims : int64 array of shape (3,)
    n_blocks : int
        Centres are split into this many blocks (work units of the threads, >= 1).
    out : float64 array of shape (n_centres, n_max, (l_max + 1)**2)
        Overwritten with c[n, lm] = sum over neighbours of f_cut(r) sum_a rho_l(r, r_a)
        transform[a, n] Y_lm. A point at distance zero (the centre itself) is skipped.
    n_neighbors : int64 array of shape (n_centres,)
        Overwritten with each centre's number of neighbours inside r_cut.

    Each centre's neighbours are gathered into buffers; harmonics and radial factors are
    computed over them in vectorised loops, contracted on the Gaussian nodes, and the
    node-to-basis ``transform`` is applied once per centre. Centres are processed in blocks,
    each with its own scratch memory.
    """
    n_centres = centres.shape[0]
    n_max = nodes.shape[0]
    n_l = l_max + 1
    n_lm = n_l * n_l
    f1, f2 = legendre_factors(l_max)
    r_cut2 = r_cut * r_cut
    for block in numba.prange(n_blocks):
        capacity = 64
        unit = np.empty((3, capacity))
        dist = np.empty(capacity)
        ylm, radial, q, cos_m, sin_m = _scratch(capacity, n_max, n_l)
        bessel = np.empty(n_l)
        acc = np.empty((n_max, n_lm))
        home = np.empty(3, dtype=np.int64)
        for i in range(block * n_centres // n_blocks, (block + 1) * n_centres // n_blocks):
            inv = inv_scale[i]
            for k in range(3):
                f = (centres[i, k] - grid_origin[k]) / grid_step[k]
                f = min(max(f, -2.0), grid_dims[k] + 1.0)
                home[k] = int(math.floor(f))
            count = 0
            for ix in range(max(home[0] - 1, 0), min(home[0] + 2, grid_dims[0])):
                for iy in range(max(home[1] - 1, 0), min(home[1] + 2, grid_dims[1])):
                    for iz in range(max(home[2] - 1, 0), min(home[2] + 2, grid_dims[2])):
                        cell = (ix * grid_dims[1] + iy) * grid_dims[2] + iz
                        for p in range(cell_start[cell], cell_start[cell + 1]):
                            vx = (points[p, 0] - centres[i, 0]) * inv
                            vy = (points[p, 1] - centres[i, 1]) * inv
                            vz = (points[p, 2] - centres[i, 2]) * inv
                            r2 = vx * vx + vy * vy + vz * vz
                            if r2 >= r_cut2 or r2 == 0.0:
                                continue
                            if count == capacity:
                                capacity *= 2
                                unit = _grow(unit, capacity)
                                dist = np.concatenate((dist, np.empty(capacity - dist.shape[0])))
                                ylm, radial, q, cos_m, sin_m = _scratch(capacity, n_max, n_l)
                            r = math.sqrt(r2)
                            dist[count] = r
                            unit[0, count] = vx / r
                            unit[1, count] = vy / r
                            unit[2, count] = vz / r
                            count += 1
            n_neighbors[i] = count
            real_spherical_harmonics(unit, count, l_max, ylm_norm, f1, f2, q, cos_m, sin_m, ylm)
            radial_terms(dist, count, r_cut, cutoff_width, alpha, nodes, l_max, bessel, radial)
            for a in range(n_max):
                for l in range(n_l):
                    row = a * n_l + l
                    for lm in range(l * l, (l + 1) * (l + 1)):
                        s = 0.0
                        for p in range(count):
                            s += radial[row, p] * ylm[lm, p]
                        acc[a, lm] = s
            for n in range(n_max):
                for lm in range(n_lm):
                    s = 0.0
                    for a in range(n_max):
                        s += transform[a, n] * acc[a, lm]
                    out[i, n, lm] = s


@numba.njit(cache=True)
def _scratch(capacity, n_max, n_l):
    """Per-neighbour work arrays: harmonics, radial factors, Legendre and (x + iy)^m terms."""
    return (np.empty((n_l * n_l, capacity)), np.empty((n_max * n_l, capacity)),
            np.empty((n_l, n_l, capacity)), np.empty((n_l, capacity)), np.empty((n_l, capacity)))


@numba.njit(cache=True)
def _grow(unit, capacity):
    bigger = np.empty((3, capacity))
    bigger[:, :unit.shape[1]] = unit
    return bigger


@numba.njit(cache=True, fastmath=False)
def power_spectrum(coefficients, l_max, out):
    """Fill ``out`` (length n_max (n_max + 1) / 2 * (l_max + 1) + 1) with QUIP's normalised
    power spectrum of the summed coefficients (shape (n_max, (l_max + 1)**2)).

    p(n1, n2, l) = (2l + 1)^(-1/2) sum_m c[n1, lm] c[n2, lm], n2 <= n1, off-diagonal times
    sqrt(2), at index l + (l_max + 1) * (n1 (n1 + 1) / 2 + n2) (0-based n). The last element
    stays 0 (QUIP's covariance_sigma0); the vector is L2-normalised. All zeros if the
    coefficients vanish.
    """
    n_max = coefficients.shape[0]
    n_l = l_max + 1
    norm2 = 0.0
    for n1 in range(n_max):
        for n2 in range(n1 + 1):
            factor = 1.0 if n1 == n2 else math.sqrt(2.0)
            for l in range(n_l):
                s = 0.0
                for lm in range(l * l, (l + 1) * (l + 1)):
                    s += coefficients[n1, lm] * coefficients[n2, lm]
                value = factor * s / math.sqrt(2.0 * l + 1.0)
                out[l + n_l * (n1 * (n1 + 1) // 2 + n2)] = value
                norm2 += value * value
    out[out.shape[0] - 1] = 0.0
    if norm2 > 0.0:
        inv = 1.0 / math.sqrt(norm2)
        for k in range(out.shape[0] - 1):
            out[k] *= inv
