"""Descriptor sets from the prototype library: the paper's pristine training set and defect sets.

Pristine set (paper, Methods "Dataset creation"): for each of the 96 bulk and 2D prototypes the
periodic cell and the three non-periodic isotropic supercells (the smallest with >= 100 atoms and
the next two; 2D in-plane only), for each of the 12 nanotubes the finite tube; each at r_cut in
{3.0, 3.2, ..., 5.0} d_NN, sigma in {0.08, 0.10, 0.12} d_NN and extrinsic scaling {0.95, 1.0,
1.05}: 99 settings x 396 structures = 39,204 descriptors, as in the paper.

Defect sets (Table 2, Supplementary Tables 1-3): each prototype's three supercells, periodic and
non-periodic (nanotubes: the finite tube), with uniform displacements and/or missing atoms, at the
central setting (r_cut 4, sigma 0.1, scaling 1.0). Every realisation has its own seed, derived
from (seed, class id, structure, level, realisation) with numpy's SeedSequence, so a set is the
same whatever the order or the number of processes that build it. The reported protocol uses
seed 0; training and model selection use seeds from 1000 on (disjoint streams).

Strained set: random diagonal strains of up to 4 % of the pristine-set structures (seed 3000).

The same recipes serve other structures (:func:`class_structures`, e.g. a user's prototypes for
:mod:`ase_arise.training.finetune`). Sets are cached as .npz files named by a hash of everything
that defines them.
"""

import hashlib
import json
import os
from dataclasses import dataclass
from importlib import resources
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..defects import defective_copy, strain_atoms
from ..descriptor import ARISEDescriptor
from ..prototypes import isotropic_supercells, load_prototypes

R_CUTS = tuple(round(3.0 + 0.2 * k, 1) for k in range(11))
SIGMAS = (0.08, 0.10, 0.12)
SCALINGS = (0.95, 1.0, 1.05)
CENTRAL = (4.0, 0.1, 1.0)
PROTOCOL_SEED = 0

# (displacement delta, missing eta) of Table 2 and Supplementary Tables 1-3, fractions
DISPLACEMENTS = (0.001, 0.006, 0.01, 0.02, 0.04, 0.07, 0.10)
MISSING = (0.01, 0.05, 0.10, 0.20, 0.25, 0.30)
COMBINED = ((0.001, 0.01), (0.006, 0.05), (0.01, 0.10), (0.02, 0.15), (0.04, 0.20),
            (0.07, 0.25), (0.10, 0.30))
PROTOCOL_LEVELS = (((0.0, 0.0),) + tuple((d, 0.0) for d in DISPLACEMENTS)
                   + tuple((0.0, m) for m in MISSING) + COMBINED)
# (displacement, missing) of the defective training copies of the shipped model's recipe
AUGMENT_LEVELS = (tuple((d, 0.0) for d in (0.005, 0.01, 0.02, 0.03, 0.04, 0.06, 0.08, 0.10, 0.12))
                  + tuple((0.0, m) for m in (0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35))
                  + ((0.01, 0.10), (0.02, 0.15), (0.04, 0.20), (0.07, 0.25), (0.10, 0.30),
                     (0.12, 0.35)))


@dataclass(frozen=True)
class DescriptorSet:
    """Descriptors with their labels and provenance.

    Attributes
    ----------
    X : ndarray of shape (n, 316), float32
    y : ndarray of shape (n,), int64
        Class ids (output-neuron order of :mod:`ase_arise.prototypes`).
    info : dict of str -> ndarray of shape (n,)
        ``structure`` (index into the structure list), ``periodic`` (bool), ``r_cut``,
        ``sigma``, ``scaling``, ``displacement``, ``missing``, ``realisation``.
    key : str
        Hash of the recipe (also the cache file name).
    """

    X: np.ndarray
    y: np.ndarray
    info: dict
    key: str

    def __len__(self):
        return len(self.y)

    def sha256(self):
        """Hash of the float32 descriptors and labels (recorded in model files)."""
        digest = hashlib.sha256(np.ascontiguousarray(self.X, dtype=np.float32).tobytes())
        digest.update(np.ascontiguousarray(self.y, dtype=np.int64).tobytes())
        return digest.hexdigest()


def class_structures(class_id, atoms, *, periodic_supercells=False):
    """The set structures made from one structure of a class, as (class_id, periodic, Atoms).

    A structure periodic along some axis gives its cell (``periodic_supercells=False``, the
    pristine set) or its three periodic isotropic supercells (True, the defect sets), followed
    by the three non-periodic supercells (:func:`ase_arise.prototypes.isotropic_supercells`);
    a non-periodic one (a cluster, a nanotube) is used as it is. ``atoms`` is not copied.
    """
    if not atoms.pbc.any():
        return [(class_id, False, atoms)]
    if periodic_supercells:
        out = [(class_id, True, s) for s in isotropic_supercells(atoms, periodic=True)]
    else:
        out = [(class_id, True, atoms)]
    return out + [(class_id, False, s) for s in isotropic_supercells(atoms)]


def base_structures(*, periodic_supercells=False, classes=None):
    """The structures every set is made of, as (class_id, periodic, Atoms) tuples.

    ``periodic_supercells=False``: the pristine-set structures (periodic cell + 3 clusters per
    prototype, the tube for nanotubes: 396). True: the defect-set structures (3 periodic and 3
    non-periodic supercells per prototype, the tube for nanotubes: 588). ``classes``: only the
    prototypes with these class ids (default: all 108).
    """
    out = []
    for prototype in load_prototypes():
        if classes is not None and prototype.class_id not in classes:
            continue
        atoms = prototype.atoms() if prototype.is_periodic else prototype.supercells()[0]
        out += class_structures(prototype.class_id, atoms,
                                periodic_supercells=periodic_supercells)
    return out


def structures_sha256(structures):
    """Hash of (class_id, periodic, Atoms) tuples: classes, numbers, positions, cell, pbc."""
    digest = hashlib.sha256()
    for class_id, periodic, atoms in structures:
        digest.update(np.array([class_id, periodic, len(atoms)], dtype=np.int64).tobytes())
        for array, dtype in ((atoms.numbers, np.int64), (atoms.positions, np.float64),
                             (atoms.cell[:], np.float64), (atoms.pbc, bool)):
            digest.update(np.ascontiguousarray(array, dtype=dtype).tobytes())
    return digest.hexdigest()


def _prototypes_sha256():
    return hashlib.sha256(
        resources.files("ase_arise").joinpath("data/prototypes.json").read_bytes()).hexdigest()


def _recipe_key(recipe):
    text = json.dumps({**recipe, "prototypes": _prototypes_sha256()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _worker_init(structures):
    """Start a worker process: one numba thread (the pool is the parallelism), the structures."""
    import numba
    numba.set_num_threads(1)
    _STRUCTURES[:] = structures


# The structures of the set being built, in the process that describes them.
_STRUCTURES = []


def _describe_task(task):
    """One base structure: all its (setting, strain, defect level, realisation) descriptors."""
    index, jobs = task
    class_id, _, atoms = _STRUCTURES[index]
    rows = []
    calculators = {}
    for r_cut, sigma, scaling, displacement, missing, strain, seed in jobs:
        structure = atoms
        rng = np.random.default_rng(seed)
        if strain:
            tube = not load_prototypes()[class_id].is_periodic
            structure = strain_atoms(structure, strain, random_state=rng,
                                     axes=(2,) if tube else (0, 1, 2))
        if displacement or missing:
            structure = defective_copy(structure, displacement=displacement, missing=missing,
                                       random_state=rng)
        key = (r_cut, sigma, scaling)
        if key not in calculators:
            calculators[key] = ARISEDescriptor(r_cut=r_cut, sigma=sigma, extrinsic_scaling=scaling)
        rows.append(calculators[key].create(structure).astype(np.float32))
    return np.array(rows)


def _describe_all(structures, tasks, n_jobs):
    """Yield the descriptor block of each task, in order, from ``n_jobs`` processes."""
    if n_jobs == 1:
        _STRUCTURES[:] = structures
        yield from map(_describe_task, tasks)
        return
    # "spawn", not "fork": forking a process whose numba/onnxruntime thread pools have run
    # deadlocks the children
    with get_context("spawn").Pool(n_jobs, _worker_init, (structures,)) as pool:
        yield from pool.imap(_describe_task, tasks)


def _build(recipe, structures, jobs, cache_dir, n_jobs, progress, name):
    """Describe ``jobs[s]`` = [(r_cut, sigma, scaling, displacement, missing, strain, seed,
    realisation), ...] of every structure ``s``, or load them from the cache (None: none)."""
    key = _recipe_key(recipe)
    path = None if cache_dir is None else Path(cache_dir) / f"{name.replace(' ', '_')}-{key}.npz"
    if path is not None and path.exists():
        X = np.load(path)["X"]
    else:
        order = sorted(range(len(structures)), key=lambda s: -len(structures[s][2]))
        tasks = [(s, [j[:7] for j in jobs[s]]) for s in order]
        blocks = [None] * len(structures)
        results = _describe_all(structures, tasks, n_jobs or os.cpu_count())
        for s, block in zip(order, tqdm(results, total=len(order), disable=not progress,
                                        desc=name, unit="structure")):
            blocks[s] = block
        X = np.concatenate(blocks)
    if path is not None and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.stem + ".partial.npz")
        np.savez_compressed(tmp, X=X)
        os.replace(tmp, path)
    rows = [(s, *job) for s in range(len(structures)) for job in jobs[s]]
    columns = list(zip(*rows))
    info = {"structure": np.array(columns[0], dtype=np.int64)}
    for k, name_ in enumerate(("r_cut", "sigma", "scaling", "displacement", "missing", "strain"),
                              1):
        info[name_] = np.array(columns[k], dtype=float)
    info["realisation"] = np.array(columns[8], dtype=np.int64)
    info["periodic"] = np.array([structures[s][1] for s in info["structure"]], dtype=bool)
    y = np.array([structures[s][0] for s in info["structure"]], dtype=np.int64)
    return DescriptorSet(X, y, info, key)


def pristine_set(cache_dir, *, settings=None, structures=None, n_jobs=None, progress=True):
    """The paper's pristine training set (39,204 descriptors), built once and cached.

    Parameters
    ----------
    cache_dir : path-like or None
        Folder of the cache files (created if missing; keep it out of git); None: no cache.
    settings : sequence of (r_cut, sigma, extrinsic_scaling), optional
        Descriptor settings (r_cut and sigma in d_NN); default: the paper's 99.
    structures : list of (class_id, periodic, Atoms), optional
        Default: :func:`base_structures` (the 108 prototypes); others from
        :func:`class_structures`.
    n_jobs : int, optional
        Worker processes (default: all cores).
    progress : bool, default=True
        tqdm progress bar.

    Returns
    -------
    DescriptorSet
        len = len(structures) * len(settings).
    """
    if settings is None:
        settings = [(r, s, k) for r in R_CUTS for s in SIGMAS for k in SCALINGS]
    else:
        settings = [tuple(float(v) for v in setting) for setting in settings]
    recipe = {"kind": "pristine", "settings": settings, "version": 1}
    structures = _structures_of_recipe(recipe, structures, periodic_supercells=False)
    jobs = [[(r, g, k, 0.0, 0.0, 0.0, 0, 0) for r, g, k in settings] for _ in structures]
    return _build(recipe, structures, jobs, cache_dir, n_jobs, progress, "pristine set")


def defect_set(levels, cache_dir, *, realisations=10, seed=PROTOCOL_SEED, structures=None,
               n_jobs=None, progress=True):
    """Defective copies of the 588 protocol structures at the central descriptor setting.

    Parameters
    ----------
    levels : sequence of (displacement, missing)
        Fractions: displacement of d_NN (uniform per component), missing atoms.
    cache_dir : path-like
    realisations : int, default=10
        Random realisations per structure and level.
    seed : int, default=0
        0 for the reported protocol; training and model selection use other seeds (>= 1000).
    structures : list of (class_id, periodic, Atoms), optional
        Default: :func:`base_structures` with ``periodic_supercells=True`` (588).
    n_jobs : int, optional
    progress : bool, default=True

    Returns
    -------
    DescriptorSet
        len = len(structures) * len(levels) * realisations; ``info`` records level and
        realisation.
    """
    levels = [tuple(float(v) for v in level) for level in levels]
    recipe = {"kind": "defects", "levels": levels, "realisations": realisations, "seed": seed,
              "version": 1}
    structures = _structures_of_recipe(recipe, structures, periodic_supercells=True)
    jobs = [[(*CENTRAL, d, m, 0.0, _seed(seed, class_id, s, d, m, r), r)
             for (d, m) in levels for r in range(realisations)]
            for s, (class_id, _, _) in enumerate(structures)]
    return _build(recipe, structures, jobs, cache_dir, n_jobs, progress, "defect set")


def strained_set(cache_dir, *, max_strain=0.04, copies=8, seed=3000, n_jobs=None,
                 progress=True):
    """Randomly strained copies of the 396 pristine-set structures at the central setting.

    Each copy gets a random diagonal strain of up to ``max_strain`` per axis (along the cell
    vectors for periodic structures, Cartesian axes for clusters, the tube axis only for
    nanotubes: their radius is what defines the class).

    Returns
    -------
    DescriptorSet
        len = 396 * copies.
    """
    recipe = {"kind": "strained", "max_strain": max_strain, "copies": copies, "seed": seed,
              "version": 1}
    structures = base_structures(periodic_supercells=False)
    jobs = [[(*CENTRAL, 0.0, 0.0, max_strain, _seed(seed, class_id, s, max_strain, 0.0, r), r)
             for r in range(copies)]
            for s, (class_id, _, _) in enumerate(structures)]
    return _build(recipe, structures, jobs, cache_dir, n_jobs, progress, "strained set")


def _structures_of_recipe(recipe, structures, *, periodic_supercells):
    """The prototypes' structures, or ``structures`` with their hash added to ``recipe``."""
    if structures is None:
        return base_structures(periodic_supercells=periodic_supercells)
    recipe["structures"] = structures_sha256(structures)
    return structures


def protocol_copy(structures, index, level, realisation, *, seed=PROTOCOL_SEED):
    """The defective copy of ``structures[index]`` that :func:`defect_set` describes.

    Parameters
    ----------
    structures : list
        :func:`base_structures` with ``periodic_supercells=True``.
    index : int
    level : (float, float)
        (displacement, missing) fractions.
    realisation : int
    seed : int, default=0

    Returns
    -------
    ase.Atoms
        A new structure (the pristine one copied when the level is (0, 0)).
    """
    class_id, _, atoms = structures[index]
    displacement, missing = level
    rng = np.random.default_rng(_seed(seed, class_id, index, displacement, missing, realisation))
    return defective_copy(atoms, displacement=displacement, missing=missing, random_state=rng)


def _seed(seed, class_id, structure, displacement, missing, realisation):
    """A seed for one realisation, independent of build order."""
    return np.random.SeedSequence(
        [seed, class_id, structure, round(displacement * 1e4), round(missing * 1e4),
         realisation]).generate_state(1)[0]
