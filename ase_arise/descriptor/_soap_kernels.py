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
# (exp(-25) instead measured only 3 % faster: docs/DECISIONS.md, "CPU throughput".)
_GAUSS_SKIP = 40.0
# Below this argument the scaled Bessel functions come from their power series, above it from
# the upward recurrence (stable there for l <= 8, relative error ~1e-14).
_SERIES_BELOW = 24.0
# Floating-point reassociation lets LLVM vectorise the sums over neighbours (results change at
# the 1e-16 level); no NaN/inf assumptions are made.
_FAST = {"reassoc", "contract", "arcp"}


@numba.njit(cache=True, nogil=True, fastmath=False)
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


@numba.njit(cache=True, nogil=True, fastmath=False)
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


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
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


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def gaussian_factors(dist, count, r_cut, cutoff_width, alpha, nodes, out, first, last):
    """Cutoff times Gaussian factors f_cut(r) exp(-alpha (r - r_a)^2) of ``count`` neighbours at
    nearly sorted distances ``dist`` (d_NN), into ``out[a, p]``; zero where negligible.

    Node ``a`` needs the neighbours ``first[a] <= p < last[a]`` (empty when ``last[a] <=
    first[a]``); the range may hold a few with a zero factor, since the order is by shells.
    """
    n_max = nodes.shape[0]
    reach = math.sqrt(_GAUSS_SKIP / alpha)
    spacing = nodes[1] - nodes[0]
    decay = math.exp(-2.0 * alpha * spacing * spacing)
    for a in range(n_max):
        first[a] = count
        last[a] = 0
        for p in range(count):
            out[a, p] = 0.0
    for p in range(count):
        rp = dist[p]
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
            out[a, p] = gauss
            gauss *= ratio
            ratio *= decay
            first[a] = min(first[a], p)
            last[a] = max(last[a], p + 1)


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def node_radial_terms(scale, dist, inv_dist, gauss, l_max, inv_x, bessel, out):
    """Radial factors gauss[p] exp(-x) i_l(x), x = ``scale`` dist[p], for l = 0..l_max into
    ``out[l, p]``; ``dist`` > 0 with ``inv_dist`` = 1 / dist, ``scale`` = 2 alpha r_a for node
    r_a.

    Vectorised over the neighbours by the upward recurrence (it is linear, so it runs on the
    products with ``gauss`` directly); the neighbours with x below ``_SERIES_BELOW`` (if any)
    are then redone with the power series. ``inv_x`` and ``bessel`` are scratch.
    """
    n = dist.shape[0]
    if scale == 0.0:  # the node at r = 0: i_0(0) = 1, i_l(0) = 0 for l > 0
        for l in range(l_max + 1):
            for p in range(n):
                out[l, p] = gauss[p] if l == 0 else 0.0
        return
    inv_scale = 1.0 / scale
    r0 = out[0]
    r1 = out[1]
    near = False
    for p in range(n):
        ix = inv_dist[p] * inv_scale
        inv_x[p] = ix
        g = 0.5 * gauss[p] * ix
        r0[p] = g
        r1[p] = g * (1.0 - ix)
        near |= scale * dist[p] < _SERIES_BELOW
    for l in range(1, l_max):
        factor = 2.0 * l + 1.0
        lo = out[l - 1]
        mid = out[l]
        hi = out[l + 1]
        for p in range(n):
            hi[p] = lo[p] - factor * inv_x[p] * mid[p]
    if not near:
        return
    for p in range(n):
        x = scale * dist[p]
        if x >= _SERIES_BELOW:
            continue
        scaled_spherical_bessel_i(x, l_max, bessel)
        for l in range(l_max + 1):
            out[l, p] = gauss[p] * bessel[l]


@numba.njit(cache=True, nogil=True, fastmath=_FAST)
def contract_harmonics(radial, ylm, lo, hi, l_max, even_only, out):
    """out[lm] = sum over neighbours lo <= p < hi of radial[l, p - lo] ylm[lm, p]; with
    ``even_only``, zero for odd l."""
    n = hi - lo
    for l in range(l_max + 1):
        if even_only and l % 2 == 1:
            out[l * l:(l + 1) * (l + 1)] = 0.0
            continue
        r = radial[l, :n]  # 1D contiguous views: numba vectorises these sums
        for lm in range(l * l, (l + 1) * (l + 1)):
            y = ylm[lm, lo:hi]
            s = 0.0
            for p in range(n):
                s += r[p] * y[p]
            out[lm] = s
