"""One sample split into spatial domains on a Dask cluster: ``spm(atoms, client=...)`` and
``label(atoms, client=...)``, bit for bit the results of one process.

The sample reaches each worker once (scattered); tasks take ranges of atoms or of the scan
grid's x-planes, in five phases:

1. nearest distances of atom ranges (to any atom, to each species): the sample's d_NN, its
   vacuum axes and overlaps, and each species' reach for the local d_NN;
2. (fast mode) the local d_NN of x-ranges of atoms, each from a k-d tree of its window
   (:mod:`ase_arise.descriptor.local_dnn`: members that do not depend on the tree);
3. (fast mode) x-slices of the grid: the per-atom coefficients of the atoms whose x-pair
   (the x box indices whose boxes contain them) starts in the slice, and their planes
   (:func:`.boxes.grid_planes`); an atom is expanded once, in one slice (twice where a
   periodic image lies in another);
4. the slices' boxes, in the network's chunks: box sums from the planes of the slice and
   the slice before (:func:`.boxes.add_planes`), descriptors, the network (exact mode: the
   boxes cut out and described, then the network);
5. (label) the per-atom rule (:class:`~ase_arise.labels.BoxChoice`) of atom ranges.

Phases 2-4 of the sample as given are submitted before the client checks it
(:func:`.driver.scan_sample`), and begun again in the rare case that the check opens a
periodic axis across a vacuum.

Every sum sees the same terms in the same order as in one process: box sums are fixed-order
over pairs, the network classifies the same chunks (:func:`.driver.partition`), and the
local d_NN's members do not depend on the search. Needs a tensor scan grid (an orthorhombic
cell), not ``per_atom``.
"""

import logging
import math
import time
from dataclasses import dataclass

import numpy as np
from ase.geometry import complete_cell
from tqdm.auto import tqdm

from .._counting import dense_unique, distinct
from .._validation import check_atoms
from ..descriptor.dnn import sample_nearest
from ..descriptor.local_dnn import unit_reach, units_of
from ..descriptor.neighbors import periodic_images, wrap_positions
from ..distributed import check_client, task_fields, worker_threads
from ..errors import InputError
from ..limits import check_species
from . import _kernels
from .boxes import ExactBoxes, FastBoxes, add_planes, box_spectra, grid_planes, split_sums, \
    tensor_grid
from .driver import (box_centres, check_box_work, classify_boxes, empty_outputs, partition,
                     scan_sample, scan_seed, spm_result, store_outputs, warn_empty)

# Each phase's wall time (s) at INFO level.
log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class _Sample:
    """What the tasks need of the sample: wrapped positions (Å), numbers, cell, pbc, and the
    atoms in increasing x (``by_x``, their x ``x_sorted``, Å). A task builds the periodic
    images and neighbour cells of its own window only: their points are the whole sample's,
    bit for bit (:func:`.neighbors.cartesian`)."""
    wrapped: np.ndarray
    numbers: np.ndarray
    cell: np.ndarray
    pbc: np.ndarray
    by_x: np.ndarray
    x_sorted: np.ndarray

    @classmethod
    def of(cls, positions, numbers, cell, pbc):
        wrapped = wrap_positions(positions, cell, pbc)
        by_x = np.argsort(wrapped[:, 0], kind="stable")
        return cls(wrapped, numbers, cell, pbc, by_x, wrapped[by_x, 0])

    def images(self, cutoff, low, high):
        """``periodic_images`` within ``cutoff`` (Å) with ``low <= x <= high`` (Å), from
        the atoms that may have a point there (:meth:`near_x`): the whole sample's points
        in the whole sample's order, without a pass over every atom."""
        return periodic_images(self.wrapped, self.cell, self.pbc, cutoff,
                               ((low, -np.inf, -np.inf), (high, np.inf, np.inf)), self.near_x)

    def near_x(self, low, high):
        """Indices (ascending) of the atoms with a periodic image at x in [low, high] (Å),
        give or take 1e-6 Å; every atom where an image's x is not its atom's x plus whole
        cell lengths (a periodic cell vector other than the first with an x part)."""
        full = complete_cell(self.cell)
        if np.any(self.pbc[1:] & (full[1:, 0] != 0.0)) or not len(self.x_sorted):
            return np.arange(len(self.wrapped))
        x = self.x_sorted
        length = full[0, 0] if self.pbc[0] else 0.0
        span = max(abs(low), abs(high), abs(x[0]), abs(x[-1]))
        most = math.ceil(2.0 * span / abs(length)) + 1 if length else 0
        tolerance = 1e-6 * max(1.0, span)
        spans = sorted((np.searchsorted(x, low - k * length - tolerance, side="left"),
                        np.searchsorted(x, high - k * length + tolerance, side="right"))
                       for k in range(-most, most + 1))
        merged = []  # disjoint ranges of the x order: no atom twice
        for start, stop in spans:
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], stop)
            elif start < stop:
                merged.append([start, stop])
        return np.sort(np.concatenate([self.by_x[a:b] for a, b in merged] +
                                      [np.empty(0, dtype=np.int64)]))


def spm_on(client, atoms, settings, *, progress=False):
    """:func:`ase_arise.spm` of one sample in spatial domains on ``client``'s workers.

    Returns (the scanned sample, the :class:`SPMResult`); InputError for a scan that is not
    a tensor grid (a tilted cell, ``per_atom``)."""
    check_client(client)
    if settings.per_atom:
        raise InputError("client= splits one sample into domains of its scan grid; per_atom "
                         "boxes have no grid. Run without client=, or scan a grid.")
    if settings.device != "cpu":
        raise InputError("client= splits one sample into domains on CPU workers; for a GPU, "
                         "run without client= (device=\"cuda\" takes the whole sample).")
    fields = task_fields(settings.replace(random_state=scan_seed(settings.random_state)))
    slots = max(1, sum(client.nthreads().values()))
    clock = _Clock()
    sample, shared, nearest, parts = _phase_nearest(client, atoms, slots)
    clock("nearest distances")
    # the boxes of the sample as given run on the workers while the client checks it
    try:
        job = _submit(client, atoms, settings, fields, slots, sample, shared, nearest, parts)
    except InputError as error:  # raised below, unless the check opens a vacuum axis
        job = error
    scanned = scan_sample(atoms, settings, nearest=nearest[0], by_species=nearest[1])
    if scanned is not atoms:  # periodic axes across a vacuum are open: begin again
        if not isinstance(job, InputError):
            client.cancel(job.futures)
        sample, shared, nearest, parts = _phase_nearest(client, scanned, slots)
        job = _submit(client, scanned, settings, fields, slots, sample, shared, nearest, parts)
    elif isinstance(job, InputError):
        raise job
    clock("sample scanned")
    centres, groups, chunk = job.centres, job.groups, job.chunk
    n_atoms = np.zeros(len(centres), dtype=np.int64)
    valid = np.zeros(len(centres), dtype=bool)
    outputs = empty_outputs(len(centres), len(settings.network.class_names))
    with tqdm(total=len(centres), desc=f"ARISE SPM ({job.mode}) on the cluster", unit="box",
              disable=not progress) as bar:
        for boxes, future in zip(groups, job.boxes):
            n_atoms[boxes], found = future.result()
            for first, part in zip(range(0, len(boxes), chunk), found):
                store_outputs(outputs, valid, boxes[first:first + chunk], part)
            bar.update(len(boxes))
    clock(f"{len(groups)} slices described and classified")
    warn_empty(valid, settings.min_atoms)
    return scanned, spm_result(centres, job.shape, outputs, n_atoms, settings, job.mode)


@dataclass(frozen=True, eq=False)
class _Job:
    """A submitted scan: the box centres (Å) and grid shape, the x-slices' box indices
    (``groups``) with a future of each one's (counts, outputs per chunk) (``boxes``), and
    every future it holds (``futures``, to cancel)."""
    mode: str
    centres: np.ndarray
    shape: tuple
    groups: list
    chunk: int
    boxes: list
    futures: list


def _submit(client, atoms, settings, fields, slots, sample, shared, nearest, parts):
    """Phases 2-4 of ``atoms`` (the scattered ``sample``) submitted: a :class:`_Job`.
    InputError for a scan that is not a tensor grid or beyond the work limit."""
    units = _phase_units(client, sample, shared, nearest, parts, settings.mode)
    centres, shape = box_centres(atoms, settings)
    grid = tensor_grid(centres)
    if grid is None:
        raise InputError("client= splits one sample into domains of its scan grid, which needs "
                         "an orthorhombic cell (this one is tilted). Run without client=.")
    ticks, where = grid
    check_box_work(sample.wrapped, sample.cell, sample.pbc, len(centres), settings.box)
    mode = "fast" if units is not None else "exact"
    calculator = settings.network.descriptor()
    _, chunk = partition(shape, len(distinct(sample.numbers)), calculator.basis)
    order = np.argsort(centres[:, 0], kind="stable")
    # x-slices of whole chunks, at least three per worker thread where there are as many
    # chunks: with the slices' chunks they keep every worker busy to the end
    per_slice = chunk * max(1, len(centres) // chunk // (3 * slots))
    groups = [order[s:s + per_slice] for s in range(0, len(centres), per_slice)]
    bounds = [(int(where[0][g].min()), int(where[0][g].max()) + 1) for g in groups]
    if mode == "exact":
        futures = [client.submit(_exact_task, shared, fields, centres[g], chunk, pure=False)
                   for g in groups]
        return _Job(mode, centres, shape, groups, chunk, futures, futures)
    starts = [lo for lo, _ in bounds] + [len(ticks[0])]
    slices = [client.submit(_planes_task, shared, fields, units, ticks, starts[k],
                            starts[k + 1], pure=False)
              if starts[k] < starts[k + 1] else None for k in range(len(groups))]
    width = math.ceil(settings.box / settings.stride) + 2  # boxes an x-pair spans, at most
    futures = [client.submit(_chunks_task, fields, ticks, tuple(w[g] for w in where), chunk,
                             *[slices[j] for j in range(len(groups)) if slices[j] is not None
                               and starts[j + 1] > bounds[k][0] - width
                               and starts[j] < bounds[k][1]], pure=False)
               for k, g in enumerate(groups)]
    return _Job(mode, centres, shape, groups, chunk, futures,
                futures + [f for f in slices if f is not None] + [units])


def label_box_index(client, sample, result):
    """Phase 5: each atom's box (:func:`ase_arise.labels.nearest_boxes`) on the workers."""
    from ..labels import BoxChoice

    positions, _, cell, pbc = check_atoms(sample)
    wrapped = wrap_positions(positions, cell, pbc)
    choice = client.scatter(BoxChoice(result, cell, pbc), broadcast=True, hash=False)
    slots = max(1, sum(client.nthreads().values()))
    clock = _Clock()
    out = np.concatenate(client.gather([
        client.submit(_choice_task, choice, wrapped[start:stop], pure=False)
        for start, stop in _ranges(len(wrapped), slots)]))
    clock("atoms' boxes chosen")
    return out


class _Clock:
    """Logs the wall time since the last call, with what was done."""

    def __init__(self):
        self.last = time.perf_counter()

    def __call__(self, done):
        now = time.perf_counter()
        log.info("%s: %.2f s", done, now - self.last)
        self.last = now


def _ranges(n, parts):
    edges = np.linspace(0, n, max(1, min(parts, n)) + 1).astype(int)
    return list(zip(edges[:-1].tolist(), edges[1:].tolist()))


def _phase_nearest(client, atoms, slots):
    """Phase 1: the scattered sample, every atom's nearest distances (to any atom, to each
    species) and the x-ranges of atoms they were found in."""
    positions, numbers_, cell, pbc = check_atoms(atoms)
    check_species(numbers_)
    sample = _Sample.of(positions, numbers_, cell, pbc)
    shared = client.scatter(sample, broadcast=True, hash=False)
    parts = [sample.by_x[start:stop] for start, stop in _ranges(len(numbers_), slots)]
    found = client.gather([client.submit(_nearest_task, shared, part, pure=False)
                           for part in parts])
    nearest = np.empty(len(numbers_))
    by_species = np.empty((len(numbers_), len(distinct(numbers_))))
    for part, (any_species, each) in zip(parts, found):
        nearest[part], by_species[part] = any_species, each
    return sample, shared, (nearest, by_species), parts


def _phase_units(client, sample, shared, nearest, parts, mode):
    """Phase 2, submitted: a future of every atom's local d_NN (Å), assembled on a worker
    from the x-ranges of atoms ``parts``; None where the scan is in exact mode."""
    if mode == "exact" or (mode == "auto" and not sample.pbc.all()):
        return None
    reach = unit_reach(nearest[1], sample.numbers)
    by_species = client.scatter(nearest[1], broadcast=True, hash=False)
    pieces = [client.submit(_units_task, shared, by_species, reach, part, pure=False)
              for part in parts]
    return client.submit(_joined_units, len(sample.numbers), *pieces, pure=False)


def _nearest_task(sample, centres):
    worker_threads()
    return sample_nearest(sample.wrapped, sample.numbers, sample.cell, sample.pbc, centres,
                          window=sample.near_x)


def _units_task(sample, by_species, reach, centres):
    worker_threads()
    return centres, units_of(sample.wrapped, sample.numbers, sample.cell, sample.pbc,
                             by_species, reach, centres, window=sample.near_x)


def _joined_units(n_atoms, *pieces):
    units = np.empty((n_atoms, pieces[0][1].shape[1]))
    for centres, part in pieces:
        units[centres] = part
    return units


def _settings(fields):
    from ..settings import Settings

    worker_threads()
    return Settings(**fields)


def _planes_task(sample, fields, units, ticks, first, stop):
    """Phase 3: (pairs, planes) of the points whose x-pair starts at an x box index in
    [first, stop)."""
    settings = _settings(fields)
    calculator = settings.network.descriptor(device=settings.device)
    half = settings.box / 2
    points, index = sample.images(half * math.sqrt(3), ticks[0][first] - half - 1.0,
                                  ticks[0][stop - 1] + half + 1.0)
    ranges = np.empty((len(points), 6), dtype=np.int64)
    _kernels.box_blocks(*ticks, half, points, ranges)
    mine = (ranges[:, 0] >= first) & (ranges[:, 0] < stop)
    needed, rows = dense_unique(index[mine], len(sample.numbers))
    x = sample.wrapped[needed, 0]
    describer = FastBoxes(calculator, sample.wrapped, sample.numbers, sample.cell,
                          sample.pbc, units=units, near=sample.near_x,
                          window=(x.min(), x.max()) if len(x) else (0.0, 0.0))
    _, slot, coefficients, n_neighbors = describer.coefficients(needed)
    return grid_planes(ticks, half, points[mine], sample.numbers[index[mine]], slot[rows],
                       coefficients.reshape(len(needed), -1), n_neighbors.astype(np.float64),
                       describer.species, (0, len(ticks[0])), (0, len(ticks[1])))


def _chunks_task(fields, ticks, where, chunk, *slices):
    """Phase 4 (fast mode): atom counts of the boxes at grid indices ``where`` and the
    network's outputs of each chunk of them, from the planes of the slices they meet."""
    settings = _settings(fields)
    lo, hi = int(where[0].min()), int(where[0].max()) + 1
    sums = add_planes(slices, lo, hi - lo)
    calculator = settings.network.descriptor()
    n_values = sums.shape[-1] - sums.shape[0] - 1
    sums, neighbor_sums, counts = split_sums(sums[(slice(None), where[0] - lo) + where[1:]],
                                             n_values)
    return counts, _classify(settings, box_spectra(calculator.basis, sums, neighbor_sums),
                             counts, chunk)


def _exact_task(sample, fields, centres, chunk):
    """Phase 4 (exact mode): the boxes at ``centres`` (Å) cut out, described, classified."""
    settings = _settings(fields)
    half = settings.box / 2
    points, index = periodic_images(sample.wrapped, sample.cell, sample.pbc,
                                    half * math.sqrt(3), (centres.min(axis=0) - half,
                                                          centres.max(axis=0) + half))
    calculator = settings.network.descriptor(device=settings.device)
    steps = ExactBoxes(calculator, sample.numbers, settings.min_atoms).describe(
        centres, half, points, index)
    while True:  # describe yields the boxes done (no stage texts: not run_steps' kind)
        try:
            next(steps)
        except StopIteration as stop:
            descriptors, counts = stop.value
            break
    return counts, _classify(settings, descriptors, counts, chunk)


def _classify(settings, descriptors, counts, chunk):
    return [classify_boxes(settings.network, descriptors[s:s + chunk], counts[s:s + chunk],
                           settings, settings.random_state)
            for s in range(0, len(descriptors), chunk)]


def _choice_task(choice, wrapped):
    worker_threads()
    return choice(wrapped)

