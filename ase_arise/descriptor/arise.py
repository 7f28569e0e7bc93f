"""The ARISE descriptor: averaged SOAP of the d_NN-scaled species-pair substructures.

Leitherer, Ziletti & Ghiringhelli, Nature Communications 12, 6234 (2021), Supplementary Methods:

1. **Isotropic scaling.** Positions are divided by ``extrinsic_scaling * d_NN(a, b)`` of the
   ordered species pair (a, b), d_NN by the paper's histogram rule (:mod:`.dnn`).
2. **Averaged SOAP per pair.** a-atoms are the centres, b-atoms the only neighbours; expansion
   coefficients are summed over all centres first, then one normalised power spectrum is taken
   (QUIP's ``soap ... n_Z=1 Z={a} n_species=1 species_Z={b} central_weight=0.0 average=True``).
3. **Pairs averaged.** The S^2 pair vectors of a structure with S species are averaged.

Cutoff and Gaussian width are in units of d_NN (defaults 4.0 and 0.1); 316 numbers per structure.
"""

import contextlib
import numbers
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from ase import Atoms

from .._counting import distinct
from .._deprecation import renamed_parameters
from .._validation import check_atoms, check_scalar
from ..errors import InputError
from ..limits import check_species
from .dnn import (DEFAULT_BINS, OVERLAP_FRACTION, dnn_from_distances, nearest_distances,
                  robust_dnn, sample_volume, shell_share, warn_overlaps)
from ..device import array_module, check_device, cuda_module, on_card
from . import cuda
from .averaged import describe_structures
from .pair_sums import pair_means
from .cuda_search import card_cells
from .neighbors import (CELLS_PER_CUTOFF, CellList, check_pairs, image_bounds,
                        periodic_images, wrap_positions)
from .soap import SOAPBasis

# Bounds: the paper uses r_cut 3-5 d_NN, n_max 9; past these, cost and ill-conditioning explode.
MAX_R_CUT = 10.0
MAX_N_MAX = 20


@dataclass(frozen=True)
class AtomicCoefficients:
    """Per-atom SOAP expansion coefficients, before any averaging.

    The averaged descriptor of any group of atoms (a box of a polycrystal, say) follows from
    sums of these rows: see :meth:`ARISEDescriptor.from_coefficient_sums`.

    Attributes
    ----------
    species : tuple of int
        Atomic numbers, sorted; the order of the second axis of ``coefficients``.
    coefficients : ndarray of shape (n_atoms, n_species, n_max, (l_max + 1)**2), float64
        Row i, slot j: atom i's neighbourhood restricted to species ``species[j]``.
    n_neighbors : ndarray of shape (n_atoms, n_species), int64
        Number of such neighbours inside the cutoff.
    length_unit : ndarray of shape (n_atoms, n_species), float64
        The length each row was scaled by (Å): extrinsic_scaling * d_NN.
    """

    species: tuple
    coefficients: np.ndarray
    n_neighbors: np.ndarray
    length_unit: np.ndarray


class ARISEDescriptor:
    """The ARISE averaged-SOAP descriptor, configured once and applied to many structures.

    Parameters
    ----------
    r_cut : float, default=4.0
        SOAP cutoff radius, in units of d_NN.
    sigma : float, default=0.1
        Width of the atomic Gaussians, in units of d_NN.
    extrinsic_scaling : float, default=1.0
        Positions are divided by ``extrinsic_scaling * d_NN`` (the paper's training set uses
        0.95, 1.0 and 1.05).
    n_max : int, default=9
        Radial basis size.
    l_max : int, default=6
        Highest angular momentum.
    bins : int, default=100
        Histogram bins of the d_NN rule.
    chunk_size : int, optional
        Centres processed at a time (bounds memory to chunk_size * n_max * (l_max+1)^2 floats);
        default 8192 on the CPU, 262,144 on a GPU (~0.9 GB).
    device : {"cpu", "cuda", "cuda:N"}, default="cpu"
        Where the per-centre coefficients are computed (:mod:`ase_arise.device`; the GPU needs
        the ``gpu`` extra). Results agree to ~1e-13.

    Examples
    --------
    >>> from ase.build import bulk
    >>> ARISEDescriptor().create(bulk("Cu", "fcc", a=3.6)).shape
    (316,)
    """

    def __init__(self, *, r_cut=4.0, sigma=0.1, extrinsic_scaling=1.0, n_max=9, l_max=6,
                 bins=DEFAULT_BINS, chunk_size=None, device="cpu"):
        self.r_cut = check_scalar(r_cut, "r_cut", low=0.5, high=MAX_R_CUT,
                                  unit=" (units of d_NN)")
        self.sigma = check_scalar(sigma, "sigma", low=0.0, high=1.0, unit=" (units of d_NN)")
        self.extrinsic_scaling = check_scalar(extrinsic_scaling, "extrinsic_scaling", low=0.0)
        n_max = check_scalar(n_max, "n_max", kind=numbers.Integral, low=2, low_inclusive=True,
                             high=MAX_N_MAX)
        l_max = check_scalar(l_max, "l_max", kind=numbers.Integral, low=0, low_inclusive=True,
                             high=12)
        self.bins = check_scalar(bins, "bins", kind=numbers.Integral, low=1, low_inclusive=True)
        self.device = check_device(device)
        if chunk_size is None:
            chunk_size = 8192 if self.device == "cpu" else cuda.CHUNK
        self.chunk_size = check_scalar(chunk_size, "chunk_size", kind=numbers.Integral, low=1,
                                       low_inclusive=True)
        self._cuda = None if self.device == "cpu" else cuda_module(self.device)
        try:
            self.basis = SOAPBasis(r_cut=self.r_cut, sigma=self.sigma, n_max=n_max, l_max=l_max)
        except np.linalg.LinAlgError:
            raise InputError(f"The radial basis of n_max = {n_max} functions is singular at "
                             f"r_cut = {self.r_cut}, sigma = {self.sigma} (units of d_NN): use "
                             "fewer radial functions or a wider sigma.") from None

    def __repr__(self):
        device = "" if self.device == "cpu" else f", device={self.device!r}"
        return (f"ARISEDescriptor(r_cut={self.r_cut}, sigma={self.sigma}, "
                f"extrinsic_scaling={self.extrinsic_scaling}, n_max={self.basis.n_max}, "
                f"l_max={self.basis.l_max}{device})")

    @property
    def n_features(self):
        """Descriptor length: n_max (n_max + 1) / 2 (l_max + 1) + 1 (316 by default)."""
        return self.basis.n_features

    def parameters(self):
        """The descriptor parameters as a plain dict (recorded in model files)."""
        return {"r_cut": self.r_cut, "sigma": self.sigma,
                "extrinsic_scaling": self.extrinsic_scaling, "n_max": self.basis.n_max,
                "l_max": self.basis.l_max, "cutoff_width": self.basis.cutoff_width,
                "basis_error_exponent": self.basis.basis_error_exponent, "bins": self.bins}

    def pair_nn_distances(self, atoms):
        """d_NN of every ordered species pair (a, b), in Å, keyed by atomic numbers.

        NaN for a pair in which no a-atom has a b-neighbour (e.g. a lone atom of a species in a
        cluster, paired with itself).
        """
        positions, numbers_, cell, pbc = check_atoms(atoms)
        return self._pair_dnn(wrap_positions(positions, cell, pbc), numbers_, cell, pbc)[0]

    def _pair_dnn(self, wrapped, numbers_, cell, pbc, *, overlaps=False, stacklevel=5):
        """d_NN of every ordered species pair, and the pairs' mean shell share (NaN for none);
        with ``overlaps``, warn about overlapping atoms (if a nearest distance is short)."""
        species = distinct(numbers_)
        # one search per neighbour species b serves the centres of every species a
        nearest = {int(b): nearest_distances(wrapped, wrapped[numbers_ == b], cell, pbc)
                   for b in species}
        dnn, shells, suspect = {}, [], False
        for a in species:
            own = numbers_ == a
            for b in species:
                distances = nearest[int(b)][own]
                dnn[int(a), int(b)] = dnn_from_distances(distances, self.bins)
                shells.append(shell_share(distances, dnn[int(a), int(b)]))
                suspect |= bool(np.any(distances < OVERLAP_FRACTION * robust_dnn(distances)))
        if overlaps and suspect:
            warn_overlaps(wrapped, numbers_, cell, pbc, stacklevel=stacklevel)
        shells = np.array(shells)
        return dnn, (float(np.nanmean(shells)) if np.isfinite(shells).any() else float("nan"))

    def neighbor_cells(self, neighbors, cell, pbc, max_unit, n_centres, window=None,
                       on_card=False, near=None):
        """Cell list of ``neighbors`` (wrapped, Å) and their periodic images, for ``n_centres``
        centres of length units ≤ ``max_unit`` (Å, extrinsic scaling included); reusable.
        InputError past ``max_pairs`` (a uniform-density estimate). ``window`` = (x_lo, x_hi)
        (Å): centres only there, so only the points in their reach, in the whole list's cells
        and order (:func:`.neighbors.image_bounds`), bit for bit; ``near``: the ``neighbors``'
        sorted x index (:func:`.neighbors.periodic_images`).
        ``on_card``: sorted on this descriptor's card, if any (:class:`.cuda_search.CardCells`)."""
        reach = self.r_cut * float(max_unit)
        check_pairs(n_centres, len(neighbors) / sample_volume(neighbors, cell, pbc), reach,
                    self.r_cut)
        within = None if window is None else ((window[0] - reach, -np.inf, -np.inf),
                                              (window[1] + reach, np.inf, np.inf))
        points, index = periodic_images(neighbors, cell, pbc, reach, within, near)
        bounds = image_bounds(neighbors, cell, pbc, reach)
        if on_card and self._cuda is not None:
            cupy, card = self._cuda
            with card:
                return card_cells(cupy, points, index, reach / CELLS_PER_CUTOFF, bounds)
        return CellList.build(points, index, reach / CELLS_PER_CUTOFF, bounds)

    def center_coefficients(self, centres, inv_scale, cells, out=None, **options):
        """:meth:`.soap.SOAPBasis.center_coefficients` on this descriptor's device (the same
        parameters and results)."""
        if self._cuda is None:
            return self.basis.center_coefficients(centres, inv_scale, cells, out, **options)
        cupy, card = self._cuda
        direct = out is not None and out.flags.c_contiguous and out.dtype == np.float64
        with card:  # a strided view on the card (one species of several) gets a card buffer
            target = out if direct else cupy.empty(out.shape) if on_card(out) else None
            rows, n_neighbors = cuda.center_coefficients(
                self.basis, cupy, centres, inv_scale, cells, target, **options)
            if out is not None and not direct:
                out[...] = rows
                rows = out
        return rows, n_neighbors

    def coefficient_rows(self, centres, unit, cells, out):
        """Expansion coefficients of ``centres`` (Å) with length units ``unit`` (Å) written to
        ``out`` (n_centres, n_max, (l_max+1)^2); returns the neighbour counts (on the card
        where ``out`` is a CuPy array)."""
        n_neighbors = array_module(out).empty(len(centres), dtype=np.int64)
        for start in range(0, len(centres), self.chunk_size):
            stop = min(start + self.chunk_size, len(centres))
            n_neighbors[start:stop] = self.center_coefficients(
                centres[start:stop], 1.0 / unit[start:stop], cells, out=out[start:stop])[1]
        return n_neighbors

    def species_rows(self, centres, units, cells, out=None):
        """Per-atom coefficients of ``centres`` (wrapped, Å) towards each neighbour species.

        Parameters
        ----------
        centres : ndarray of shape (n, 3), float64
        units : ndarray of shape (n, n_species), float64
            Length unit of each centre and neighbour species (Å, extrinsic scaling included);
            NaN leaves that pair out (zero rows, no neighbours).
        cells : sequence of CellList or None
            Per neighbour species, from :meth:`neighbor_cells` (None: no such pair anywhere).
        out : ndarray of shape (n, n_species, n_max, (l_max + 1)**2), float64, optional
            Written in place and returned; on a CUDA device it may be a CuPy array (the rows
            then never leave the card).

        Returns
        -------
        coefficients : ndarray of shape (n, n_species, n_max, (l_max + 1)**2), float64
        n_neighbors : ndarray of shape (n, n_species), int64
            A CuPy array where ``out`` is one (nothing waits for the card's kernels).
        """
        n, s = units.shape
        shape = (n, s, self.basis.n_max, (self.basis.l_max + 1) ** 2)
        coefficients = np.empty(shape) if out is None else out
        xp = np if isinstance(coefficients, np.ndarray) else self._cuda[0]  # CuPy: on the card
        n_neighbors = xp.zeros((n, s), dtype=np.int64)
        with contextlib.nullcontext() if xp is np else self._cuda[1]:
            self._species_rows(centres, units, cells, coefficients, n_neighbors, xp)
        return coefficients, n_neighbors

    def _species_rows(self, centres, units, cells, coefficients, n_neighbors, xp):
        """:meth:`species_rows` per neighbour species, into ``coefficients`` (numpy, or CuPy
        when ``xp`` is CuPy) and ``n_neighbors``."""
        for j, species_cells in enumerate(cells):
            usable = np.isfinite(units[:, j])
            if species_cells is None or not usable.any():
                coefficients[:, j] = 0.0
                continue
            if not usable.all():
                coefficients[xp.asarray(np.flatnonzero(~usable)), j] = 0.0
            rows = coefficients[:, j] if usable.all() else xp.empty(
                (int(usable.sum()),) + coefficients.shape[2:])  # a view: written in place
            at = slice(None) if usable.all() else xp.asarray(np.flatnonzero(usable))
            n_neighbors[at, j] = self.coefficient_rows(centres[usable], units[usable, j],
                                                       species_cells, rows)
            if not usable.all():
                coefficients[at, j] = rows

    def create(self, atoms, *, progress=False):
        """The descriptor of one structure, or of each structure in a list.

        Parameters
        ----------
        atoms : ase.Atoms or iterable of ase.Atoms
            Periodicity is taken from ``atoms.pbc`` per axis (slabs, rods, bulk, clusters).
        progress : bool, default=False
            Show a tqdm progress bar over a list of structures.

        Returns
        -------
        ndarray of shape (n_features,) or (n_structures, n_features), float64

        Raises
        ------
        InputError
            Empty structure, NaN/inf positions, or no neighbour pair at all inside the cutoff.

        Warns
        -----
        IsolatedAtomsWarning
            Atoms with no neighbour inside the cutoff (they contribute nothing, as in QUIP), or
            species pairs without any neighbour (left out of the pair average).
        """
        if not isinstance(atoms, Atoms) and isinstance(atoms, Iterable) \
                and not isinstance(atoms, np.ndarray):
            return describe_structures(self, list(atoms), progress=progress)[0]
        return describe_structures(self, [atoms])[0][0]

    def describe(self, atoms):
        """The descriptor of one structure and its shell share: the share of the centres whose
        nearest neighbour lies near d_NN, averaged over the species pairs (~1 for condensed
        matter, ~0.01 for an ideal gas; :func:`.dnn.shell_share`). Raises and warns as
        :meth:`create`.

        Returns
        -------
        (ndarray of shape (n_features,), float)
        """
        X, shells = describe_structures(self, [atoms])
        return X[0], float(shells[0])

    def describe_many(self, structures, *, progress=False, desc="ARISE descriptors"):
        """Descriptors and shell shares of many structures, batched: the species pairs of many
        small structures share kernel calls (:mod:`.averaged`). Raises and warns as
        :meth:`create`, naming the structure's index.

        Parameters
        ----------
        structures : sequence of ase.Atoms
        progress : bool, default=False
            tqdm progress bar, labelled ``desc``.

        Returns
        -------
        X : ndarray of shape (n_structures, n_features), float64
        shells : ndarray of shape (n_structures,), float64
        """
        return describe_structures(self, structures, progress=progress, desc=desc)

    def from_coefficient_sums(self, pair_sums):
        """The descriptor from coefficient sums, one per species pair that has neighbours.

        Parameters
        ----------
        pair_sums : sequence of ndarray of shape (n_max, (l_max + 1)**2)
            For each ordered species pair (a, b): the coefficients of the a-centres towards
            b-neighbours, summed over the centres.

        Returns
        -------
        ndarray of shape (n_features,), float64
            The mean over pairs of the normalised power spectra.
        """
        return pair_means(self.basis, np.asarray(pair_sums), [len(pair_sums)])[0]

    @renamed_parameters(centers="centres")
    def atomic_coefficients(self, atoms, *, length_unit=None, centres=None):
        """Per-atom expansion coefficients towards each species (for strided pattern matching).

        Parameters
        ----------
        atoms : ase.Atoms
        length_unit : None, float or ndarray of shape (n_centres,) or (n_centres, n_species)
            Length (Å) that each atom's neighbourhood is scaled by, before ``extrinsic_scaling``.
            None: the structure's own d_NN of each species pair (as in :meth:`create`); a float:
            one d_NN for everything; an array: a local d_NN per atom, or per atom and neighbour
            species (species in increasing atomic number; NaN leaves that pair out).
        centres : None or array_like of int, optional
            Indices of the atoms to compute (default: all); their neighbours are always all
            atoms of the structure.

        Returns
        -------
        AtomicCoefficients
            Rows in the order of ``centres``.
        """
        positions, numbers_, cell, pbc = check_atoms(atoms)
        wrapped = wrap_positions(positions, cell, pbc)
        species = check_species(numbers_)
        centres = np.arange(len(wrapped)) if centres is None else np.asarray(centres, np.int64)
        n, s = len(centres), len(species)
        if length_unit is None:
            dnn = self._pair_dnn(wrapped, numbers_, cell, pbc)[0]
            units = np.array([[dnn[z, b] for b in species]
                              for z in numbers_[centres]]).reshape(n, s)
        else:
            units = np.asarray(length_unit, dtype=np.float64)
            if units.shape not in ((), (n,), (n, s)):
                raise InputError(f"The 'length_unit' parameter must be a float, or an array of "
                                 f"shape ({n},) or ({n}, {s}) (Å) for these {n} centres and {s} "
                                 f"species. Got shape {units.shape} instead.")
            units = np.broadcast_to(units[:, None] if units.ndim == 1 else units, (n, s))
            if np.isinf(units).any() or (units <= 0).any():
                raise InputError("The 'length_unit' parameter must hold finite values > 0 (Å).")
        units = units * self.extrinsic_scaling
        cells = [self.neighbor_cells(wrapped[numbers_ == b], cell, pbc, np.nanmax(units[:, j]), n)
                 if np.isfinite(units[:, j]).any() else None for j, b in enumerate(species)]
        coefficients, n_neighbors = self.species_rows(wrapped[centres], units, cells)
        return AtomicCoefficients(tuple(species), coefficients, n_neighbors, units)


def descriptor(atoms, *, r_cut=4.0, sigma=0.1, extrinsic_scaling=1.0):
    """The ARISE descriptor of one structure (or a list): see :class:`ARISEDescriptor`.

    Returns
    -------
    ndarray of shape (316,) or (n_structures, 316), float64
    """
    return ARISEDescriptor(r_cut=r_cut, sigma=sigma,
                           extrinsic_scaling=extrinsic_scaling).create(atoms)
