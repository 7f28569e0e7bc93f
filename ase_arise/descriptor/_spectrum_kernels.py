"""Numba kernels of QUIP's normalised SOAP power spectrum (summed coefficients in, vectors out).

The formula is that of QUIP/GAP ``descriptors.f95`` (``soap``), written out in ``shared/DESIGN.md``
§5; the coefficients come from :mod:`._soap_kernels`.
"""

import math

import numba


@numba.njit(cache=True, nogil=True, fastmath=False)
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


@numba.njit(cache=True, nogil=True, parallel=True)
def power_spectra(coefficients, l_max, out):
    """:func:`power_spectrum` of each of a batch of coefficient sums (shape (k, n_max,
    (l_max + 1)**2)) into the rows of ``out`` (shape (k, n_features)), in parallel."""
    for k in numba.prange(coefficients.shape[0]):
        power_spectrum(coefficients[k], l_max, out[k])
