"""QUIP's SOAP basis and power spectrum, on arrays in units of d_NN.

:class:`SOAPBasis` holds one parameter set (cutoff, Gaussian width, n_max, l_max) and turns
neighbour vectors into expansion coefficients and coefficients into the normalised power spectrum,
exactly as QUIP/GAP's ``soap`` descriptor (Bartók, Kondor, Csányi, Phys. Rev. B 87, 184115, 2013;
the ``descriptors.f95`` implementation with ``central_weight=0``): Gaussian radial functions
g_n(r) = exp(-alpha (r - r_n)^2) on nodes r_n = (n - 1) r_cb / n_max, alpha = 1 / (2 sigma^2),
r_cb = r_cut + sigma sqrt(2 E ln 10); orthonormalised by the lower Cholesky factor L of their
overlap; the radial integral of an atom's Gaussian against them done analytically,
c_nl = f_cut(r) sum_a exp(-alpha (r^2 + r_a^2)) i_l(2 alpha r r_a) T_an with T = C^-1 L,
C_ab = exp(-alpha (r_a - r_b)^2).
"""

from dataclasses import dataclass, field
from math import factorial

import numba
import numpy as np
from scipy.special import erf

from . import _centre_kernels, _spectrum_kernels
from .neighbors import CellStack


@dataclass(frozen=True)
class SOAPBasis:
    """One SOAP parameter set, in units of the nearest-neighbour distance d_NN.

    Parameters
    ----------
    r_cut : float, default=4.0
        Cutoff radius (d_NN).
    sigma : float, default=0.1
        Width of the atomic Gaussians (d_NN).
    n_max : int, default=9
        Number of radial basis functions.
    l_max : int, default=6
        Highest angular momentum.
    cutoff_width : float, default=0.5
        Width of the cosine cutoff transition below ``r_cut`` (d_NN; QUIP's
        ``cutoff_transition_width``).
    basis_error_exponent : float, default=10.0
        QUIP's ``basis_error_exponent``: the radial basis extends sigma sqrt(2 E ln 10) past the
        cutoff.
    """

    r_cut: float = 4.0
    sigma: float = 0.1
    n_max: int = 9
    l_max: int = 6
    cutoff_width: float = 0.5
    basis_error_exponent: float = 10.0
    alpha: float = field(init=False, repr=False)
    nodes: np.ndarray = field(init=False, repr=False)
    transform: np.ndarray = field(init=False, repr=False)
    ylm_norm: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        alpha = 1.0 / (2.0 * self.sigma**2)
        r_basis = self.r_cut + self.sigma * np.sqrt(2.0 * self.basis_error_exponent * np.log(10.0))
        nodes = np.arange(self.n_max) * r_basis / self.n_max
        ri, rj = np.meshgrid(nodes, nodes, indexing="ij")
        s, d = ri + rj, ri - rj
        overlap = (
            np.sqrt(2.0) * alpha**1.5 * s * np.exp(-alpha * (ri**2 + rj**2))
            + alpha * np.sqrt(np.pi) * np.exp(-alpha * d**2 / 2.0) * (1.0 + alpha * s**2)
            * (1.0 + erf(np.sqrt(alpha / 2.0) * s))
        ) / np.sqrt(128.0 * alpha**5)
        lower = np.linalg.cholesky(overlap)
        covariance = np.exp(-alpha * d**2)
        transform = np.linalg.solve(covariance, lower)
        norm = np.zeros((self.l_max + 1, self.l_max + 1))
        for l in range(self.l_max + 1):
            for m in range(l + 1):
                norm[l, m] = np.sqrt((2 * l + 1) / (4 * np.pi) * factorial(l - m) / factorial(l + m))
                if m > 0:
                    norm[l, m] *= np.sqrt(2.0)
        for name, value in (("alpha", alpha), ("nodes", nodes), ("transform", transform),
                            ("ylm_norm", norm)):
            object.__setattr__(self, name, value)

    @property
    def n_coefficients(self) -> int:
        """Number of (n, l, m) coefficients per centre: n_max (l_max + 1)^2."""
        return self.n_max * (self.l_max + 1) ** 2

    @property
    def n_features(self) -> int:
        """Length of the power spectrum: n_max (n_max + 1) / 2 (l_max + 1) + 1 (316 by default)."""
        return self.n_max * (self.n_max + 1) // 2 * (self.l_max + 1) + 1

    def center_coefficients(self, centres, inv_scale, cells, out=None, *, grid_of=None,
                            self_index=None, segments=None):
        """Expansion coefficients of each centre's neighbour density (or their sums).

        Parameters
        ----------
        centres : ndarray of shape (n_centres, 3), float64
            Centre positions (Å).
        inv_scale : ndarray of shape (n_centres,), float64
            Inverse length unit of each centre (1/Å): neighbour vectors times it are in d_NN.
        cells : neighbors.CellList or neighbors.CellStack
            The neighbours (images included), binned with cells >= r_cut / inv_scale wide.
        out : ndarray of shape (n_centres, n_max, (l_max + 1)**2), float64, optional
            Written in place and returned (no copy when it is C-contiguous); not with
            ``segments``.
        grid_of : ndarray of shape (n_centres,), int64, optional
            For a CellStack: the list each centre's neighbours are in (default: the first).
        self_index : ndarray of shape (n_centres,), int64, optional
            Where >= 0: the centre is point ``self_index`` of its own list, all of whose
            centres share one length unit, and only the sum of their rows is wanted: each pair
            is then expanded once (the mirrored pair differs by (-1)^l; about half the work).
            Such rows are meaningful only summed over all centres of the list.
        segments : ndarray of shape (n_segments + 1,), int64, optional
            Return the sums of the rows ``segments[k] <= i < segments[k + 1]`` instead of the
            rows (increasing bounds from 0 to n_centres; each segment is one thread's work).

        Returns
        -------
        coefficients : ndarray of shape (n_centres or n_segments, n_max, (l_max + 1)**2)
            Real-harmonic coefficients, float64; zeros for a centre without neighbours. A
            neighbour at distance zero (the centre itself) is skipped.
        n_neighbors : ndarray of shape (n_centres,), int64
            Neighbours inside the cutoff.
        """
        n = len(centres)
        summed = segments is not None
        if summed:
            bounds = np.ascontiguousarray(segments, dtype=np.int64)
        else:
            n_blocks = max(1, min(n, 64 * numba.get_num_threads()))
            bounds = np.arange(n_blocks + 1, dtype=np.int64) * n // n_blocks
        shape = (len(bounds) - 1 if summed else n, self.n_max, (self.l_max + 1) ** 2)
        direct = out is not None and out.flags.c_contiguous and out.dtype == np.float64
        rows = out if direct else np.empty(shape)
        n_neighbors = np.empty(n, dtype=np.int64)
        stack = cells if isinstance(cells, CellStack) else CellStack.of([cells])
        zeros = np.zeros(n, dtype=np.int64)
        _centre_kernels.center_coefficients(
            np.ascontiguousarray(centres, dtype=np.float64),
            np.ascontiguousarray(inv_scale, dtype=np.float64),
            zeros if grid_of is None else np.ascontiguousarray(grid_of, dtype=np.int64),
            zeros - 1 if self_index is None else np.ascontiguousarray(self_index, np.int64),
            stack.points, stack.index, stack.cell_start, stack.origin, stack.step, stack.dims,
            stack.cell_base, float(self.r_cut), float(self.cutoff_width), float(self.alpha),
            self.nodes, self.transform, int(self.l_max), self.ylm_norm, bounds, summed, rows,
            n_neighbors)
        if out is not None and not direct:
            out[...] = rows
            rows = out
        return rows, n_neighbors

    def power_spectrum(self, coefficients: np.ndarray) -> np.ndarray:
        """QUIP's L2-normalised power spectrum of (summed) coefficients.

        Parameters
        ----------
        coefficients : ndarray of shape (n_max, (l_max + 1)**2) or (k, n_max, (l_max + 1)**2)
            Coefficients summed over the centres of one environment (or of k environments).

        Returns
        -------
        ndarray of shape (n_features,) or (k, n_features), float64
            Zeros where the coefficients vanish (no neighbour at all).
        """
        coefficients = np.asarray(coefficients, dtype=np.float64)
        batch = np.ascontiguousarray(coefficients.reshape(-1, self.n_max, (self.l_max + 1) ** 2))
        out = np.empty((len(batch), self.n_features))
        _spectrum_kernels.power_spectra(batch, self.l_max, out)
        return out.reshape(coefficients.shape[:-2] + (self.n_features,))
