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

Sets are cached as .npz files named by a hash of everything that defines them.
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
from ..prototypes import load_prototypes

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


def base_structures(*, periodic_supercells=False):
    """The structures every set is made of, as (class_id, periodic, Atoms) tuples.

    ``periodic_supercells=False``: the pristine-set structures (periodic cell + 3 clusters per
    prototype, the tube for nanotubes: 396). True: the defect-set structures (3 periodic and 3
    non-periodic supercells per prototype, the tube for nanotubes: 588).
    """
    out = []
    for prototype in load_prototypes():
        if not prototype.is_periodic:
            out.append((prototype.class_id, False, prototype.supercells()[0]))
            continue
        if periodic_supercells:
            out += [(prototype.class_id, True, s) for s in prototype.supercells(periodic=True)]
        else:
            out.append((prototype.class_id, True, prototype.atoms()))
        out += [(prototype.class_id, False, s) for s in prototype.supercells()]
    return out


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
    realisation), ...] of every structure ``s``, or load them from the cache."""
    key = _recipe_key(recipe)
    path = Path(cache_dir) / f"{name.replace(' ', '_')}-{key}.npz"
    if path.exists():
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


def pristine_set(cache_dir, *, n_jobs=None, progress=True):
    """The paper's pristine training set (39,204 descriptors), built once and cached.

    Parameters
    ----------
    cache_dir : path-like
        Folder of the cache files (created if missing; keep it out of git).
    n_jobs : int, optional
        Worker processes (default: all cores).
    progress : bool, default=True
        tqdm progress bar.

    Returns
    -------
    DescriptorSet
    """
    settings = [(r, s, k) for r in R_CUTS for s in SIGMAS for k in SCALINGS]
    recipe = {"kind": "pristine", "settings": settings, "version": 1}
    structures = base_structures(periodic_supercells=False)
    jobs = [[(r, g, k, 0.0, 0.0, 0.0, 0, 0) for r, g, k in settings] for _ in structures]
    return _build(recipe, structures, jobs, cache_dir, n_jobs, progress, "pristine set")


def defect_set(levels, cache_dir, *, realisations=10, seed=PROTOCOL_SEED, n_jobs=None,
               progress=True):
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
    n_jobs : int, optional
    progress : bool, default=True

    Returns
    -------
    DescriptorSet
        len = 588 * len(levels) * realisations; ``info`` records level and realisation.
    """
    levels = [tuple(float(v) for v in level) for level in levels]
    recipe = {"kind": "defects", "levels": levels, "realisations": realisations, "seed": seed,
              "version": 1}

    structures = base_structures(periodic_supercells=True)
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
