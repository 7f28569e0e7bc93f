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
    e2 = math.exp(-2.0 * x)
    out[0] = (1.0 - e2) / (2.0 * x)
    if l_max >= 1:
        out[1] = ((x - 1.0) + (x + 1.0) * e2) / (2.0 * x * x)
    for l in range(1, l_max):
        out[l + 1] = out[l - 1] - (2 * l + 1) / x * out[l]


@numba.njit(cache=True, fastmath=False)
def real_spherical_harmonics(ux, uy, uz, l_max, norm, q, out):
    """Fill ``out[l*l + l + m]`` with real orthonormal Y_lm of the unit vector (ux, uy, uz).

    ``norm[l, m] = sqrt((2l+1)/(4 pi) (l-m)!/(l+m)!)`` (times sqrt(2) for m > 0), ``q`` is a
    scratch array of shape (l_max + 1, l_max + 1) for the Legendre factors P_l^m / sin^m(theta).
    Cosine-type harmonics sit at +m, sine-type at -m.
    """
    # q[l, m] = P_l^m(z) / sin(theta)^m through the standard three-term recurrences
    q[0, 0] = 1.0
    for m in range(1, l_max + 1):
        q[m, m] = -(2 * m - 1) * q[m - 1, m - 1]
    for m in range(0, l_max):
        q[m + 1, m] = (2 * m + 1) * uz * q[m, m]
    for m in range(0, l_max + 1):
        for l in range(m + 2, l_max + 1):
            q[l, m] = ((2 * l - 1) * uz * q[l - 1, m] - (l + m - 1) * q[l - 2, m]) / (l - m)
    c = 1.0  # Re (ux + i uy)^m
    s = 0.0  # Im (ux + i uy)^m
    for m in range(0, l_max + 1):
        if m > 0:
            c, s = c * ux - s * uy, c * uy + s * ux
        for l in range(m, l_max + 1):
            base = l * l + l
            if m == 0:
                out[base] = norm[l, 0] * q[l, 0]
            else:
                out[base + m] = norm[l, m] * q[l, m] * c
                out[base - m] = norm[l, m] * q[l, m] * s


@numba.njit(cache=True, fastmath=False)
def _add_neighbor(vx, vy, vz, r_cut, cutoff_width, alpha, nodes, l_max, ylm_norm,
                  bessel, ylm, q, acc):
    """Add one neighbour at vector (vx, vy, vz) (d_NN) to the node-basis accumulator acc[a, lm].

    acc[a, lm] += f_cut(r) exp(-alpha (r^2 + r_a^2)) i_l(2 alpha r r_a) Y_lm(v / r), only on the
    nodes ``a`` whose Gaussian factor is not negligible. Returns False if the neighbour is outside
    the cutoff or at distance zero (the centre itself), else True.
    """
    r2 = vx * vx + vy * vy + vz * vz
    if r2 >= r_cut * r_cut or r2 == 0.0:
        return False
    r = math.sqrt(r2)
    if r <= r_cut - cutoff_width:
        f_cut = 1.0
    else:
        f_cut = 0.5 * (math.cos(math.pi * (r - r_cut + cutoff_width) / cutoff_width) + 1.0)
    real_spherical_harmonics(vx / r, vy / r, vz / r, l_max, ylm_norm, q, ylm)
    reach = math.sqrt(_GAUSS_SKIP / alpha)
    spacing = nodes[1] - nodes[0]
    n_max = nodes.shape[0]
    a_lo = max(0, int(math.ceil((r - reach) / spacing)))
    a_hi = min(n_max - 1, int(math.floor((r + reach) / spacing)))
    for a in range(a_lo, a_hi + 1):
        d = r - nodes[a]
        gauss = math.exp(-alpha * d * d) * f_cut
        scaled_spherical_bessel_i(2.0 * alpha * r * nodes[a], l_max, bessel)
        for l in range(l_max + 1):
            rho = gauss * bessel[l]
            for lm in range(l * l, (l + 1) * (l + 1)):
                acc[a, lm] += rho * ylm[lm]
    return True


@numba.njit(cache=True, parallel=True, fastmath=False)
def center_coefficients(centres, inv_scale, points, cell_start, grid_origin, grid_step,
                        grid_dims, r_cut, cutoff_width, alpha, nodes, transform, l_max, ylm_norm,
                        out, n_neighbors):
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
    out : float64 array of shape (n_centres, n_max, (l_max + 1)**2)
        Overwritten with c[n, lm] = sum over neighbours of f_cut(r) sum_a rho_l(r, r_a)
        transform[a, n] Y_lm. A point at distance zero (the centre itself) is skipped.
    n_neighbors : int64 array of shape (n_centres,)
        Overwritten with each centre's number of neighbours inside r_cut.

    Each neighbour is accumulated on the few Gaussian nodes it overlaps; the node-to-basis
    ``transform`` is applied once per centre.
    """
    n_centres = centres.shape[0]
    n_max = nodes.shape[0]
    n_lm = (l_max + 1) * (l_max + 1)
    for i in numba.prange(n_centres):
        bessel = np.empty(l_max + 1)
        ylm = np.empty(n_lm)
        q = np.empty((l_max + 1, l_max + 1))
        acc = np.zeros((n_max, n_lm))
        home = np.empty(3, dtype=np.int64)
        for k in range(3):
            f = (centres[i, k] - grid_origin[k]) / grid_step[k]
            f = min(max(f, -2.0), grid_dims[k] + 1.0)
            home[k] = int(math.floor(f))
        inv = inv_scale[i]
        count = 0
        for ix in range(max(home[0] - 1, 0), min(home[0] + 2, grid_dims[0])):
            for iy in range(max(home[1] - 1, 0), min(home[1] + 2, grid_dims[1])):
                for iz in range(max(home[2] - 1, 0), min(home[2] + 2, grid_dims[2])):
                    cell = (ix * grid_dims[1] + iy) * grid_dims[2] + iz
                    for p in range(cell_start[cell], cell_start[cell + 1]):
                        if _add_neighbor((points[p, 0] - centres[i, 0]) * inv,
                                         (points[p, 1] - centres[i, 1]) * inv,
                                         (points[p, 2] - centres[i, 2]) * inv,
                                         r_cut, cutoff_width, alpha, nodes, l_max, ylm_norm,
                                         bessel, ylm, q, acc):
                            count += 1
        n_neighbors[i] = count
        for n in range(n_max):
            for lm in range(n_lm):
                s = 0.0
                for a in range(n_max):
                    s += transform[a, n] * acc[a, lm]
                out[i, n, lm] = s


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
