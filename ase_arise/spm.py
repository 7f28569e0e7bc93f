"""Strided pattern matching (SPM): ARISE maps of polycrystals, interfaces and nanoparticles.

A cubic box of edge ``box`` (Å) is moved with step ``stride`` (Å) over the sample, and the atoms
inside each box are classified (paper: "Polycrystal classification", Methods "Strided pattern
matching parameters"). Along periodic axes the boxes wrap across the boundary (the atoms'
periodic images fill them); along open axes they cover the atoms' bounding box. An axis is
scanned when it is periodic or at least one box long, so a slab gets a 2D scan, a rod a 1D
scan, a bulk sample a 3D scan; ``axes`` forces a choice.

Two modes give each box its descriptor, and ``"auto"`` (the default) picks one per sample:

``"exact"``
    The paper's: the box's atoms are cut out as a non-periodic cluster and described on their
    own, scaled by the cluster's own d_NN of each species pair.
``"fast"``
    Per-atom expansion coefficients are computed once (neighbours from the whole sample, so no
    artificial surface) and a box's averaged coefficients are the sums of its atoms' rows; one
    power spectrum per box follows. Each atom's neighbourhood is scaled by a *local* d_NN: the
    median, over the atom and its 15 nearest atoms of the same species, of their distances to
    the nearest atom of the neighbour species (docs/DECISIONS.md: grains of one sample differ in
    d_NN by far more than the +-5 % the network was trained on).
``"auto"``
    Fast for samples periodic along all three axes (MD snapshots: the size that needs speed, and
    every atom has a bulk-like environment, as in the periodic training cells); exact as soon
    as one axis is open (slabs, clusters, nanoparticles: fast boxes there mix free-surface
    environments into shapes no training structure has; docs/DECISIONS.md).

Boxes are processed in slabs of the scan, so memory grows with the slab, not with the sample.
"""

import math
import numbers
import warnings
from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.geometry import complete_cell
from scipy.spatial import cKDTree
from tqdm.auto import tqdm

from . import _spm_kernels
from ._random import check_random_state
from ._validation import check_atoms, check_bool, check_scalar
from .classify import _model
from .descriptor import _nearest_distances
from .errors import InputError, IsolatedAtomsWarning
from .neighbors import CellList, cell_heights, periodic_images, wrap_positions

MODES = ("auto", "fast", "exact")
# Atoms of the same species whose distances to their nearest neighbour define an atom's local
# d_NN in fast mode (the atom itself included).
N_LOCAL = 16
# Adaptive MC-dropout sampling of SPM boxes (ARISEModel.predict's tolerance; docs/DECISIONS.md).
DEFAULT_TOLERANCE = 0.01
# Box accumulators of one slab stay below this many float64 numbers (~64 MB); each slab is
# described and classified before the next, so memory grows with the slab, not the sample.
_SLAB_VALUES = 8_000_000


@dataclass(frozen=True)
class SPMResult:
    """ARISE predictions of the boxes of a strided-pattern-matching scan.

    Attributes
    ----------
    centres : ndarray of shape (n_boxes, 3), float64
        Box centres (Å), in the order of ``shape`` (C order).
    shape : tuple of int
        Scan grid (n0, n1, n2) along the cell axes (1 along an axis that is not scanned), or
        (n_atoms,) for boxes centred on the atoms.
    probabilities : ndarray of shape (n_boxes, n_classes), float32
        Mean MC-dropout probabilities; NaN rows for boxes without a prediction.
    mutual_information, entropy : ndarray of shape (n_boxes,), float64
        Uncertainty in bits; NaN for boxes without a prediction.
    n_atoms : ndarray of shape (n_boxes,), int64
        Atoms (periodic images included) inside each box.
    class_names : tuple of str
        Output order of the model.
    box : float
        Box edge (Å).
    stride : float or None
        Scan step (Å); None for boxes centred on the atoms.
    mode : str
        "fast" or "exact" (the mode used, also when "auto" chose it).
    n_samples : int
        MC-dropout passes (at most, with adaptive sampling).
    tolerance : float or None
        Adaptive-sampling tolerance (None: every box got ``n_samples`` passes).
    passes : ndarray of shape (n_boxes,), int64
        MC-dropout passes each box got (0 without a prediction).
    min_atoms : int
        Boxes with fewer atoms have no prediction.
    descriptors : ndarray of shape (n_boxes, n_features), float64, or None
        The boxes' ARISE descriptors (NaN rows for boxes without a prediction), kept only when
        asked for (``keep_descriptors=True``); :func:`ase_arise.analysis.box_representations`
        turns them into hidden-layer representations.
    """

    centres: np.ndarray
    shape: tuple
    probabilities: np.ndarray
    mutual_information: np.ndarray
    entropy: np.ndarray
    n_atoms: np.ndarray
    class_names: tuple
    box: float
    stride: float
    mode: str
    n_samples: int
    tolerance: float
    passes: np.ndarray
    min_atoms: int
    descriptors: np.ndarray = None

    @property
    def valid(self):
        """Boxes with a prediction (bool array of shape (n_boxes,))."""
        return np.isfinite(self.mutual_information)

    @property
    def class_id(self):
        """Most probable class of each box (int64, -1 without a prediction)."""
        out = np.full(len(self.centres), -1, dtype=np.int64)
        out[self.valid] = np.argmax(self.probabilities[self.valid], axis=1)
        return out

    def class_index(self, prototype):
        """Output index of a prototype given by name or class id."""
        if isinstance(prototype, numbers.Integral) and not isinstance(prototype, bool):
            if 0 <= prototype < len(self.class_names):
                return int(prototype)
        elif prototype in self.class_names:
            return self.class_names.index(prototype)
        raise InputError(f"Unknown prototype {prototype!r}: give a class id 0-"
                         f"{len(self.class_names) - 1} or one of the names in class_names.")

    def argmax_map(self):
        """Most probable class per box on the scan grid (int64, -1 without a prediction)."""
        return self.class_id.reshape(self.shape)

    def probability_map(self, prototype):
        """Probability of one prototype (name or class id) per box on the scan grid."""
        return self.probabilities[:, self.class_index(prototype)].reshape(self.shape)

    def uncertainty_map(self):
        """Mutual information (bits) per box on the scan grid."""
        return self.mutual_information.reshape(self.shape)

    def plot_slice(self, quantity="class", *, axis=2, index=None, ax=None):
        """Draw one plane of the scan grid with matplotlib.

        Parameters
        ----------
        quantity : str or int, default="class"
            "class" (most probable prototype), "mutual_information", or a prototype (name or
            class id) whose probability is shown.
        axis : int, default=2
            Grid axis normal to the plane.
        index : int, optional
            Plane along ``axis`` (default: the middle one).
        ax : matplotlib Axes, optional

        Returns
        -------
        matplotlib Axes
        """
        import matplotlib.pyplot as plt
        from matplotlib.colors import ListedColormap

        if len(self.shape) != 3:
            raise InputError("plot_slice needs a scan grid; boxes centred on atoms have none.")
        if quantity == "class":
            values, label, cmap = self.argmax_map().astype(float), "most probable prototype", None
            values[values < 0] = np.nan
        elif quantity == "mutual_information":
            values, label, cmap = self.uncertainty_map(), "mutual information (bit)", "viridis"
        else:
            values = self.probability_map(quantity)
            label = f"P({self.class_names[self.class_index(quantity)]})"
            cmap = "viridis"
        axis = check_scalar(axis, "axis", kind=numbers.Integral, low=0, low_inclusive=True,
                            high=2)
        index = self.shape[axis] // 2 if index is None else index
        plane = np.take(values, index, axis=axis)
        if ax is None:
            ax = plt.figure().add_subplot()
        ticks = None
        if quantity == "class":
            # the classes of this plane, each its own colour, named on the colour bar
            present = np.unique(plane[np.isfinite(plane)]).astype(int)
            plane = np.where(np.isfinite(plane), np.searchsorted(present, np.nan_to_num(plane)),
                             np.nan)
            palette = plt.get_cmap("tab10" if len(present) <= 10 else "tab20").colors
            cmap = ListedColormap([palette[k % len(palette)] for k in range(max(len(present),
                                                                                 1))])
            ticks = np.arange(len(present))
        image = ax.imshow(plane.T, origin="lower", cmap=cmap, interpolation="nearest",
                          vmin=None if ticks is None else -0.5,
                          vmax=None if ticks is None else len(ticks) - 0.5)
        bar = ax.figure.colorbar(image, ax=ax, label=label, ticks=ticks)
        if ticks is not None:
            bar.ax.set_yticklabels([self.class_names[k] for k in present])
        rest = [k for k in range(3) if k != axis]
        ax.set_xlabel(f"box index along cell axis {rest[0]}")
        ax.set_ylabel(f"box index along cell axis {rest[1]}")
        ax.set_title(f"ARISE SPM, box {self.box:g} Å, stride {self.stride:g} Å, "
                     f"plane {index} along axis {axis}")
        return ax


def box_grid(atoms, *, box=16.0, stride=4.0, axes=None):
    """Centres of the SPM boxes of a sample.

    Parameters
    ----------
    atoms : ase.Atoms
    box : float, default=16.0
        Box edge (Å).
    stride : float, default=4.0
        Step between box centres (Å). Along a periodic axis the step is adjusted so that a
        whole number of steps spans the cell vector.
    axes : None or sequence of int, optional
        Cell axes to scan; None: every periodic axis and every open axis along which the
        sample is at least one box long. Along an axis not scanned, one box sits at the middle.

    Returns
    -------
    centres : ndarray of shape (n_boxes, 3), float64
        Å, C order of ``shape``.
    shape : tuple of int
        Number of boxes along each cell axis.

    Raises
    ------
    InputError
        Box or stride <= 0; a forced open axis along which the sample is thinner than the box;
        an open sample smaller than the box along every axis.
    """
    box = check_scalar(box, "box", low=0.0, unit=" (Å)")
    stride = check_scalar(stride, "stride", low=0.0, unit=" (Å)")
    positions, _, cell, pbc = check_atoms(atoms)
    full = complete_cell(cell)
    frac = np.linalg.solve(full.T, wrap_positions(positions, cell, pbc).T).T
    heights = cell_heights(full)
    lengths = np.linalg.norm(full, axis=1)
    extent = np.where(pbc, heights, (frac.max(axis=0) - frac.min(axis=0)) * heights)
    if axes is None:
        scanned = [bool(pbc[k] or extent[k] >= box) for k in range(3)]
        if not any(scanned):
            raise InputError(
                f"The box ({box:g} Å) is larger than the sample along every axis (extent "
                f"{' x '.join(f'{e:.1f}' for e in extent)} Å): there is nothing to scan. Use a "
                "smaller box, or classify(atoms) for the whole structure.")
    else:
        axes = sorted({check_scalar(a, "axes", kind=numbers.Integral, low=0, low_inclusive=True,
                                    high=2) for a in axes})
        if not axes:
            raise InputError("The 'axes' parameter must name at least one axis (0, 1, 2).")
        scanned = [k in axes for k in range(3)]
        for k in axes:
            if not pbc[k] and extent[k] < box:
                raise InputError(
                    f"The box ({box:g} Å) is larger than the sample along the non-periodic axis "
                    f"{k} ({extent[k]:.1f} Å). Use a box of at most {extent[k]:.1f} Å, or leave "
                    f"axis {k} out of 'axes' (one box across it).")
    ticks = []
    for k in range(3):
        if pbc[k]:
            n = max(1, round(lengths[k] / stride)) if scanned[k] else 1
            ticks.append((np.arange(n) + 0.5) / n)
        elif scanned[k]:
            n = int(math.floor((extent[k] - box) / stride + 1e-9)) + 1
            first = box / 2 + (extent[k] - box - (n - 1) * stride) / 2
            ticks.append(frac[:, k].min() + (first + stride * np.arange(n)) / heights[k])
        else:
            ticks.append(np.array([(frac[:, k].min() + frac[:, k].max()) / 2]))
    grid = np.stack(np.meshgrid(*ticks, indexing="ij"), axis=-1).reshape(-1, 3)
    return grid @ full, tuple(len(t) for t in ticks)


def local_length_units(atoms, *, n_local=N_LOCAL):
    """Each atom's local d_NN towards each species (Å): the fast-mode length unit.

    For an atom of species a and a neighbour species b: the median, over the atom and its
    ``n_local - 1`` nearest a-atoms, of their distances to their nearest b-atom.

    Returns
    -------
    species : tuple of int
        Atomic numbers, sorted (the columns).
    units : ndarray of shape (n_atoms, n_species), float64
        NaN where an atom has no b-atom at all.
    """
    positions, numbers_, cell, pbc = check_atoms(atoms)
    wrapped = wrap_positions(positions, cell, pbc)
    species = tuple(int(z) for z in np.unique(numbers_))
    units = np.full((len(wrapped), len(species)), np.nan)
    for a in species:
        own = np.flatnonzero(numbers_ == a)
        spacing = _nearest_distances(wrapped[own], wrapped[own], cell, pbc)
        finite = spacing[np.isfinite(spacing)]
        reach = 3.0 * float(np.median(finite)) if len(finite) else 1.0
        points, index = periodic_images(wrapped[own], cell, pbc, reach)
        k = min(n_local, len(points))
        dist, near = cKDTree(points).query(wrapped[own], k=k, distance_upper_bound=reach,
                                           workers=-1 if len(own) > 20000 else 1)
        near = near.reshape(len(own), k)
        found = np.isfinite(dist.reshape(len(own), k))
        members = np.where(found, index[np.minimum(near, len(points) - 1)], 0)
        for j, b in enumerate(species):
            nearest_b = spacing if b == a else _nearest_distances(
                wrapped[own], wrapped[numbers_ == b], cell, pbc)
            values = np.where(found, nearest_b[members], np.nan)
            values[~np.isfinite(values)] = np.nan
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows stay NaN
                units[own, j] = np.nanmedian(values, axis=1)
    return species, units


def spm(atoms, *, box=16.0, stride=4.0, mode="auto", axes=None, model=None, n_samples=None,
        tolerance=DEFAULT_TOLERANCE, min_atoms=50, random_state=0, keep_descriptors=False,
        progress=False):
    """Strided pattern matching: classify every box of a scan over the sample.

    Parameters
    ----------
    atoms : ase.Atoms
        The sample; ``atoms.pbc`` per axis decides where boxes wrap. Positions in Å.
    box : float, default=16.0
        Box edge (Å). The paper used 16 Å; boxes should hold >= 100 atoms.
    stride : float, default=4.0
        Step between box centres (Å); the paper used 1 Å for slabs, 2-3 Å for bulk.
    mode : {"auto", "fast", "exact"}, default="auto"
        How each box is described (module docstring).
    axes : None or sequence of int, optional
        Cell axes to scan (see :func:`box_grid`).
    model : None, path or ARISEModel
        None: the shipped 108-class model.
    n_samples : int, optional
        MC-dropout passes (default: the model's); the most a box gets.
    tolerance : float or None, default=0.01
        Adaptive sampling (:meth:`ARISEModel.predict`): a box stops once a block of 10 passes
        moves its probabilities and its MI (bits) by less than this and keeps its top class.
        None: every box gets ``n_samples`` passes.
    min_atoms : int, default=50
        Boxes with fewer atoms get no prediction (NaN), with one warning giving the count.
    random_state : None, int or numpy.random.Generator, default=0
        Seeds the dropout masks (the same for every box).
    keep_descriptors : bool, default=False
        Also return the boxes' descriptors (``SPMResult.descriptors``, n_boxes x 316 float64),
        the input of :mod:`ase_arise.analysis`.
    progress : bool, default=False
        Show a tqdm progress bar.

    Returns
    -------
    SPMResult
    """
    centres, shape = box_grid(atoms, box=box, stride=stride, axes=axes)
    return match_boxes(atoms, centres, shape, box=box, stride=stride, mode=mode, model=model,
                       n_samples=n_samples, tolerance=tolerance, min_atoms=min_atoms,
                       random_state=random_state, keep_descriptors=keep_descriptors,
                       progress=progress)


def match_boxes(atoms, centres, shape, *, progress=False, **settings):
    """Classify the boxes of edge ``box`` (Å) at ``centres`` (Å); see :func:`spm`.

    ``centres`` must lie inside the cell along periodic axes (as from :func:`box_grid`, or
    wrapped atom positions). Keywords as in :func:`iter_match_boxes`; ``progress`` shows a
    tqdm bar.
    """
    return run_steps(iter_match_boxes(atoms, centres, shape, **settings), progress)


def run_steps(steps, progress=False):
    """Run a step generator (as :func:`iter_match_boxes`) to its end and return its result.

    Parameters
    ----------
    steps : generator
        Yields (stage text, units done, units in all) and returns the result.
    progress : bool, default=False
        Show the steps as a tqdm progress bar (opened at the first step, so input rejected
        before any work leaves no empty bar behind).
    """
    try:
        stage, done, total = next(steps)
    except StopIteration as stop:
        return stop.value
    with tqdm(total=total, desc=stage, disable=not progress, unit="box") as bar:
        while True:
            if progress:
                bar.set_description(stage, refresh=False)
                bar.total, bar.n = total, done
                bar.refresh()
            try:
                stage, done, total = next(steps)
            except StopIteration as stop:
                return stop.value


def iter_match_boxes(atoms, centres, shape, *, box, stride, mode="auto", model=None,
                     n_samples=None, tolerance=DEFAULT_TOLERANCE, min_atoms=50, random_state=0,
                     keep_descriptors=False):
    """Generator form of :func:`match_boxes` for callers that report progress themselves.

    Yields (stage text, boxes done, boxes in all) as the work goes on and returns the
    :class:`SPMResult`; closing the generator early cancels the work (OVITO's modifier does).
    """
    box = check_scalar(box, "box", low=0.0, unit=" (Å)")
    if mode not in MODES:
        raise InputError(f"The 'mode' parameter must be one of {MODES}. Got {mode!r} instead.")
    min_atoms = check_scalar(min_atoms, "min_atoms", kind=numbers.Integral, low=1,
                             low_inclusive=True)
    check_bool(keep_descriptors, "keep_descriptors")
    net = _model(model)
    n_samples = net.default_n_samples if n_samples is None else check_scalar(
        n_samples, "n_samples", kind=numbers.Integral, low=1, low_inclusive=True)
    positions, numbers_, cell, pbc = check_atoms(atoms)
    if mode == "auto":
        mode = "fast" if pbc.all() else "exact"
    wrapped = wrap_positions(positions, cell, pbc)
    half = box / 2
    points, index = periodic_images(wrapped, cell, pbc, half * math.sqrt(3))
    calculator = net.descriptor()
    species = tuple(int(z) for z in np.unique(numbers_))
    if mode == "fast":
        yield "ARISE SPM (fast): local length scales", 0, len(centres)
        units = local_length_units(atoms)[1] * calculator.extrinsic_scaling
        cells = [None if np.isnan(units[:, j]).all() else calculator.neighbor_cells(
                     wrapped[numbers_ == z], cell, pbc, np.nanmax(units[:, j]))
                 for j, z in enumerate(species)]
        cache = (np.empty(0, dtype=np.int64), None, None)
    if not isinstance(random_state, numbers.Integral):
        # one seed for every slab: all boxes see the same dropout masks
        random_state = int(check_random_state(random_state).integers(2 ** 63))
    n_boxes = len(centres)
    n_atoms = np.zeros(n_boxes, dtype=np.int64)
    valid = np.zeros(n_boxes, dtype=bool)
    probabilities = np.full((n_boxes, len(net.class_names)), np.nan, dtype=np.float32)
    mutual_information = np.full(n_boxes, np.nan)
    entropy = np.full(n_boxes, np.nan)
    passes = np.zeros(n_boxes, dtype=np.int64)
    kept = np.full((n_boxes, calculator.n_features), np.nan) if keep_descriptors else None
    slab = max(1, _SLAB_VALUES // (len(species) ** 2 * calculator.basis.n_max
                                   * (calculator.basis.l_max + 1) ** 2 + len(species) ** 2))
    order = np.argsort(centres[:, 0], kind="stable")
    stage = f"ARISE SPM ({mode})"
    for start in range(0, n_boxes, slab):
        chunk = order[start:start + slab]
        lower = centres[chunk].min(axis=0) - half
        upper = centres[chunk].max(axis=0) + half
        near = np.flatnonzero(np.all((points >= lower) & (points <= upper), axis=1))
        if mode == "fast":
            descriptors, n_atoms[chunk], cache = _fast_descriptors(
                calculator, species, numbers_, wrapped, units, cells, cache, centres[chunk],
                half, points[near], index[near])
        else:
            descriptors = np.full((len(chunk), calculator.n_features), np.nan)
            counts = np.zeros(len(chunk), dtype=np.int64)
            for done in _exact_descriptors(calculator, numbers_, centres[chunk], half,
                                           points[near], index[near], min_atoms, descriptors,
                                           counts):
                yield stage, start + done, n_boxes
            n_atoms[chunk] = counts
        ok = (n_atoms[chunk] >= min_atoms) & np.isfinite(descriptors).all(axis=1)
        valid[chunk] = ok
        if ok.any():
            boxes = chunk[ok]
            if keep_descriptors:
                kept[boxes] = descriptors[ok]
            prediction = net.predict(descriptors[ok], n_samples=n_samples,
                                     random_state=random_state, tolerance=tolerance)
            probabilities[boxes] = prediction.probabilities
            mutual_information[boxes] = prediction.mutual_information
            entropy[boxes] = prediction.entropy
            passes[boxes] = prediction.passes
        yield stage, start + len(chunk), n_boxes
    if not valid.all():
        warnings.warn(f"{int((~valid).sum())} of {n_boxes} boxes hold fewer than {min_atoms} "
                      "atoms (or no neighbour pair) and have no prediction (NaN).",
                      IsolatedAtomsWarning, stacklevel=2)
    return SPMResult(np.array(centres, dtype=np.float64), tuple(shape), probabilities,
                     mutual_information, entropy, n_atoms, tuple(net.class_names), box,
                     None if stride is None else float(stride), mode, n_samples, tolerance,
                     passes, min_atoms, kept)


def _fast_descriptors(calculator, species, numbers_, wrapped, units, cells, cache, centres, half,
                      points, index):
    """Descriptors of boxes from sums of per-atom coefficients (NaN rows: no neighbour pair).

    Returns the descriptors, the atoms per box and the coefficient cache for the next slab."""
    n_species = len(species)
    needed, rows = np.unique(index, return_inverse=True)
    cache = _slab_coefficients(calculator, wrapped, units, cells, needed, cache)
    _, coefficients, n_neighbors = cache
    width = coefficients[0].size
    values = coefficients.reshape(len(needed), width)  # a view: no copy
    neighbors = n_neighbors.astype(np.float64)
    sums = np.zeros((len(centres), n_species, width))
    neighbor_sums = np.zeros((len(centres), n_species, n_species))
    counts = np.zeros(len(centres), dtype=np.int64)
    for a, z in enumerate(species):
        mine = numbers_[index] == z
        if not mine.any():
            continue
        grid = CellList.build(points[mine], rows[mine], half)
        _spm_kernels.box_sums(np.ascontiguousarray(centres), half, grid.points, grid.index,
                              grid.cell_start, grid.origin, grid.step, grid.dims, values,
                              neighbors, sums[:, a], neighbor_sums[:, a], counts)
    pair_sums = sums.reshape(len(centres), n_species, n_species, calculator.basis.n_max, -1)
    has_pair = neighbor_sums > 0
    spectra = calculator.basis.power_spectrum(pair_sums)
    n_pairs = has_pair.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (spectra * has_pair[..., None]).sum(axis=(1, 2)) / n_pairs[:, None]
    return out, counts, cache


def _slab_coefficients(calculator, wrapped, units, cells, needed, cache):
    """Per-atom coefficients of the atoms ``needed`` (sorted indices), reusing the rows that the
    previous slab's ``cache`` = (indices, coefficients, neighbour counts) holds, so that every
    atom is expanded once however the slabs overlap."""
    previous, old_rows, old_counts = cache
    shape = (len(needed), units.shape[1], calculator.basis.n_max,
             (calculator.basis.l_max + 1) ** 2)
    coefficients = np.zeros(shape)
    n_neighbors = np.zeros(shape[:2], dtype=np.int64)
    hit = np.zeros(len(needed), dtype=bool)
    if len(previous):
        position = np.minimum(np.searchsorted(previous, needed), len(previous) - 1)
        hit = previous[position] == needed
        coefficients[hit] = old_rows[position[hit]]
        n_neighbors[hit] = old_counts[position[hit]]
    for j, species_cells in enumerate(cells):
        new = np.flatnonzero(~hit)
        new = new[np.isfinite(units[needed[new], j])]
        if species_cells is None or not len(new):
            continue
        rows = np.empty((len(new),) + shape[2:])
        n_neighbors[new, j] = calculator.coefficient_rows(
            wrapped[needed[new]], units[needed[new], j], species_cells, rows)
        coefficients[new, j] = rows
    return needed, coefficients, n_neighbors


def _exact_descriptors(calculator, numbers_, centres, half, points, index, min_atoms, out,
                       counts):
    """Fill ``out`` with the descriptors of boxes cut out as clusters (rows stay NaN without a
    neighbour pair) and ``counts`` with their atoms; yields the boxes done after each box."""
    tree = cKDTree(points)
    for b, members in enumerate(tree.query_ball_point(centres, r=half, p=np.inf)):
        counts[b] = len(members)
        if len(members) >= max(min_atoms, 2):
            cluster = Atoms(numbers=numbers_[index[members]], positions=points[members])
            with warnings.catch_warnings():
                # atoms at the box's surface may have no neighbour in the cut-out cluster
                warnings.simplefilter("ignore", IsolatedAtomsWarning)
                try:
                    out[b] = calculator.create(cluster)
                except InputError:
                    pass
        yield b + 1
