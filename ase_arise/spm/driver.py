"""The SPM driver: scan, describe and classify boxes slab by slab, as a step generator.

:func:`iter_match_boxes` is the seam every caller goes through (``spm``, ``label``, the OVITO
modifiers): it takes validated :class:`~ase_arise.settings.Settings`, yields (stage text,
boxes done, boxes in all) and returns the :class:`SPMResult`; :func:`run_steps` drives such a
generator with a tqdm bar. Boxes are processed in slabs sorted along x, each slab described
and classified before the next, so memory grows with the slab, not with the sample.
"""

import contextlib
import math
import numbers
import warnings

import numpy as np
from tqdm.auto import tqdm

from .._counting import column_bounds
from .._random import check_random_state
from .._validation import check_atoms, check_bool
from ..descriptor.dnn import sample_nearest, sample_spacing, sample_volume
from ..descriptor.neighbors import periodic_images, wrap_positions
from ..device import array_module, to_host
from ..errors import InputError, InputTypeError, IsolatedAtomsWarning
from ..limits import check_species, check_work
from ..settings import DEFAULT_TOLERANCE, Settings
from . import _kernels
from .boxes import ExactBoxes, FastBoxes
from .grid import scan_grid, vacuum_axes
from .result import SPMResult

# Box accumulators of one slab stay below this many float64 numbers (~128 MB; on a card
# ~0.5 GB: fewer, larger slabs and network calls).
_SLAB_VALUES = 16_000_000
_CARD_SLAB_VALUES = 64_000_000
# Boxes the network classifies together, at least (whole planes of the grid).
CHUNK_BOXES = 2048


def spm(atoms, *, box=16.0, stride=4.0, mode="auto", per_atom=False, axes=None, model=None,
        n_samples=None, tolerance=DEFAULT_TOLERANCE, min_atoms=50, min_anisotropy=None,
        random_state=0, keep_descriptors=False, progress=False, device="cpu", client=None):
    """Strided pattern matching: classify every box of a scan over the sample.

    Parameters
    ----------
    atoms : ase.Atoms
        The sample; ``atoms.pbc`` per axis decides where boxes wrap. Positions in Å.
    box, stride, mode, per_atom, axes, model, n_samples, tolerance, min_atoms, min_anisotropy,
    random_state, device
        See :class:`~ase_arise.settings.Settings` (box and stride in Å, tolerance in
        probability and bits).
    keep_descriptors : bool, default=False
        Also return the boxes' descriptors (``SPMResult.descriptors``, n_boxes x 316 float64),
        the input of :mod:`ase_arise.analysis`.
    progress : bool, default=False
        Show a tqdm progress bar.
    client : dask.distributed.Client, optional
        Split the sample into spatial domains on its workers (:mod:`ase_arise.spm.domains`):
        the same result, bit for bit, as without it (not with ``keep_descriptors``). Needs
        the scan grid of an orthorhombic cell, not ``per_atom``, and device "cpu".

    Returns
    -------
    SPMResult
        Boxes with fewer than ``min_atoms`` atoms have NaN (one warning gives their count).
    """
    settings = Settings(box=box, stride=stride, mode=mode, per_atom=per_atom, axes=axes,
                        model=model, n_samples=n_samples, tolerance=tolerance,
                        min_atoms=min_atoms, min_anisotropy=min_anisotropy,
                        random_state=random_state, device=device)
    if client is not None:
        from .domains import spm_on

        if check_bool(keep_descriptors, "keep_descriptors"):
            raise InputError("keep_descriptors=True keeps every box's descriptor in one "
                             "process; with client= leave it False.")
        return spm_on(client, atoms, settings, progress=progress)[1]
    return run_steps(iter_spm(atoms, settings, keep_descriptors=keep_descriptors), progress)


def iter_spm(atoms, settings, *, keep_descriptors=False):
    """Step generator of :func:`spm` with ready :class:`Settings`: the boxes of the scan grid,
    or one box centred on every atom with ``settings.per_atom``."""
    atoms, nearest = scanned_sample(atoms, settings)
    centres, shape = box_centres(atoms, settings)
    return (yield from iter_match_boxes(atoms, centres, shape, settings,
                                        keep_descriptors=keep_descriptors, nearest=nearest))


def scan_sample(atoms, settings, *, nearest=None, by_species=None):
    """The sample as SPM sees it: ``atoms`` itself, or a copy whose periodic axes across a
    vacuum are open.

    A periodic axis along which the atoms leave a gap wider than the descriptor's reach
    (r_cut × the sample's d_NN) is vacuum: a slab or a nanoparticle in a periodic box. It is
    scanned as an open axis (boxes cover the atoms, not the empty cell), and mode "auto" takes
    exact mode for it. Overlapping atoms (closer than half the sample's d_NN) are reported
    with an OverlappingAtomsWarning that names them. ``nearest`` and ``by_species`` (each
    atom's nearest-neighbour distance, and towards each species, Å) spare the searches where
    known (:func:`~ase_arise.descriptor.dnn.sample_spacing`).
    """
    return scanned_sample(atoms, settings, nearest=nearest, by_species=by_species)[0]


def scanned_sample(atoms, settings, *, nearest=None, by_species=None):
    """(:func:`scan_sample`'s sample, every atom's distance to its nearest atom of each
    species (Å, :func:`~ase_arise.descriptor.dnn.sample_nearest`) where the sample is
    ``atoms`` itself, else None): one search serves the check and the local d_NN."""
    positions, numbers, cell, pbc = check_atoms(atoms)
    check_species(numbers)  # before the species pairs' neighbour searches
    wrapped = wrap_positions(positions, cell, pbc)
    if nearest is None or by_species is None:
        nearest, by_species = sample_nearest(wrapped, numbers, cell, pbc,
                                             device=settings.device)
    dnn = sample_spacing(wrapped, numbers, cell, pbc, settings.device, nearest=nearest,
                         by_species=by_species)
    if not pbc.any() or not np.isfinite(dnn):
        return atoms, by_species
    vacuum = vacuum_axes(wrapped, cell, pbc, settings.network.metadata["descriptor"]["r_cut"] * dnn)
    if not vacuum.any():
        return atoms, by_species
    sample = atoms.copy()
    sample.pbc = pbc & ~vacuum
    return sample, None


def box_centres(atoms, settings):
    """Box centres (Å) and grid shape of a scan: the grid of :func:`scan_grid`, or the wrapped
    atom positions (shape (n_atoms,)) with ``settings.per_atom``."""
    if settings.per_atom:
        positions, _, cell, pbc = check_atoms(atoms)
        return wrap_positions(positions, cell, pbc), (len(positions),)
    return scan_grid(atoms, settings.box, settings.stride, settings.axes)


def match_boxes(atoms, centres, shape, settings, *, keep_descriptors=False, progress=False):
    """Classify the boxes of edge ``settings.box`` (Å) at ``centres`` (Å); see
    :func:`iter_match_boxes`. ``progress`` shows a tqdm bar."""
    return run_steps(iter_match_boxes(atoms, centres, shape, settings,
                                      keep_descriptors=keep_descriptors), progress)


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
    check_bool(progress, "progress")
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


def iter_match_boxes(atoms, centres, shape, settings, *, keep_descriptors=False, nearest=None):
    """Classify the boxes at ``centres``, reporting progress as a step generator.

    Parameters
    ----------
    atoms : ase.Atoms
    centres : ndarray of shape (n_boxes, 3)
        Box centres (Å), inside the cell along periodic axes (as from :func:`box_centres`).
    shape : tuple of int
        The grid shape recorded in the result.
    settings : Settings
    keep_descriptors : bool, default=False
    nearest : ndarray of shape (n_atoms, n_species), optional
        Every atom's distance to its nearest atom of each species (Å), if known (fast mode's
        local d_NN starts from them).

    Yields (stage text, boxes done, boxes in all) and returns the :class:`SPMResult`;
    closing the generator early cancels the work (OVITO's modifier does).
    """
    if not isinstance(settings, Settings):
        raise InputTypeError("The 'settings' parameter must be an ase_arise.Settings. Got "
                             f"{type(settings).__name__} instead.")
    check_bool(keep_descriptors, "keep_descriptors")
    net = settings.network
    positions, numbers_, cell, pbc = check_atoms(atoms)
    mode = settings.mode
    if mode == "auto":
        mode = "fast" if pbc.all() else "exact"
    wrapped = wrap_positions(positions, cell, pbc)
    half = settings.box / 2
    check_box_work(wrapped, cell, pbc, len(centres), settings.box)
    points, index = periodic_images(wrapped, cell, pbc, half * math.sqrt(3))
    calculator = net.descriptor(device=settings.device)
    species = tuple(check_species(numbers_))
    if mode == "fast":
        yield "ARISE SPM (fast): local length scales", 0, len(centres)
        describer = FastBoxes(calculator, wrapped, numbers_, cell, pbc, centres,
                              nearest=nearest)
    else:
        describer = ExactBoxes(calculator, numbers_, settings.min_atoms)
    random_state = scan_seed(settings.random_state)
    n_boxes = len(centres)
    n_atoms = np.zeros(n_boxes, dtype=np.int64)
    valid = np.zeros(n_boxes, dtype=bool)
    outputs = empty_outputs(n_boxes, len(net.class_names))
    kept = np.full((n_boxes, calculator.n_features), np.nan) if keep_descriptors else None
    if settings.device == "cpu":
        slab, chunk = partition(shape, len(species), calculator.basis)
    else:  # a card takes ~10^6 row-passes a call; chunks serve CPU domains
        slab = chunk = partition(shape, len(species), calculator.basis, _CARD_SLAB_VALUES)[0]
    order = np.argsort(centres[:, 0], kind="stable")
    stage = f"ARISE SPM ({mode})"
    for start in range(0, n_boxes, slab):
        boxes = order[start:start + slab]
        lower, upper = column_bounds(centres[boxes])
        near = slab_points(points, lower - half, upper + half)
        steps = describer.describe(centres[boxes], half, points[near], index[near])
        while True:
            try:
                done = next(steps)
            except StopIteration as stop:
                descriptors, n_atoms[boxes] = stop.value
                break
            yield stage, start + done, n_boxes
        for first in range(0, len(boxes), chunk):
            part = slice(first, first + chunk)
            store_outputs(outputs, valid, boxes[part], classify_boxes(
                net, descriptors[part], n_atoms[boxes[part]], settings, random_state))
        if keep_descriptors:
            kept[boxes[valid[boxes]]] = to_host(descriptors)[valid[boxes]]
        yield stage, start + len(boxes), n_boxes
    warn_empty(valid, settings.min_atoms)
    return spm_result(centres, shape, outputs, n_atoms, settings, mode, kept)


def slab_points(points, lower, upper):
    """The indices (ascending) of the ``points`` (Å) in the box ``lower`` <= p <= ``upper``
    (Å): one parallel pass (a sort along x and a sort of each slab's range took 0.26 s
    against 0.004 s for two slabs of 1.5·10^6 points on 2 cores, measured)."""
    inside = np.empty(len(points), dtype=bool)
    _kernels.in_box(np.ascontiguousarray(points, dtype=np.float64), np.asarray(lower, float),
                    np.asarray(upper, float), inside)
    return np.flatnonzero(inside)


def check_box_work(wrapped, cell, pbc, n_boxes, box):
    """The work limit ``max_box_atoms`` on the atoms summed over ``n_boxes`` boxes of edge
    ``box`` (Å) in a sample of uniform density (InputError beyond it)."""
    per_box = len(wrapped) * box ** 3 / sample_volume(wrapped, cell, pbc)
    check_work("max_box_atoms", n_boxes * per_box,
               f"Atoms summed over the {n_boxes:,} boxes (~{per_box:.3g} per "
               f"{box:g} Å box)", "Use a smaller box or a larger stride")


def scan_seed(random_state):
    """The one integer seed of a scan (a Generator or None is drawn from once): every box
    sees the same dropout masks, whatever slab or domain it comes in."""
    if isinstance(random_state, numbers.Integral):
        return random_state
    return int(check_random_state(random_state).integers(2 ** 63))


def warn_empty(valid, min_atoms):
    """One IsolatedAtomsWarning with the number of boxes without a prediction."""
    if not valid.all():
        warnings.warn(f"{int((~valid).sum())} of {len(valid)} boxes hold fewer than "
                      f"{min_atoms} atoms (or no neighbour pair) and have no "
                      "prediction (NaN).", IsolatedAtomsWarning, stacklevel=3)


def spm_result(centres, shape, outputs, n_atoms, settings, mode, descriptors=None):
    """The :class:`SPMResult` of a scan from the boxes' ``outputs`` (:func:`empty_outputs`,
    filled), atom counts, settings and mode ("fast" or "exact")."""
    return SPMResult(np.array(centres, dtype=np.float64), tuple(shape),
                     outputs["probabilities"], outputs["mutual_information"],
                     outputs["entropy"], n_atoms, tuple(settings.network.class_names),
                     settings.box, None if settings.per_atom else settings.stride, mode,
                     settings.passes, settings.tolerance, outputs["passes"],
                     settings.min_atoms, descriptors, anisotropy=outputs["anisotropy"],
                     min_anisotropy=settings.threshold)


def empty_outputs(n_boxes, n_classes):
    """The per-box network outputs of a scan, NaN (no prediction) until filled: dict of
    probabilities (n_boxes, n_classes) float32, mutual_information, entropy (bits),
    passes, anisotropy."""
    return {"probabilities": np.full((n_boxes, n_classes), np.nan, dtype=np.float32),
            "mutual_information": np.full(n_boxes, np.nan),
            "entropy": np.full(n_boxes, np.nan), "passes": np.zeros(n_boxes, dtype=np.int64),
            "anisotropy": np.full(n_boxes, np.nan)}


def partition(shape, n_species, basis, values=_SLAB_VALUES):
    """(slab, chunk): boxes described together (their box sums in memory, below ``values``
    float64 numbers) and boxes classified together, both counted along the scan's x-sorted
    order; a slab is whole chunks.

    A chunk is whole planes of the grid, at least ``CHUNK_BOXES`` boxes where a slab holds
    that many. It depends on the grid alone: the network's products (BLAS) give a row
    slightly other bits in another batch, so one process and spatial domains
    (:mod:`ase_arise.spm.domains`) classify the same chunks."""
    slab = max(1, values // (n_species ** 2 * basis.n_max * (basis.l_max + 1) ** 2
                                   + n_species ** 2))
    chunk = min(slab, CHUNK_BOXES)
    plane = math.prod(shape[1:]) if len(shape) == 3 else 0
    if plane and slab >= plane:
        # whole planes of the scan grid: FastBoxes sums them as a tensor grid
        chunk = min(slab // plane, -(-CHUNK_BOXES // plane)) * plane
    return slab - slab % chunk, chunk


def store_outputs(outputs, valid, boxes, found):
    """Put one chunk's :func:`classify_boxes` result ``found`` for the boxes (indices) it
    classified into the scan's ``outputs`` (:func:`empty_outputs`) and ``valid``."""
    valid[boxes] = found["valid"]
    for name, values in found.items():
        if name != "valid":
            outputs[name][boxes[found["valid"]]] = values


def classify_boxes(net, descriptors, n_atoms, settings, random_state):
    """The network's outputs for one chunk of boxes (``descriptors`` (n, 316), numpy or on
    the card of ``settings.device`` (CuPy, where they stay), atoms per box): dict of
    ``valid`` (enough atoms and a finite descriptor) and, for the valid boxes, the entries of
    :func:`empty_outputs` (numpy)."""
    xp = array_module(descriptors)
    with contextlib.nullcontext() if xp is np else descriptors.device:
        finite = to_host(xp.isfinite(descriptors).all(axis=1))
        ok = (n_atoms >= settings.min_atoms) & finite
        out = {"valid": ok}
        if ok.any():  # no copy in the usual case
            rows = descriptors if ok.all() else descriptors[xp.asarray(np.flatnonzero(ok))]
            prediction = net.predict(rows, n_samples=settings.passes,
                                     random_state=random_state, tolerance=settings.tolerance,
                                     device=settings.device)
            out.update(probabilities=prediction.probabilities,
                       mutual_information=prediction.mutual_information,
                       entropy=prediction.entropy, passes=prediction.passes,
                       anisotropy=to_host(net.anisotropy(rows)))
    return out
